package e2e

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/banksim"
	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/models"
)

// fundClock moves the fund company's clock to offset days and answers its date.
func fundClock(t *testing.T, s *Stack, offset int) string {
	t.Helper()
	r, err := s.Bank(context.Background(), "POST", "/sim/fund/clock", `{"offset_days":`+strconv.Itoa(offset)+`}`)
	require.NoError(t, err)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var c banksim.FundClock
	require.NoError(t, r.JSON(&c))
	return c.Today
}

// The fund company's reconciliation through the ops API, as an operator runs it: a
// subscription confirmed on the fund company's date (its clock moved ahead), then
// the run of that date: its confirmation matched with our order, its holdings equal
// to our wallets' shares, no difference; the run of the date again is the same run.
func TestFundReconciliation(t *testing.T) {
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
		r, sub := fundOrder(t, c, "/v1/subscriptions", map[string]any{"account_id": w.ID, "product_id": "prd_bond", "amount": 100_000})
		require.Equal(t, 202, r.Status, "%s", r.Body)
		placed(t, s, sub.ID)
		date := fundClock(t, s, 30)
		sub = waitFundOrder(t, c, "/v1/subscriptions/"+sub.ID, "processing")
		require.Equal(t, models.FundOrderConfirmed, sub.Status, "%+v", sub)
		// The fund company's date is over once its clock moves on: its files exist.
		fundClock(t, s, 31)

		rec := openReconciliation(t, s, `{"channel":"fund","date":"`+date+`"}`, 202)
		got := waitReconciliation(t, s, rec.ID, 90*time.Second)
		assert.Equal(t, int64(1), got.Counts.StatementLines, "%+v", got.Counts)
		assert.Equal(t, int64(1), got.Counts.Matched, "%+v", got.Counts)
		assert.Zero(t, got.Counts.Differences(), "%+v", got.Counts)
		assert.Zero(t, got.Counts.InTransit, "%+v", got.Counts)
		assert.Empty(t, allDifferences(t, s, rec.ID))
		again := openReconciliation(t, s, `{"channel":"fund","date":"`+date+`"}`, 200)
		require.Equal(t, rec.ID, again.ID)
	})
}
