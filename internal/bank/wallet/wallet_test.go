package wallet

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/banksim"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// env is a real bank simulator in process, on its own SQLite file, and the
// adapters of both providers pointed at it.
type env struct {
	srv  *banksim.Server
	http *httptest.Server
	ch   map[string]*Channel
}

func newEnv(t *testing.T, timeout time.Duration) *env {
	t.Helper()
	l := logrus.New()
	l.SetOutput(io.Discard)
	srv, err := banksim.New(banksim.Config{DBPath: filepath.Join(t.TempDir(), "banksim.db"), Logger: logrus.NewEntry(l)})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	srv.Start(ctx)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		cancel()
		srv.Close()
	})
	e := &env{srv: srv, http: ts, ch: map[string]*Channel{}}
	for _, p := range Providers {
		e.ch[p] = New(p, ts.URL, "", timeout)
	}
	return e
}

var serial atomic.Int64

// code is a fresh 18-digit payment code of provider whose last digit is digit.
func code(provider string, digit int) string {
	prefix := map[string]int{Alipay: 28, Wxpay: 13}[provider]
	return fmt.Sprintf("%02d%015d%d", prefix, serial.Add(1), digit)
}

var refs atomic.Int64

func ref(prefix string) string {
	return fmt.Sprintf("%s%d_%d", prefix, time.Now().UnixNano(), refs.Add(1))
}

func chargeReq(reference, token string) bank.ChargeRequest {
	return bank.ChargeRequest{Reference: reference, Amount: 1250, Currency: "CNY", Token: token}
}

// adminPay does what the checkout's Pay button does (the customer confirms).
func (e *env) adminPay(t *testing.T, provider, tradeNo string) {
	t.Helper()
	resp, err := http.Post(e.http.URL+"/sim/wallet/pay", "application/json",
		strings.NewReader(fmt.Sprintf(`{"provider":%q,"trade_no":%q}`, provider, tradeNo)))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func (e *env) faults(t *testing.T, f banksim.Faults) {
	t.Helper()
	require.NoError(t, e.srv.SetFaults(f))
}

// Each payment-code outcome of the provider becomes the contract's transfer,
// and a query afterwards answers the same.
func TestChargeOutcomes(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	tests := []struct {
		digit   int
		status  models.BankStatus
		failure models.FailureCode
	}{
		{0, models.BankSucceeded, ""},
		{1, models.BankProcessing, ""},
		{2, models.BankProcessing, ""},
		{3, models.BankFailed, models.FailureInsufficientFunds},
		{5, models.BankFailed, models.FailureCodeExpired},
	}
	for _, p := range Providers {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%d", p, tt.digit), func(t *testing.T) {
				r := ref("pay_")
				got, err := e.ch[p].Charge(context.Background(), chargeReq(r, code(p, tt.digit)))
				require.NoError(t, err)
				require.Equal(t, tt.status, got.Status)
				require.Equal(t, tt.failure, got.FailureCode)
				require.Equal(t, r, got.Reference)
				require.Equal(t, p, got.Channel)
				require.Equal(t, bank.KindCharge, got.Kind)
				require.Equal(t, int64(1250), got.Amount)
				require.NotEmpty(t, got.BankID)
				q, err := e.ch[p].Query(context.Background(), r)
				require.NoError(t, err)
				require.Equal(t, got, q)
			})
		}
	}
}

// A code is single use: a second payment with it fails code_used; the same
// request again is the same trade (it never pays twice).
func TestChargeCodeUsedAndIdempotent(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	ch := e.ch[Wxpay]
	c := code(Wxpay, 0)
	r := ref("pay_")
	first, err := ch.Charge(context.Background(), chargeReq(r, c))
	require.NoError(t, err)
	again, err := ch.Charge(context.Background(), chargeReq(r, c))
	require.NoError(t, err)
	require.Equal(t, first, again)
	other, err := ch.Charge(context.Background(), chargeReq(ref("pay_"), c))
	require.NoError(t, err)
	require.Equal(t, models.BankFailed, other.Status)
	require.Equal(t, models.FailureCodeUsed, other.FailureCode)
	t2, err := ch.QueryTrade(context.Background(), r)
	require.NoError(t, err)
	require.Equal(t, int64(1250), t2.PaidAmount)
}

