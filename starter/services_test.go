package starter_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/merchants"
	"github.com/payflow/payflow/internal/secretbox"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
	"github.com/payflow/payflow/workflows"
)

// flows records the flows the services start instead of running them; fail makes a
// start fail, closes makes AwaitFlow answer "closed" after running it.
type flows struct {
	mu        sync.Mutex
	payments  []models.PaymentInput
	refunds   []models.RefundInput
	topups    []models.TopupInput
	withdraws []models.WithdrawalInput
	confirms  []models.ConfirmPayment
	fail      error
	closes    func(workflowID string) error
}

func (f *flows) StartPayment(_ context.Context, in models.PaymentInput) error {
	return record(f, &f.payments, in)
}

func (f *flows) OpenQR(_ context.Context, _ string, o models.OpenQR) (models.OpenedQR, error) {
	if o.Provider == "wxpaysim" {
		return models.OpenedQR{}, fmt.Errorf("%w: %s", starter.ErrUpdateRejected, "this code is in use by another app")
	}
	return models.OpenedQR{CheckoutURL: "http://sim/" + o.Provider + "/checkout/1"}, nil
}

func (f *flows) ConfirmPayment(_ context.Context, _ string, c models.ConfirmPayment) error {
	return record(f, &f.confirms, c)
}

func (f *flows) StartRefund(_ context.Context, in models.RefundInput) error {
	return record(f, &f.refunds, in)
}

func (f *flows) StartTopup(_ context.Context, in models.TopupInput) error {
	return record(f, &f.topups, in)
}

func (f *flows) StartWithdrawal(_ context.Context, in models.WithdrawalInput) error {
	return record(f, &f.withdraws, in)
}

// record appends a started flow's input to its list, unless f.fail makes the start fail.
func record[T any](f *flows, list *[]T, in T) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	*list = append(*list, in)
	return nil
}

func (f *flows) AwaitFlow(ctx context.Context, workflowID string) (bool, error) {
	if f.closes != nil {
		return true, f.closes(workflowID)
	}
	<-ctx.Done()
	return false, nil
}

type env struct {
	db     *store.DB
	store  *store.Store
	ledger *ledger.Ledger
	deps   starter.Deps
	flows  *flows
}

// newEnv opens a fresh SQLite database with the demo merchant (mch_demo) and a
// disabled one (mch_off).
func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvOn(t, testenv.SQLite)
}

// newEnvOn is newEnv on the backend b.
func newEnvOn(t *testing.T, b testenv.Backend) *env {
	t.Helper()
	db := testenv.Open(t, b)
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	st := store.New(db, box)
	l := ledger.New(db)
	svc := &merchants.Service{Store: st, Ledger: l}
	ctx := context.Background()
	_, err = svc.SeedDemo(ctx, merchants.Demo{ID: "mch_demo", Secret: "s"})
	require.NoError(t, err)
	require.NoError(t, svc.Create(ctx, models.Merchant{ID: "mch_off", Name: "Off", DefaultCurrency: "CNY"}, "s2", ""))
	require.NoError(t, st.SetMerchantStatus(ctx, "mch_off", models.MerchantDisabled))
	return &env{db: db, store: st, ledger: l, deps: starter.Deps{Store: st, Ledger: l}, flows: &flows{}}
}

func card(merchantID, key string) starter.NewPayment {
	return starter.NewPayment{
		Idempotent: starter.Idempotent{MerchantID: merchantID, Key: key, Fingerprint: "fp-" + key},
		Amount:     1050, Currency: "CNY", Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"}, Channel: "banksim",
	}
}

