package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/models"
)

// fundOrder posts a subscription or redemption for the demo merchant and answers its
// status and body.
func fundOrder(t *testing.T, c *client.Client, route string, body map[string]any) (*client.Response, models.FundOrder) {
	t.Helper()
	r, err := c.Post(context.Background(), route, body, "e2e-"+models.NewID(""))
	require.NoError(t, err)
	var o models.FundOrder
	if r.Status < 300 {
		require.NoError(t, r.JSON(&o))
	}
	return r, o
}

// waitFundOrder waits until the order leaves the statuses pending.
func waitFundOrder(t *testing.T, c *client.Client, route string, pending ...string) models.FundOrder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	_, last, err := c.WaitStatus(ctx, route, 200*time.Millisecond, pending...)
	require.NoError(t, err)
	var o models.FundOrder
	require.NoError(t, last.JSON(&o))
	return o
}

// placed waits until the order's flow has placed it at the fund company.
func placed(t *testing.T, s *Stack, orderID string) {
	t.Helper()
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		r, err := s.Bank(context.Background(), "GET", "/fund/v1/orders/"+orderID, "")
		if assert.NoError(ct, err) {
			assert.Equal(ct, 200, r.Status)
		}
	}, 30*time.Second, 100*time.Millisecond)
}

func wallet(t *testing.T, c *client.Client, id string) accountView {
	t.Helper()
	r, err := c.Get(context.Background(), "/v1/accounts/"+id)
	require.NoError(t, err)
	var w accountView
	require.NoError(t, r.JSON(&w))
	return w
}

