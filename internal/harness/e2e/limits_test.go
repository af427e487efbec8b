package e2e

import (
	"context"
	"encoding/json"
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

// finishedWithdrawal withdraws amount from the wallet of the merchant of c and waits
// for the withdrawal to end.
func finishedWithdrawal(t *testing.T, c *client.Client, wallet string, amount int64) models.Withdrawal {
	t.Helper()
	status, out := postWithdrawal(t, c, wallet, "e2e-"+models.NewID(""), amount)
	require.Equal(t, 202, status, "%v", out)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, last, err := c.WaitStatus(ctx, "/v1/withdrawals/"+out["id"].(string), 200*time.Millisecond, "processing")
	require.NoError(t, err)
	var w models.Withdrawal
	require.NoError(t, last.JSON(&w))
	return w
}

// accountOf reads an account of the merchant of c.
func accountOf(t *testing.T, c *client.Client, id string) accountView {
	t.Helper()
	r, err := c.Get(context.Background(), "/v1/accounts/"+id)
	require.NoError(t, err)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var a accountView
	require.NoError(t, r.JSON(&a))
	return a
}

// A merchant onboarded with withdrawal limits (3000 a withdrawal, 5000 a wallet and
// day) and no review threshold gets the default one; a withdrawal over the
// per-transaction limit is refused 422 limit_exceeded and stores nothing (its
// Idempotency-Key stays free); the withdrawal that would take the day over the daily
// limit is refused, naming what remains, and what remains still passes.
func TestWithdrawalLimitsEndToEnd(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		m := onboard(t, s, `{"name":"E2E Limits","withdrawal_limit_per_transaction":3000,"withdrawal_limit_daily":5000,"withdrawal_delay":0}`)
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

// Money topped up by card is withdrawable only after the merchant's withdrawal delay
// (24 h unless onboarded otherwise): a withdrawal of a freshly topped-up wallet ends
// failed insufficient_withdrawable_funds with nothing held or paid out, the wallet
// says it has nothing withdrawable yet; a merchant onboarded with a delay of 0 pays
// the same withdrawal out. A delay out of range onboards nobody.
func TestWithdrawalDelayEndToEnd(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		for _, body := range []string{`{"name":"E2E Bad Delay","withdrawal_delay":-1}`, `{"name":"E2E Bad Delay","withdrawal_delay":2592001}`, `{"name":"E2E Bad Delay","withdrawal_delay":"24h"}`} {
			r, err := s.Ops(ctx, "POST", "/v1/ops/merchants", body)
			require.NoError(t, err)
			require.Equal(t, 400, r.Status, "%s: %s", body, r.Body)
			require.Contains(t, string(r.Body), "withdrawal_delay")
		}

		withdraw := func(c *client.Client, wallet string) models.Withdrawal { return finishedWithdrawal(t, c, wallet, 5000) }
		account := func(c *client.Client, id string) accountView { return accountOf(t, c, id) }

		m := onboard(t, s, `{"name":"E2E Delay"}`)
		require.Equal(t, int64(86400), m.WithdrawalDelay, "the default delay is 24 h")
		c := s.ClientFor(0, m.ID, m.Secret)
		wallet := fundedWalletOf(t, c, 20000)
		a := account(c, wallet.ID)
		require.Equal(t, int64(20000), a.Available)
		require.Equal(t, int64(0), a.Withdrawable, "all of it was topped up within the delay")
		w := withdraw(c, wallet.ID)
		require.Equal(t, models.WithdrawalFailed, w.Status)
		require.Equal(t, models.FailureInsufficientWithdrawable, w.FailureCode)
		a = account(c, wallet.ID)
		require.Equal(t, int64(20000), a.Balance, "nothing paid out")
		require.Equal(t, int64(0), a.Held, "nothing held")

		m0 := onboard(t, s, `{"name":"E2E No Delay","withdrawal_delay":0}`)
		require.Equal(t, int64(0), m0.WithdrawalDelay)
		c0 := s.ClientFor(0, m0.ID, m0.Secret)
		wallet0 := fundedWalletOf(t, c0, 20000)
		require.Equal(t, int64(20000), account(c0, wallet0.ID).Withdrawable)
		w = withdraw(c0, wallet0.ID)
		require.Equal(t, models.WithdrawalSucceeded, w.Status, "%+v", w)
		require.Equal(t, int64(15000), account(c0, wallet0.ID).Balance)
	})
}