// A payment is stored processing under its key with its workflow id, its flow started
// with the input built from it; the same request again answers the same payment and
// makes sure the same flow runs; the key with another request is refused.
func TestPaymentsCreateIsIdempotent(t *testing.T) {
	e := newEnv(t)
	svc := &starter.Payments{Deps: e.deps, Flows: e.flows}
	ctx := context.Background()

	out, err := svc.Create(ctx, card("mch_demo", "k1"))
	require.NoError(t, err)
	require.False(t, out.Replayed)
	require.False(t, out.Final)
	p := out.Object
	require.Equal(t, models.PaymentProcessing, p.Status)
	require.Equal(t, workflows.PaymentWorkflowID("mch_demo", p.ID), p.WorkflowID)
	stored, err := svc.Get(ctx, "mch_demo", p.ID)
	require.NoError(t, err)
	require.Equal(t, p.ID, stored.ID)
	require.Equal(t, []models.PaymentInput{p.FlowInput()}, e.flows.payments)

	again, err := svc.Create(ctx, card("mch_demo", "k1"))
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, p.ID, again.Object.ID)
	require.Len(t, e.flows.payments, 2)
	require.Equal(t, e.flows.payments[0], e.flows.payments[1])

	other := card("mch_demo", "k1")
	other.Fingerprint = "another request"
	_, err = svc.Create(ctx, other)
	require.ErrorIs(t, err, starter.ErrIdempotencyKeyReused)

	list, more, err := svc.List(ctx, starter.ListQuery{MerchantID: "mch_demo", Limit: 10})
	require.NoError(t, err)
	require.False(t, more)
	require.Len(t, list, 1)
	_, _, err = svc.List(ctx, starter.ListQuery{MerchantID: "mch_other", Limit: 10, StartingAfter: p.ID})
	require.ErrorIs(t, err, starter.ErrUnknownCursor)
}

// What a payment is refused for stores nothing and starts nothing.
func TestPaymentsCreateRefusals(t *testing.T) {
	e := newEnv(t)
	svc := &starter.Payments{Deps: e.deps, Flows: e.flows}
	ctx := context.Background()

	_, err := svc.Create(ctx, card("mch_off", "k-off"))
	require.ErrorIs(t, err, starter.ErrMerchantDisabled)

	wallet := card("mch_demo", "k-wallet")
	wallet.Source = models.PaymentSource{Type: models.SourceAccount, AccountID: models.NewID(models.PrefixAccount)}
	_, err = svc.Create(ctx, wallet)
	require.ErrorIs(t, err, starter.ErrInvalidSource)

	list, _, err := svc.List(ctx, starter.ListQuery{MerchantID: "mch_demo", Limit: 10})
	require.NoError(t, err)
	require.Empty(t, list)
	require.Empty(t, e.flows.payments)
}

// A payment whose flow could not start is stored: the error says so, and the retry
// with the same key starts the flow of that payment.
func TestPaymentsRetryStartsTheStoredPaymentsFlow(t *testing.T) {
	e := newEnv(t)
	svc := &starter.Payments{Deps: e.deps, Flows: e.flows}
	ctx := context.Background()
	e.flows.fail = errors.New("temporal down")
	_, err := svc.Create(ctx, card("mch_demo", "k"))
	var ns *starter.NotStartedError
	require.ErrorAs(t, err, &ns)
	require.Equal(t, "payment", ns.Kind)
	_, err = svc.Get(ctx, "mch_demo", ns.ObjectID)
	require.NoError(t, err, "the payment is stored")

	e.flows.fail = nil
	out, err := svc.Create(ctx, card("mch_demo", "k"))
	require.NoError(t, err)
	require.True(t, out.Replayed)
	require.Equal(t, ns.ObjectID, out.Object.ID)
	require.Len(t, e.flows.payments, 1)
	require.Equal(t, ns.ObjectID, e.flows.payments[0].PaymentID)
}

// With a wait, the answer is the outcome when the flow closes within it, and the
// object as stored (processing) when it does not.
func TestPaymentsCreateWaitsForTheOutcome(t *testing.T) {
	e := newEnv(t)
	svc := &starter.Payments{Deps: e.deps, Flows: e.flows}
	ctx := context.Background()

	slow := card("mch_demo", "k-slow")
	slow.Wait = 200 * time.Millisecond
	start := time.Now()
	out, err := svc.Create(ctx, slow)
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), slow.Wait)
	require.False(t, out.Final)
	require.Equal(t, models.PaymentProcessing, out.Object.Status)

	e.flows.closes = func(workflowID string) error {
		_, _, id, err := workflows.ParseWorkflowID(workflowID)
		if err != nil {
			return err
		}
		return store.NewTx(e.db.DB).SetPaymentOutcome(id, store.PaymentOutcome{Status: models.PaymentFailed, FailureCode: models.FailureCardDeclined})
	}
	quick := card("mch_demo", "k-quick")
	quick.Wait = 5 * time.Second
	out, err = svc.Create(ctx, quick)
	require.NoError(t, err)
	require.True(t, out.Final)
	require.Equal(t, models.PaymentFailed, out.Object.Status)
	require.Equal(t, models.FailureCardDeclined, out.Object.FailureCode)

	// The replay of a request whose outcome is recorded answers it without waiting.
	e.flows.closes = nil
	start = time.Now()
	out, err = svc.Create(ctx, quick)
	require.NoError(t, err)
	require.True(t, out.Replayed)
	require.True(t, out.Final)
	require.Less(t, time.Since(start), quick.Wait)
}