// A USERPAYING code the customer confirms becomes succeeded on query.
func TestChargeConfirmedByCustomer(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	ch := e.ch[Alipay]
	r := ref("pay_")
	got, err := ch.Charge(context.Background(), chargeReq(r, code(Alipay, 2)))
	require.NoError(t, err)
	require.Equal(t, models.BankProcessing, got.Status)
	tr, err := ch.QueryTrade(context.Background(), r)
	require.NoError(t, err)
	require.Equal(t, StatusUserPaying, tr.Status)
	e.adminPay(t, Alipay, got.BankID)
	q, err := ch.Query(context.Background(), r)
	require.NoError(t, err)
	require.Equal(t, models.BankSucceeded, q.Status)
}

// Requests the provider refuses, and answers that leave the outcome open.
func TestChargeErrors(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	ctx := context.Background()

	// Another provider's code, or not a code at all: invalid.
	_, err := e.ch[Alipay].Charge(ctx, chargeReq(ref("pay_"), code(Wxpay, 0)))
	require.ErrorIs(t, err, bank.ErrInvalid)
	_, err = e.ch[Wxpay].Charge(ctx, chargeReq(ref("pay_"), "tok_success"))
	require.ErrorIs(t, err, bank.ErrInvalid)

	// The same reference with another code: a conflict, invalid.
	r := ref("pay_")
	_, err = e.ch[Wxpay].Charge(ctx, chargeReq(r, code(Wxpay, 0)))
	require.NoError(t, err)
	_, err = e.ch[Wxpay].Charge(ctx, chargeReq(r, code(Wxpay, 0)))
	require.ErrorIs(t, err, bank.ErrInvalid)

	// A code ending in 4: charged, then the answer never comes. Unknown outcome;
	// the query says it was paid.
	r = ref("pay_")
	impatient := New(Alipay, e.http.URL, "", time.Second)
	_, err = impatient.Charge(ctx, chargeReq(r, code(Alipay, 4)))
	require.ErrorIs(t, err, bank.ErrUnknownOutcome)
	q, err := e.ch[Alipay].Query(ctx, r)
	require.NoError(t, err)
	require.Equal(t, models.BankSucceeded, q.Status)

	// The provider down: refused before acting, nothing charged.
	e.faults(t, banksim.Faults{Down: true})
	r = ref("pay_")
	_, err = e.ch[Alipay].Charge(ctx, chargeReq(r, code(Alipay, 0)))
	require.ErrorIs(t, err, bank.ErrUnavailable)
	_, err = e.ch[Alipay].Query(ctx, r)
	require.ErrorIs(t, err, bank.ErrUnavailable)
	e.faults(t, banksim.Faults{})
	_, err = e.ch[Alipay].Query(ctx, r)
	require.ErrorIs(t, err, bank.ErrNotFound)

	// Nobody listening: nothing reached a provider.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	gone := New(Alipay, "http://"+addr, "", time.Second)
	_, err = gone.Charge(ctx, chargeReq(ref("pay_"), code(Alipay, 0)))
	require.ErrorIs(t, err, bank.ErrUnavailable)
	_, err = gone.Balances(ctx, time.Now())
	require.ErrorIs(t, err, bank.ErrUnavailable)
	_, err = gone.Statement(ctx, time.Now())
	require.ErrorIs(t, err, bank.ErrUnavailable)
}