// An operator changes a merchant's settings after onboarding: a merchant onboarded
// with the default 24 h delay cannot withdraw a fresh top-up; once its withdrawal_delay
// is PATCHed to 0 the same withdrawal pays out. A daily limit set afterwards refuses
// what would take the day over it, and null removes it again. Bad updates change
// nothing; every update is in the audit log with its old and new values.
func TestMerchantUpdateEndToEnd(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		m := onboard(t, s, `{"name":"E2E Update"}`)
		require.Equal(t, int64(86400), m.WithdrawalDelay)
		c := s.ClientFor(0, m.ID, m.Secret)
		patch := func(body string) (int, map[string]any) {
			t.Helper()
			r, err := s.Ops(ctx, "PATCH", "/v1/ops/merchants/"+m.ID, body)
			require.NoError(t, err)
			var out map[string]any
			require.NoError(t, json.Unmarshal(r.Body, &out), "%s", r.Body)
			return r.Status, out
		}

		wallet := fundedWalletOf(t, c, 20000)
		w := finishedWithdrawal(t, c, wallet.ID, 5000)
		require.Equal(t, models.WithdrawalFailed, w.Status)
		require.Equal(t, models.FailureInsufficientWithdrawable, w.FailureCode)

		for _, body := range []string{`{}`, `{"withdrawal_delay":null}`, `{"withdrawal_delay":0,"name":"Renamed"}`, `{"withdrawal_delay":-1}`} {
			status, out := patch(body)
			require.Equal(t, 400, status, "%s: %v", body, out)
			require.Equal(t, "invalid_request", out["code"])
		}
		status, out := patch(`{"withdrawal_delay":0,"withdrawal_limit_daily":0}`)
		require.Equal(t, 422, status, "%v", out)
		require.Equal(t, "invalid_amount", out["code"])
		require.Equal(t, int64(0), accountOf(t, c, wallet.ID).Withdrawable, "the refused updates changed nothing")

		status, out = patch(`{"withdrawal_delay":0}`)
		require.Equal(t, 200, status, "%v", out)
		require.Equal(t, float64(0), out["withdrawal_delay"])
		r, err := s.Ops(ctx, "GET", "/v1/ops/merchants/"+m.ID, "")
		require.NoError(t, err)
		var got map[string]any
		require.NoError(t, json.Unmarshal(r.Body, &got))
		require.Equal(t, out, got, "PATCH answers the merchant as GET does")
		require.Equal(t, int64(20000), accountOf(t, c, wallet.ID).Withdrawable)
		w = finishedWithdrawal(t, c, wallet.ID, 5000)
		require.Equal(t, models.WithdrawalSucceeded, w.Status, "%+v", w)
		require.Equal(t, int64(15000), accountOf(t, c, wallet.ID).Balance)

		status, out = patch(`{"withdrawal_limit_daily":6000}`)
		require.Equal(t, 200, status, "%v", out)
		require.Equal(t, float64(6000), out["withdrawal_limit_daily"])
		status, out = postWithdrawal(t, c, wallet.ID, "e2e-"+models.NewID(""), 2000)
		require.Equal(t, 422, status, "%v", out)
		require.Equal(t, "limit_exceeded", out["code"])
		require.Contains(t, out["detail"], "withdrawal_limit_daily of 6000; 1000 remaining")

		status, out = patch(`{"withdrawal_limit_daily":null}`)
		require.Equal(t, 200, status, "%v", out)
		require.NotContains(t, out, "withdrawal_limit_daily", "no daily limit any more")
		require.Equal(t, float64(0), out["withdrawal_delay"], "what the update does not name stays")
		w = finishedWithdrawal(t, c, wallet.ID, 2000)
		require.Equal(t, models.WithdrawalSucceeded, w.Status, "%+v", w)

		r, err = s.Ops(ctx, "GET", "/v1/ops/audit?target="+m.ID, "")
		require.NoError(t, err)
		var audit struct{ Data []models.AuditEntry }
		require.NoError(t, json.Unmarshal(r.Body, &audit))
		var updates []string
		for _, e := range audit.Data {
			if e.Action == "merchant.update" {
				require.Equal(t, "accepted", e.Result)
				updates = append(updates, e.Detail)
			}
		}
		require.Equal(t, []string{"withdrawal_limit_daily 6000→none", "withdrawal_limit_daily none→6000", "withdrawal_delay 86400→0"}, updates)

		r, err = s.Ops(ctx, "PATCH", "/v1/ops/merchants/"+models.NewID(models.PrefixMerchant), `{"withdrawal_delay":0}`)
		require.NoError(t, err)
		require.Equal(t, 404, r.Status, "%s", r.Body)
	})
}