// A refund larger than what is left to refund is refused with the payment, and
// nothing is started.
func TestRefundsCreate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pays := &starter.Payments{Deps: e.deps, Flows: e.flows}
	out, err := pays.Create(ctx, card("mch_demo", "k-pay"))
	require.NoError(t, err)
	require.NoError(t, store.NewTx(e.db.DB).SetPaymentOutcome(out.Object.ID, store.PaymentOutcome{Status: models.PaymentSucceeded}))
	pay, err := pays.Get(ctx, "mch_demo", out.Object.ID)
	require.NoError(t, err)

	svc := &starter.Refunds{Deps: e.deps, Flows: e.flows}
	idem := starter.Idempotent{MerchantID: "mch_demo", Key: "k-re", Fingerprint: "fp"}
	_, err = svc.Create(ctx, starter.NewRefund{Idempotent: idem, Payment: pay, Amount: pay.Amount + 1})
	var exceeds *starter.ExceedsRefundableError
	require.ErrorAs(t, err, &exceeds)
	require.Equal(t, pay.ID, exceeds.Payment.ID)
	require.Empty(t, e.flows.refunds)

	idem.Key = "k-re2"
	r, err := svc.Create(ctx, starter.NewRefund{Idempotent: idem, Payment: pay, Amount: 400})
	require.NoError(t, err)
	require.Equal(t, models.RefundProcessing, r.Object.Status)
	require.Equal(t, workflows.RefundWorkflowID("mch_demo", r.Object.ID), r.Object.WorkflowID)
	require.Equal(t, []models.RefundInput{r.Object.FlowInput(pay)}, e.flows.refunds)
}

// Top-ups and withdrawals go into and out of the merchant's own wallets in their
// currency; a withdrawal's flow gets the merchant's review threshold.
func TestWalletsTopupsAndWithdrawals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	svc := &starter.Wallets{Deps: e.deps, Flows: e.flows}
	idem := func(key string) starter.Idempotent {
		return starter.Idempotent{MerchantID: "mch_demo", Key: key, Fingerprint: "fp-" + key}
	}
	acct, err := svc.CreateAccount(ctx, starter.NewAccount{Idempotent: idem("k-acct"), Currency: "CNY", Reference: "c-1"})
	require.NoError(t, err)
	require.Equal(t, ledger.KindCustomerWallet, acct.Object.Kind)
	again, err := svc.CreateAccount(ctx, starter.NewAccount{Idempotent: idem("k-acct"), Currency: "CNY", Reference: "c-1"})
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, acct.Object.ID, again.Object.ID)
	got, err := svc.Account(ctx, "mch_demo", acct.Object.ID)
	require.NoError(t, err)
	require.Equal(t, "c-1", got.Reference)
	_, err = svc.Account(ctx, "mch_off", acct.Object.ID)
	require.ErrorIs(t, err, starter.ErrNotFound, "another merchant's wallet is not found")

	_, err = svc.CreateTopup(ctx, starter.NewTopup{Idempotent: idem("k-t0"), AccountID: acct.Object.ID, Amount: 100, Currency: "USD", Token: "tok_success", Channel: "banksim"})
	var cur *starter.WalletCurrencyError
	require.ErrorAs(t, err, &cur)
	require.Equal(t, models.Currency("CNY"), cur.Wallet.Currency)
	_, err = svc.CreateTopup(ctx, starter.NewTopup{Idempotent: idem("k-t1"), AccountID: models.NewID(models.PrefixAccount), Amount: 100, Currency: "CNY", Token: "tok_success", Channel: "banksim"})
	require.ErrorIs(t, err, starter.ErrInvalidAccount)
	require.Empty(t, e.flows.topups)

	top, err := svc.CreateTopup(ctx, starter.NewTopup{Idempotent: idem("k-t2"), AccountID: acct.Object.ID, Amount: 100, Currency: "CNY", Token: "tok_success", Channel: "banksim"})
	require.NoError(t, err)
	require.Equal(t, []models.TopupInput{top.Object.FlowInput()}, e.flows.topups)

	m, err := e.store.Merchant(ctx, "mch_demo")
	require.NoError(t, err)
	wd, err := svc.CreateWithdrawal(ctx, starter.NewWithdrawal{Idempotent: idem("k-w"), AccountID: acct.Object.ID, Amount: 50, Currency: "CNY", BankAccount: "ba_success", Channel: "banksim"})
	require.NoError(t, err)
	require.Equal(t, models.WithdrawalProcessing, wd.Object.Status)
	require.Equal(t, []models.WithdrawalInput{wd.Object.FlowInput(m.ReviewThreshold)}, e.flows.withdraws)
}