// The fund marketplace end to end, against the simulator's fund company: a wallet
// within its risk profile subscribes (money held), the fund company confirms at the
// trade date's NAV once its clock has passed the trade date (shares in the position,
// floor((amount - fee) / NAV)), half the shares are redeemed (confirmed, then paid
// into the wallet), a rejection gives the money back, a confirmation sent twice is
// booked once, and the ledger balances in money and in shares.
func TestFundSubscribeAndRedeem(t *testing.T) {
	eachStackInParallel(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		c := s.Client(0)
		bankAdmin(t, s, "/sim/fund/faults", map[string]any{"confirm_delay_ms": 200, "settle_delay_ms": 300})
		defer s.Bank(ctx, "POST", "/sim/fund/faults", `{"reject":false,"confirm_twice":false,"confirm_delay_ms":5000,"settle_delay_ms":3000}`)
		defer s.Bank(ctx, "POST", "/sim/fund/clock", `{"offset_days":0}`)

		w := fundedWalletOf(t, c, 300_000)
		r, err := c.Do(ctx, client.Request{Method: "PUT", Target: "/v1/accounts/" + w.ID + "/risk_profile", Body: []byte(`{"level":2}`)})
		require.NoError(t, err)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var products struct{ Data []models.Product }
		r, err = c.Get(ctx, "/v1/products")
		require.NoError(t, err)
		require.NoError(t, r.JSON(&products))
		require.Len(t, products.Data, 3, "%s", r.Body)

		r, _ = fundOrder(t, c, "/v1/subscriptions", map[string]any{"account_id": w.ID, "product_id": "prd_equity", "amount": 100_000})
		require.Equal(t, 422, r.Status, "equity is risk 4, the wallet 2: %s", r.Body)
		require.Equal(t, "risk_mismatch", problemCode(t, r))

		r, sub := fundOrder(t, c, "/v1/subscriptions", map[string]any{"account_id": w.ID, "product_id": "prd_bond", "amount": 100_000})
		require.Equal(t, 202, r.Status, "%s", r.Body)
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			assert.Equal(ct, int64(100_000), wallet(t, c, w.ID).Held, "the flow holds the amount")
		}, 20*time.Second, 100*time.Millisecond)
		// The fund company's today moves a week on: the trade date's NAV exists and
		// the order is confirmed (its callback wakes the flow).
		bankAdmin(t, s, "/sim/fund/clock", map[string]any{"offset_days": 7})
		sub = waitFundOrder(t, c, "/v1/subscriptions/"+sub.ID, "processing")
		require.Equal(t, models.FundOrderConfirmed, sub.Status, "%+v", sub)
		require.Positive(t, sub.NAV)
		require.Equal(t, (sub.Amount-sub.Fee)*models.NAVScale/sub.NAV, sub.Shares, "floor((amount - fee) / NAV) in hundredths")
		after := wallet(t, c, w.ID)
		require.Equal(t, int64(200_000), after.Balance)
		require.Zero(t, after.Held)

		var positions struct{ Data []models.Position }
		r, err = c.Get(ctx, "/v1/accounts/"+w.ID+"/positions")
		require.NoError(t, err)
		require.NoError(t, r.JSON(&positions))
		require.Len(t, positions.Data, 1, "%s", r.Body)
		require.Equal(t, sub.Shares, positions.Data[0].Shares)

		r, _ = fundOrder(t, c, "/v1/redemptions", map[string]any{"account_id": w.ID, "product_id": "prd_bond", "shares": sub.Shares + 1})
		require.Equal(t, 422, r.Status, "%s", r.Body)
		require.Equal(t, "insufficient_shares", problemCode(t, r))
		half := sub.Shares / 2
		r, red := fundOrder(t, c, "/v1/redemptions", map[string]any{"account_id": w.ID, "product_id": "prd_bond", "shares": half})
		require.Equal(t, 202, r.Status, "%s", r.Body)
		// Its trade date is in the fund company's past only once its clock moves on
		// again.
		bankAdmin(t, s, "/sim/fund/clock", map[string]any{"offset_days": 14})
		red = waitFundOrder(t, c, "/v1/redemptions/"+red.ID, "processing", "confirmed")
		require.Equal(t, models.FundOrderPaid, red.Status, "%+v", red)
		gross, err := models.MarketValue(half, red.NAV)
		require.NoError(t, err)
		require.Equal(t, gross-red.Fee, red.Amount, "floor(shares x NAV) - fee")
		require.Equal(t, 200_000+red.Amount, wallet(t, c, w.ID).Balance, "the money arrived")
		r, err = c.Get(ctx, "/v1/accounts/"+w.ID+"/positions")
		require.NoError(t, err)
		require.NoError(t, r.JSON(&positions))
		require.Equal(t, sub.Shares-half, positions.Data[0].Shares)
		require.Zero(t, positions.Data[0].HeldShares)

		// A rejection gives the money back; a confirmation sent twice is booked once.
		bankAdmin(t, s, "/sim/fund/faults", map[string]any{"reject": true})
		r, rej := fundOrder(t, c, "/v1/subscriptions", map[string]any{"account_id": w.ID, "product_id": "prd_bond", "amount": 100_000})
		require.Equal(t, 202, r.Status, "%s", r.Body)
		placed(t, s, rej.ID) // the fault applies to orders placed while it is set
		bankAdmin(t, s, "/sim/fund/faults", map[string]any{"reject": false, "confirm_twice": true})
		r, twice := fundOrder(t, c, "/v1/subscriptions", map[string]any{"account_id": w.ID, "product_id": "prd_bond", "amount": 120_000})
		require.Equal(t, 202, r.Status, "%s", r.Body)
		placed(t, s, twice.ID)
		bankAdmin(t, s, "/sim/fund/faults", map[string]any{"confirm_twice": false})
		bankAdmin(t, s, "/sim/fund/clock", map[string]any{"offset_days": 21})
		rej = waitFundOrder(t, c, "/v1/subscriptions/"+rej.ID, "processing")
		require.Equal(t, models.FundOrderFailed, rej.Status)
		require.Equal(t, models.FailureRejectedByFund, rej.FailureCode)
		twice = waitFundOrder(t, c, "/v1/subscriptions/"+twice.ID, "processing")
		require.Equal(t, models.FundOrderConfirmed, twice.Status)
		final := wallet(t, c, w.ID)
		require.Equal(t, 200_000+red.Amount-120_000, final.Balance, "only the confirmed subscription paid")
		require.Zero(t, final.Held)
		r, err = c.Get(ctx, "/v1/accounts/"+w.ID+"/positions")
		require.NoError(t, err)
		require.NoError(t, r.JSON(&positions))
		require.Equal(t, sub.Shares-half+twice.Shares, positions.Data[0].Shares, "the twice-confirmed shares credited once")
		require.True(t, ledgerCheck(t, s).OK)
	})
}
