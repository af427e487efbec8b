package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/payflow/payflow/http/callbacks"
	"github.com/payflow/payflow/internal/bank/fund"
	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// fakeFundCompany is the simulator's three products, with every weekday a trading
// day.
type fakeFundCompany struct{}

func (fakeFundCompany) Products(context.Context) ([]fund.Product, error) {
	p := func(id, kind string, risk int, min int64) fund.Product {
		return fund.Product{ID: id, Name: id, Kind: kind, RiskLevel: risk, Currency: "CNY", MinAmount: min, Cutoff: "15:00",
			ConfirmDays: 1, SettleDays: 2, SubscriptionFeeBps: 10, RedemptionFeeBps: 50, NAV: 10234, NAVDate: "2026-10-09"}
	}
	return []fund.Product{p("prd_mmf", "money_market", 1, 1), p("prd_bond", "bond", 2, 100), p("prd_equity", "equity", 4, 100)}, nil
}

func (fakeFundCompany) Calendar(_ context.Context, from, to string) (fund.Calendar, error) {
	c := fund.Calendar{From: from, To: to}
	d, err := time.Parse(models.DayLayout, from)
	if err != nil {
		return c, err
	}
	for ; d.Format(models.DayLayout) <= to; d = d.AddDate(0, 0, 1) {
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
			c.TradingDays = append(c.TradingDays, d.Format(models.DayLayout))
		}
	}
	return c, nil
}

func fundService(st *store.Store, l *ledger.Ledger, fs *fakeStarter) *starter.Fund {
	return &starter.Fund{Deps: starter.Deps{Store: st, Ledger: l, Now: time.Now}, Flows: fs, Company: fakeFundCompany{}}
}

func (f *fakeStarter) StartFundOrder(_ context.Context, in models.FundOrderInput) error {
	return f.start(func() { f.fundStarts = append(f.fundStarts, in) })
}

func (f *fakeStarter) SignalFundOrder(_ context.Context, workflowID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.signalErr != nil {
		return f.signalErr
	}
	f.fundSignals = append(f.fundSignals, workflowID)
	return nil
}

// victimFundOrders stores a subscription and a redemption of mch_other's.
func victimFundOrders(t *testing.T, a *api, wallet string, ids map[string]string) {
	t.Helper()
	for _, prefix := range []string{models.PrefixSubscription, models.PrefixRedemption} {
		o := models.FundOrder{ID: models.NewID(prefix), AccountID: wallet, ProductID: "prd_bond", Status: models.FundOrderProcessing,
			Currency: "CNY", Amount: 100_000, TradeDate: "2026-10-09", ExpectedConfirmDate: "2026-10-12", CreatedAt: time.Now().UTC()}
		if prefix == models.PrefixRedemption {
			o.Amount, o.Shares = 0, 100
		}
		require.NoError(t, a.db.DB.Transaction(func(tx *gorm.DB) error { return store.InsertFundOrder(tx, "mch_other", "", o) }))
		ids[prefix] = o.ID
	}
}

// fundWallet posts amount from the bank's clearing account into the wallet.
func fundWallet(t *testing.T, a *api, wallet string, asset models.Currency, amount int64, spec ledger.AccountSpec) {
	t.Helper()
	ctx := context.Background()
	from, err := a.ledger.EnsureAccount(ctx, spec)
	require.NoError(t, err)
	require.NoError(t, a.ledger.Run(ctx, func(tx *ledger.Tx) error {
		_, err := tx.Post(ledger.Posting{Key: "test/" + models.NewID(""), Flow: models.FlowTopup, FlowID: "top_t", Currency: asset,
			Legs: []ledger.Leg{{AccountID: from, Amount: -amount}, {AccountID: wallet, Amount: amount}}})
		return err
	}))
}

func (a *api) fundOrders(t *testing.T) int64 {
	t.Helper()
	var n int64
	require.NoError(t, a.db.DB.Table("fund_orders").Count(&n).Error)
	return n
}