// Cancel answers canceled for an unpaid, a paid (reversed) and an unknown
// trade; the unknown one is refused afterwards; a refused code stays failed.
func TestCancel(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	ctx := context.Background()
	ch := e.ch[Wxpay]

	waiting := ref("pay_")
	_, err := ch.Charge(ctx, chargeReq(waiting, code(Wxpay, 2)))
	require.NoError(t, err)
	got, err := ch.Cancel(ctx, waiting)
	require.NoError(t, err)
	require.Equal(t, models.BankCanceled, got.Status)
	tr, err := ch.QueryTrade(ctx, waiting)
	require.NoError(t, err)
	require.Equal(t, StatusRevoked, tr.Status)
	require.Zero(t, tr.ReversedAmount)

	paid := ref("pay_")
	_, err = ch.Charge(ctx, chargeReq(paid, code(Wxpay, 0)))
	require.NoError(t, err)
	got, err = ch.Cancel(ctx, paid)
	require.NoError(t, err)
	require.Equal(t, models.BankCanceled, got.Status, "a wallet cancel reverses a paid trade")
	tr, err = ch.QueryTrade(ctx, paid)
	require.NoError(t, err)
	require.Equal(t, int64(1250), tr.ReversedAmount)
	q, err := ch.Query(ctx, paid)
	require.NoError(t, err)
	require.Equal(t, models.BankCanceled, q.Status)

	unknown := ref("pay_")
	got, err = ch.Cancel(ctx, unknown)
	require.NoError(t, err)
	require.Equal(t, models.BankCanceled, got.Status)
	got, err = ch.Charge(ctx, chargeReq(unknown, code(Wxpay, 0)))
	require.NoError(t, err)
	require.Equal(t, models.BankCanceled, got.Status, "a cancelled reference never pays")

	refused := ref("pay_")
	_, err = ch.Charge(ctx, chargeReq(refused, code(Wxpay, 3)))
	require.NoError(t, err)
	got, err = ch.Cancel(ctx, refused)
	require.NoError(t, err)
	require.Equal(t, models.BankFailed, got.Status)

	e.faults(t, banksim.Faults{RefuseCancel: true})
	open := ref("pay_")
	_, err = ch.Charge(ctx, chargeReq(open, code(Wxpay, 2)))
	require.NoError(t, err)
	_, err = ch.Cancel(ctx, open)
	require.ErrorIs(t, err, bank.ErrNotCancelable)
	q, err = ch.Query(ctx, open)
	require.NoError(t, err)
	require.Equal(t, models.BankProcessing, q.Status)
}

// A QR trade: created with its checkout URL, closed unpaid (canceled), or
// answered paid when the customer paid before the close.
func TestCreateAndCloseTrade(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	ctx := context.Background()
	ch := e.ch[Alipay]
	tradeReq := func(ref string, amount int64) bank.TradeRequest {
		return bank.TradeRequest{Reference: ref, MerchantID: "mch_1", Amount: amount, Currency: "CNY"}
	}

	r := ref("pay_")
	u, err := ch.CreateTrade(ctx, tradeReq(r, 800))
	require.NoError(t, err)
	tr, err := ch.QueryTrade(ctx, r)
	require.NoError(t, err)
	require.Equal(t, models.BankProcessing, tr.Transfer.Status)
	require.Equal(t, StatusWaitBuyerPay, tr.Status)
	require.Equal(t, e.http.URL+"/alipaysim/checkout/"+tr.Transfer.BankID, u)
	again, err := ch.CreateTrade(ctx, tradeReq(r, 800))
	require.NoError(t, err)
	require.Equal(t, u, again, "the same trade again")
	_, err = ch.CreateTrade(ctx, tradeReq(r, 900))
	require.ErrorIs(t, err, bank.ErrInvalid)
	closed, err := ch.CloseTrade(ctx, r)
	require.NoError(t, err)
	require.Equal(t, models.BankCanceled, closed.Status)
	require.Equal(t, r, closed.Reference)
	tr, err = ch.QueryTrade(ctx, r)
	require.NoError(t, err)
	require.Equal(t, StatusClosed, tr.Status)

	paid := ref("pay_")
	_, err = ch.CreateTrade(ctx, tradeReq(paid, 800))
	require.NoError(t, err)
	tr, err = ch.QueryTrade(ctx, paid)
	require.NoError(t, err)
	e.adminPay(t, Alipay, tr.Transfer.BankID)
	closed, err = ch.CloseTrade(ctx, paid)
	require.NoError(t, err)
	require.Equal(t, models.BankSucceeded, closed.Status, "already paid: the trade stays paid")
	require.Equal(t, int64(800), closed.Amount)
	tr, err = ch.QueryTrade(ctx, paid)
	require.NoError(t, err)
	require.Equal(t, StatusSuccess, tr.Status)

	_, err = ch.CloseTrade(ctx, ref("pay_"))
	require.ErrorIs(t, err, bank.ErrNotFound)

	cancelled := ref("pay_")
	_, err = ch.Cancel(ctx, cancelled)
	require.NoError(t, err)
	_, err = ch.CreateTrade(ctx, tradeReq(cancelled, 800))
	require.ErrorIs(t, err, bank.ErrInvalid, "a cancelled reference never pays")

	// A reference used for a payment code is not a QR trade.
	coded := ref("pay_")
	_, err = ch.Charge(ctx, chargeReq(coded, code(Alipay, 2)))
	require.NoError(t, err)
	_, err = ch.CreateTrade(ctx, tradeReq(coded, 1250))
	require.ErrorIs(t, err, bank.ErrInvalid)
}

