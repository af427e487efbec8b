package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/models"
)

// postWithdrawal sends a withdrawal of the merchant of c under key and answers its
// status and body.
func postWithdrawal(t *testing.T, c *client.Client, wallet, key string, amount int64) (int, map[string]any) {
	t.Helper()
	r, err := c.Post(context.Background(), "/v1/withdrawals", map[string]any{
		"account_id": wallet, "amount": amount, "currency": "CNY", "destination": map[string]any{"bank_account": "ba_success"},
	}, key)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, r.JSON(&out), "%s", r.Body)
	return r.Status, out
}

// fundedWalletOf opens a wallet of the merchant of c and tops it up by card with
// amount, waiting for the top-up to succeed.
func fundedWalletOf(t *testing.T, c *client.Client, amount int64) accountView {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := c.Post(ctx, "/v1/accounts", map[string]any{"currency": "CNY"}, "e2e-"+models.NewID(""))
	require.NoError(t, err)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	var wallet accountView
	require.NoError(t, r.JSON(&wallet))
	r, err = c.Post(ctx, "/v1/topups", map[string]any{"account_id": wallet.ID, "amount": amount, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"}}, "e2e-"+models.NewID(""))
	require.NoError(t, err)
	require.Equal(t, 202, r.Status, "%s", r.Body)
	var top models.Topup
	require.NoError(t, r.JSON(&top))
	_, last, err := c.WaitStatus(ctx, "/v1/topups/"+top.ID, 200*time.Millisecond, "processing")
	require.NoError(t, err)
	require.NoError(t, last.JSON(&top))
	require.Equal(t, models.TopupSucceeded, top.Status)
	return wallet
}

// A merchant onboarded with withdrawal limits (3000 a withdrawal, 5000 a wallet and
// day) and no review threshold gets the default one; a withdrawal over the
// per-transaction limit is refused 422 limit_exceeded and stores nothing (its
// Idempotency-Key stays free); the withdrawal that would take the day over the daily
// limit is refused, naming what remains, and what remains still passes.
func TestWithdrawalLimitsEndToEnd(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		m := onboard(t, s, `{"name":"E2E Limits","withdrawal_limit_per_transaction":3000,"withdrawal_limit_daily":5000}`)
		require.Equal(t, int64(1_000_000), m.ReviewThreshold, "the default review threshold of a CNY merchant")
		c := s.ClientFor(0, m.ID, m.Secret)

		wallet := fundedWalletOf(t, c, 20000)

		key := "e2e-" + models.NewID("")
		status, out := postWithdrawal(t, c, wallet.ID, key, 3001)
		require.Equal(t, 422, status, "%v", out)
		require.Equal(t, "limit_exceeded", out["code"])
		require.Contains(t, out["detail"], "withdrawal_limit_per_transaction of 3000")
		// Nothing was stored: the same key with another request is not "reused".
		status, out = postWithdrawal(t, c, wallet.ID, key, 3000)
		require.Equal(t, 202, status, "%v", out)

		status, out = postWithdrawal(t, c, wallet.ID, "e2e-"+models.NewID(""), 3000)
		require.Equal(t, 422, status, "%v", out)
		require.Equal(t, "limit_exceeded", out["code"])
		require.Contains(t, out["detail"], "withdrawal_limit_daily of 5000; 2000 remaining")

		status, out = postWithdrawal(t, c, wallet.ID, "e2e-"+models.NewID(""), 2000)
		require.Equal(t, 202, status, "%v", out)
	})
}