// A wallet subscribes to a product only within its risk profile, from its available
// money and above the product's minimum; it redeems only its free shares. A refusal
// stores nothing and starts nothing; an order accepted is dated by the cut-off and
// the calendar, and its flow started.
func TestFundOrdersAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		ctx := context.Background()
		r, err := a.c.Post(ctx, "/v1/accounts", map[string]any{"currency": "CNY"}, "acct-"+models.NewID(""))
		require.NoError(t, err)
		var w struct{ ID string }
		require.NoError(t, r.JSON(&w))

		r, err = a.c.Get(ctx, "/v1/products")
		require.NoError(t, err)
		require.Equal(t, 200, r.Status, "%s", r.Body)

		put := func(body string) *client.Response {
			t.Helper()
			r, err := a.c.Do(ctx, client.Request{Method: "PUT", Target: "/v1/accounts/" + w.ID + "/risk_profile", Body: []byte(body)})
			require.NoError(t, err)
			return r
		}
		for _, bad := range []string{`{"level":0}`, `{"level":6}`, `{}`, `{"level":"3"}`, `{"level":2,"x":1}`} {
			require.Equal(t, 400, put(bad).Status, bad)
		}
		subscribe := func(body map[string]any) (*client.Response, problemBody) {
			t.Helper()
			r, err := a.c.Post(ctx, "/v1/subscriptions", body, "sub-"+models.NewID(""))
			require.NoError(t, err)
			var p problemBody
			_ = json.Unmarshal(r.Body, &p)
			return r, p
		}
		order := map[string]any{"account_id": w.ID, "product_id": "prd_bond", "amount": 100_000}
		refusals := []struct {
			name   string
			before func()
			body   map[string]any
			status int
			code   string
		}{
			{"no risk profile", nil, order, 422, "risk_mismatch"},
			{"a riskier product", func() { require.Equal(t, 200, put(`{"level":1}`).Status) }, order, 422, "risk_mismatch"},
			{"not enough money", func() { require.Equal(t, 200, put(`{"level":3}`).Status) }, order, 422, "insufficient_funds"},
			{"under the minimum", nil, map[string]any{"account_id": w.ID, "product_id": "prd_bond", "amount": 99}, 422, "invalid_amount"},
			{"an unknown product", nil, map[string]any{"account_id": w.ID, "product_id": "prd_gold", "amount": 100_000}, 422, "invalid_product"},
			{"shares on a subscription", nil, map[string]any{"account_id": w.ID, "product_id": "prd_bond", "shares": 100}, 400, ""},
			{"equity at level 3", nil, map[string]any{"account_id": w.ID, "product_id": "prd_equity", "amount": 100_000}, 422, "risk_mismatch"},
		}
		for _, tc := range refusals {
			if tc.before != nil {
				tc.before()
			}
			r, p := subscribe(tc.body)
			require.Equal(t, tc.status, r.Status, "%s: %s", tc.name, r.Body)
			if tc.code != "" {
				require.Equal(t, tc.code, p.Code, tc.name)
			}
		}
		require.Zero(t, a.fundOrders(t), "a refusal stores nothing")
		require.Empty(t, a.starter.fundStarts, "and starts nothing")

		fundWallet(t, a, w.ID, "CNY", 150_000, ledger.ClearingSpec("banksim", "CNY"))
		r, _ = subscribe(order)
		require.Equal(t, 202, r.Status, "%s", r.Body)
		var sub models.FundOrder
		require.NoError(t, r.JSON(&sub))
		require.Equal(t, models.FundOrderProcessing, sub.Status)
		require.Equal(t, int64(100_000), sub.Amount)
		trade, err := time.Parse(models.DayLayout, sub.TradeDate)
		require.NoError(t, err)
		require.NotContains(t, []time.Weekday{time.Saturday, time.Sunday}, trade.Weekday(), "a trade date is a trading day")
		require.Greater(t, sub.ExpectedConfirmDate, sub.TradeDate)
		require.Len(t, a.starter.fundStarts, 1)
		in := a.starter.fundStarts[0]
		require.Equal(t, models.FundOrderInput{OrderID: sub.ID, Kind: models.FundSubscription, MerchantID: "mch_demo", AccountID: w.ID,
			ProductID: "prd_bond", Currency: "CNY", Amount: 100_000, TradeDate: sub.TradeDate, Poll: starter.DefaultFundPoll}, in)
		r, err = a.c.Get(ctx, "/v1/subscriptions/"+sub.ID)
		require.NoError(t, err)
		require.Equal(t, 200, r.Status)

		// Redemptions: only free shares.
		redeem := func(shares int64) *client.Response {
			r, err := a.c.Post(ctx, "/v1/redemptions", map[string]any{"account_id": w.ID, "product_id": "prd_bond", "shares": shares}, "red-"+models.NewID(""))
			require.NoError(t, err)
			return r
		}
		r = redeem(100)
		require.Equal(t, 422, r.Status, "no shares at all: %s", r.Body)
		require.Contains(t, string(r.Body), "insufficient_shares")
		pos, err := a.ledger.EnsureAccount(ctx, ledger.PositionSpec(w.ID, "prd_bond"))
		require.NoError(t, err)
		fundWallet(t, a, pos, models.ShareAsset("prd_bond"), 97_617, ledger.FundSharesSpec("prd_bond"))
		r = redeem(97_618)
		require.Equal(t, 422, r.Status, "one hundredth too many: %s", r.Body)
		require.Equal(t, int64(1), a.fundOrders(t))
		r = redeem(50_000)
		require.Equal(t, 202, r.Status, "%s", r.Body)
		var red models.FundOrder
		require.NoError(t, r.JSON(&red))
		require.Equal(t, "redemption", red.Object)
		require.Greater(t, red.ExpectedSettleDate, red.ExpectedConfirmDate)

		r, err = a.c.Get(ctx, "/v1/accounts/"+w.ID+"/positions")
		require.NoError(t, err)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var positions struct{ Data []models.Position }
		require.NoError(t, r.JSON(&positions))
		require.Equal(t, []models.Position{{ProductID: "prd_bond", Shares: 97_617, NAV: 10234, NAVDate: "2026-10-09", Currency: "CNY", MarketValue: 99_901}},
			positions.Data, "97617 hundredths at 1.0234 = 999.012378 yuan")

		// The fund company's callback wakes the order's flow; an unknown order or a
		// bad signature wakes nothing.
		body := fmt.Sprintf(`{"type":"fund_order.confirmed","event_id":"cbe_1","order":{"order_id":%q,"kind":"subscription","product_id":"prd_bond","status":"confirmed","trade_date":%q,"nav":10234,"shares":97617,"amount":100000,"fee":100}}`, sub.ID, sub.TradeDate)
		status, _ := a.postCallback(t, ctx, callbacks.FundPath, fund.SignatureHeader, signBanksim(banksimSecret, body, time.Now()), body)
		require.Equal(t, 200, status)
		require.Equal(t, []string{"subscription/mch_demo/" + sub.ID}, a.starter.fundSignals)
		status, _ = a.postCallback(t, ctx, callbacks.FundPath, fund.SignatureHeader, signBanksim("wrong", body, time.Now()), body)
		require.Equal(t, 401, status)
		unknown := strings.Replace(body, sub.ID, "sub_nope", 1)
		status, _ = a.postCallback(t, ctx, callbacks.FundPath, fund.SignatureHeader, signBanksim(banksimSecret, unknown, time.Now()), unknown)
		require.Equal(t, 404, status)
		require.Len(t, a.starter.fundSignals, 1)
	})
}