// started records the flows counted as started (payflow_flows_started_total).
type started struct {
	mu     sync.Mutex
	counts map[string]int
}

func (s *started) FlowStarted(flow, channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[flow+"/"+channel]++
}

// A flow is counted as started once per object created, by flow and channel: a
// replayed request counts nothing more, and an object whose flow Temporal refused
// for now is counted (its flow starts at the retry or the sweeper's pass).
func TestFlowsStartedAreCountedOncePerObject(t *testing.T) {
	e := newEnv(t)
	count := &started{counts: map[string]int{}}
	e.deps.Started = count
	ctx := context.Background()
	pays := &starter.Payments{Deps: e.deps, Flows: e.flows}

	out, err := pays.Create(ctx, card("mch_demo", "k1"))
	require.NoError(t, err)
	_, err = pays.Create(ctx, card("mch_demo", "k1"))
	require.NoError(t, err)
	e.flows.fail = errors.New("temporal down")
	_, err = pays.Create(ctx, card("mch_demo", "k2"))
	var ns *starter.NotStartedError
	require.ErrorAs(t, err, &ns)
	e.flows.fail = nil
	_, err = pays.Create(ctx, card("mch_demo", "k2"))
	require.NoError(t, err)
	_, err = pays.Create(ctx, card("mch_off", "k3"))
	require.ErrorIs(t, err, starter.ErrMerchantDisabled)
	require.Equal(t, map[string]int{"payment/banksim": 2}, count.counts)

	require.NoError(t, store.NewTx(e.db.DB).SetPaymentOutcome(out.Object.ID, store.PaymentOutcome{Status: models.PaymentSucceeded}))
	pay, err := pays.Get(ctx, "mch_demo", out.Object.ID)
	require.NoError(t, err)
	refunds := &starter.Refunds{Deps: e.deps, Flows: e.flows}
	_, err = refunds.Create(ctx, starter.NewRefund{Idempotent: starter.Idempotent{MerchantID: "mch_demo", Key: "k-re", Fingerprint: "fp"}, Payment: pay, Amount: 400})
	require.NoError(t, err)

	wallets := &starter.Wallets{Deps: e.deps, Flows: e.flows}
	idem := func(key string) starter.Idempotent {
		return starter.Idempotent{MerchantID: "mch_demo", Key: key, Fingerprint: "fp-" + key}
	}
	acct, err := wallets.CreateAccount(ctx, starter.NewAccount{Idempotent: idem("k-acct"), Currency: "CNY", Reference: "c-1"})
	require.NoError(t, err)
	_, err = wallets.CreateTopup(ctx, starter.NewTopup{Idempotent: idem("k-t"), AccountID: acct.Object.ID, Amount: 100, Currency: "CNY", Token: "tok_success", Channel: "banksim"})
	require.NoError(t, err)
	_, err = wallets.CreateWithdrawal(ctx, starter.NewWithdrawal{Idempotent: idem("k-w"), AccountID: acct.Object.ID, Amount: 50, Currency: "CNY", BankAccount: "ba_success", Channel: "banksim"})
	require.NoError(t, err)
	require.Equal(t, map[string]int{
		"payment/banksim": 2, "refund/banksim": 1, "topup/banksim": 1, "withdrawal/banksim": 1,
	}, count.counts)
}
