package fund

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/banksim"
)

// fundEnv is a real bank simulator in process, on its own SQLite file, and a
// client pointed at it.
type fundEnv struct {
	srv  *banksim.Server
	http *httptest.Server
	c    *Client
}

func newFundEnv(t *testing.T) *fundEnv {
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
	return &fundEnv{srv: srv, http: ts, c: New(ts.URL, &http.Client{Timeout: 5 * time.Second})}
}

func (e *fundEnv) faults(t *testing.T, f func(*banksim.FundFaults)) {
	t.Helper()
	faults := banksim.DefaultFundFaults()
	faults.ConfirmDelayMS = 0
	f(&faults)
	require.NoError(t, e.srv.SetFundFaults(faults))
}

// today is the fund company's date, after moving its clock by offset days.
func (e *fundEnv) today(t *testing.T, offset int) time.Time {
	t.Helper()
	resp, err := http.Post(e.http.URL+"/sim/fund/clock", "application/json", strings.NewReader(`{"offset_days":`+itoa(offset)+`}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var c banksim.FundClock
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&c))
	d, err := time.Parse(dateLayout, c.Today)
	require.NoError(t, err)
	return d
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// tradingDayBefore is the latest weekday before d that the calendar lists.
func (e *fundEnv) tradingDayBefore(t *testing.T, d time.Time) string {
	t.Helper()
	cal, err := e.c.Calendar(context.Background(), d.AddDate(0, 0, -20).Format(dateLayout), d.AddDate(0, 0, -1).Format(dateLayout))
	require.NoError(t, err)
	require.NotEmpty(t, cal.TradingDays)
	return cal.TradingDays[len(cal.TradingDays)-1]
}

func (e *fundEnv) await(t *testing.T, id, status string) OrderState {
	t.Helper()
	var o OrderState
	require.Eventually(t, func() bool {
		var err error
		o, err = e.c.Order(context.Background(), id)
		require.NoError(t, err)
		return o.Status == status
	}, 5*time.Second, 10*time.Millisecond, "order %s to be %s", id, status)
	return o
}

func TestProductsCalendarNAVIncome(t *testing.T) {
	e := newFundEnv(t)
	ctx := context.Background()
	products, err := e.c.Products(ctx)
	require.NoError(t, err)
	require.Len(t, products, 3)
	byID := map[string]Product{}
	for _, p := range products {
		byID[p.ID] = p
	}
	require.Equal(t, int64(10000), byID[ProductMoneyMarket].NAV)
	require.Equal(t, 2, byID[ProductBond].RiskLevel)
	require.Equal(t, "15:00", byID[ProductEquity].Cutoff)

	cal, err := e.c.Calendar(ctx, "2027-02-01", "2027-02-14")
	require.NoError(t, err)
	require.Equal(t, []string{"2027-02-01", "2027-02-02", "2027-02-03", "2027-02-04", "2027-02-12"}, cal.TradingDays)
	require.Len(t, cal.Holidays, 7)

	// A published NAV is the same twice; a Saturday and a day not over have none.
	nav, err := e.c.NAV(ctx, ProductEquity, "2026-10-09")
	require.NoError(t, err)
	again, err := e.c.NAV(ctx, ProductEquity, "2026-10-09")
	require.NoError(t, err)
	require.Equal(t, nav, again)
	require.Positive(t, nav)
	mmf, err := e.c.NAV(ctx, ProductMoneyMarket, "2026-10-09")
	require.NoError(t, err)
	require.Equal(t, int64(10000), mmf)
	_, err = e.c.NAV(ctx, ProductBond, "2026-10-10")
	require.ErrorIs(t, err, ErrNotFound)
	today := e.today(t, 0).Format(dateLayout)
	_, err = e.c.NAV(ctx, ProductBond, today)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = e.c.NAV(ctx, "prd_gold", "2026-10-09")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, err, ErrRejected)

	income, err := e.c.Income(ctx, "2026-10-10") // every calendar day, a Saturday too
	require.NoError(t, err)
	require.True(t, income >= 400_000 && income <= 700_000, "income %d", income)
	_, err = e.c.Income(ctx, today)
	require.ErrorIs(t, err, ErrNotFound)
	e.today(t, 1)
	_, err = e.c.Income(ctx, today)
	require.NoError(t, err)

	_, err = e.c.Calendar(ctx, "2026-10-01", "10/02/2026")
	require.ErrorIs(t, err, ErrRejected)
	_, err = e.c.Calendar(ctx, "2026-10-02", "2026-10-01")
	require.ErrorIs(t, err, ErrRejected)
}

func TestOrders(t *testing.T) {
	e := newFundEnv(t)
	ctx := context.Background()
	e.faults(t, func(f *banksim.FundFaults) { f.SettleDelayMS = 50 })
	trade := e.tradingDayBefore(t, e.today(t, 0))
	sub := Order{OrderID: "fo_c1", Kind: KindSubscription, ProductID: ProductBond, Amount: 100_000, TradeDate: trade}
	status, err := e.c.PlaceOrder(ctx, sub)
	require.NoError(t, err)
	require.Equal(t, StatusAccepted, status)
	got := e.await(t, "fo_c1", StatusConfirmed)
	nav, err := e.c.NAV(ctx, ProductBond, trade)
	require.NoError(t, err)
	// 0.6% of 1000.00 CNY is 6.00; 994.00 CNY buys floor(99400*10000/nav) hundredths.
	require.Equal(t, int64(600), got.Fee)
	require.Equal(t, 99_400*10000/nav, got.Shares)
	require.Equal(t, nav, got.NAV)

	// A repeat answers the order as it is now.
	status, err = e.c.PlaceOrder(ctx, sub)
	require.NoError(t, err)
	require.Equal(t, StatusConfirmed, status)
	other := sub
	other.Amount++
	_, err = e.c.PlaceOrder(ctx, other)
	require.ErrorIs(t, err, ErrRejected)

	red := Order{OrderID: "fo_c2", Kind: KindRedemption, ProductID: ProductBond, Shares: got.Shares, TradeDate: trade}
	_, err = e.c.PlaceOrder(ctx, red)
	require.NoError(t, err)
	paid := e.await(t, "fo_c2", StatusPaid)
	gross := got.Shares * nav / 10000
	require.Equal(t, gross*10/10000, paid.Fee)
	require.Equal(t, gross-gross*10/10000, paid.Amount)
	require.NotNil(t, paid.PaidAt)

	_, err = e.c.Order(ctx, "fo_never")
	require.ErrorIs(t, err, ErrNotFound)
	weekend := Order{OrderID: "fo_c3", Kind: KindSubscription, ProductID: ProductBond, Amount: 100_000, TradeDate: "2026-12-05"}
	_, err = e.c.PlaceOrder(ctx, weekend)
	require.ErrorIs(t, err, ErrRejected)
	require.NotErrorIs(t, err, ErrNotFound)
	mixed := Order{OrderID: "fo_c4", Kind: KindSubscription, ProductID: ProductBond, Amount: 100_000, Shares: 1, TradeDate: trade}
	_, err = e.c.PlaceOrder(ctx, mixed)
	require.ErrorIs(t, err, ErrRejected)
}

func TestRejectedOrderAndDown(t *testing.T) {
	e := newFundEnv(t)
	ctx := context.Background()
	trade := e.tradingDayBefore(t, e.today(t, 0))
	e.faults(t, func(f *banksim.FundFaults) { f.Reject = true })
	_, err := e.c.PlaceOrder(ctx, Order{OrderID: "fo_r1", Kind: KindSubscription, ProductID: ProductMoneyMarket, Amount: 100, TradeDate: trade})
	require.NoError(t, err)
	require.Equal(t, ReasonRejected, e.await(t, "fo_r1", StatusRejected).Reason)

	e.faults(t, func(f *banksim.FundFaults) { f.Down = true })
	_, err = e.c.Products(ctx)
	require.ErrorIs(t, err, ErrUnavailable)
	_, err = e.c.PlaceOrder(ctx, Order{OrderID: "fo_r2", Kind: KindSubscription, ProductID: ProductMoneyMarket, Amount: 100, TradeDate: trade})
	require.ErrorIs(t, err, ErrUnavailable)
	_, err = e.c.Order(ctx, "fo_r1")
	require.ErrorIs(t, err, ErrUnavailable)

	// Nobody listening: unavailable too.
	e.http.Close()
	_, err = e.c.Products(ctx)
	require.ErrorIs(t, err, ErrUnavailable)
}

// TestCallbacksFromTheSimulator parses the callbacks the simulator really sends.
func TestCallbacksFromTheSimulator(t *testing.T) {
	var mu sync.Mutex
	var got []Callback
	var errs []error
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cb, err := ParseCallback(banksim.DefaultCallbackSecret, r.Header.Get(SignatureHeader), body)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		got = append(got, cb)
	}))
	t.Cleanup(rcv.Close)
	e := newFundEnv(t)
	e.faults(t, func(f *banksim.FundFaults) { f.SettleDelayMS = 20; f.ConfirmTwice = true })
	ctx := context.Background()
	trade := e.tradingDayBefore(t, e.today(t, 0))
	_, err := e.c.PlaceOrder(ctx, Order{OrderID: "fo_cb1", Kind: KindSubscription, ProductID: ProductMoneyMarket,
		Amount: 50_000, TradeDate: trade, CallbackURL: rcv.URL})
	require.NoError(t, err)
	e.await(t, "fo_cb1", StatusConfirmed)
	_, err = e.c.PlaceOrder(ctx, Order{OrderID: "fo_cb2", Kind: KindRedemption, ProductID: ProductMoneyMarket,
		Shares: 20_000, TradeDate: trade, CallbackURL: rcv.URL})
	require.NoError(t, err)
	e.await(t, "fo_cb2", StatusPaid)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got)+len(errs) == 5
	}, 5*time.Second, 10*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, errs)
	var seen []string
	for _, cb := range got {
		seen = append(seen, cb.Type+" "+cb.Order.OrderID)
	}
	// Confirmations twice (one event), the payment once.
	require.Equal(t, []string{"fund_order.confirmed fo_cb1", "fund_order.confirmed fo_cb1",
		"fund_order.confirmed fo_cb2", "fund_order.confirmed fo_cb2", "fund_order.paid fo_cb2"}, seen)
	require.Equal(t, got[0].EventID, got[1].EventID)
	require.Equal(t, int64(50_000), got[0].Order.Shares)
	require.Equal(t, int64(20_000), got[4].Order.Amount)
}

func TestClientErrorsNameNoBody(t *testing.T) {
	e := newFundEnv(t)
	_, err := e.c.PlaceOrder(context.Background(), Order{OrderID: "fo_e1", Kind: "gift", ProductID: ProductBond, Amount: 123_456_789, TradeDate: "2026-12-07"})
	require.ErrorIs(t, err, ErrRejected)
	require.False(t, errors.Is(err, ErrUnavailable))
	require.NotContains(t, err.Error(), "123456789")
}