// Refunds: succeeded, failed with the provider's code, idempotent, queried
// by their reference; a refund of an unknown trade is invalid.
func TestRefund(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	ctx := context.Background()
	ch := e.ch[Wxpay]
	pay := ref("pay_")
	_, err := ch.Charge(ctx, chargeReq(pay, code(Wxpay, 0)))
	require.NoError(t, err)

	re := ref("re_")
	req := bank.RefundRequest{Reference: re, ChargeReference: pay, Amount: 1000, Currency: "CNY"}
	got, err := ch.Refund(ctx, req)
	require.NoError(t, err)
	require.Equal(t, models.BankSucceeded, got.Status)
	require.Equal(t, bank.KindRefund, got.Kind)
	require.Equal(t, re, got.Reference)
	again, err := ch.Refund(ctx, req)
	require.NoError(t, err)
	require.Equal(t, got, again)
	q, err := ch.Query(ctx, re)
	require.NoError(t, err)
	require.Equal(t, got, q)
	tq, err := ch.Query(ctx, pay)
	require.NoError(t, err)
	require.Equal(t, models.BankSucceeded, tq.Status, "a partly refunded trade is still paid")

	over := ref("re_")
	got, err = ch.Refund(ctx, bank.RefundRequest{Reference: over, ChargeReference: pay, Amount: 500, Currency: "CNY"})
	require.NoError(t, err)
	require.Equal(t, models.BankFailed, got.Status)
	require.Equal(t, models.FailureCode("refund_exceeds_charge"), got.FailureCode)

	_, err = ch.Refund(ctx, bank.RefundRequest{Reference: ref("re_"), ChargeReference: ref("pay_"), Amount: 1, Currency: "CNY"})
	require.ErrorIs(t, err, bank.ErrInvalid)
	_, err = ch.Query(ctx, ref("re_"))
	require.ErrorIs(t, err, bank.ErrNotFound)

	_, err = ch.Payout(ctx, bank.PayoutRequest{Reference: ref("wd_"), Amount: 1, Currency: "CNY", BankAccount: "x"})
	require.ErrorIs(t, err, bank.ErrInvalid)
}

// Each provider's statement and balances are its own.
func TestStatementAndBalances(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	ctx := context.Background()
	pay := ref("pay_")
	_, err := e.ch[Alipay].Charge(ctx, chargeReq(pay, code(Alipay, 0)))
	require.NoError(t, err)
	_, err = e.ch[Alipay].Cancel(ctx, pay)
	require.NoError(t, err)
	wpay := ref("pay_")
	_, err = e.ch[Wxpay].Charge(ctx, chargeReq(wpay, code(Wxpay, 0)))
	require.NoError(t, err)
	now := time.Now().UTC()

	read := func(p string) map[string][]string {
		rc, err := e.ch[p].Statement(ctx, now)
		require.NoError(t, err)
		defer rc.Close()
		rows, err := csv.NewReader(rc).ReadAll()
		require.NoError(t, err)
		require.Equal(t, []string{"reference", "kind", "amount", "currency", "status", "time"}, rows[0])
		out := map[string][]string{}
		for _, r := range rows[1:] {
			out[r[0]] = r[1:5]
		}
		return out
	}
	require.Equal(t, map[string][]string{
		pay:          {"charge", "1250", "CNY", "succeeded"},
		"rev_" + pay: {"refund", "1250", "CNY", "succeeded"},
	}, read(Alipay))
	require.Equal(t, map[string][]string{wpay: {"charge", "1250", "CNY", "succeeded"}}, read(Wxpay))

	b, err := e.ch[Alipay].Balances(ctx, now)
	require.NoError(t, err)
	require.Equal(t, []bank.DayBalance{{Currency: "CNY", Opening: 0, Closing: 0}}, b)
	b, err = e.ch[Wxpay].Balances(ctx, now)
	require.NoError(t, err)
	require.Equal(t, []bank.DayBalance{{Currency: "CNY", Opening: 0, Closing: 1250}}, b)
}
