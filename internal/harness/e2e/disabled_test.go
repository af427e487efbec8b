package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

// A merchant disabled by an operator while two of its flows are in flight, as a user
// sees it: a withdrawal over the review threshold waiting for approval, and a top-up
// whose card the bank is still processing. The disable answers at once; the
// withdrawal ends failed merchant_disabled without reaching the bank, well before its
// approval would expire, and its hold is released; the top-up's charge succeeds at
// the bank, is not credited and is reversed exactly once, and the top-up ends failed
// merchant_disabled. The wallet is as before both; an approval comes too late, and
// new requests are refused. The merchant is one of the test's own, so that the
// suite's other tests keep the demo merchant.
func TestDisabledMerchantStopsFlowsInFlight(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		m := onboard(t, s, `{"name":"E2E Disabled","review_threshold":100000,"withdrawal_delay":0}`)
		c := s.ClientFor(0, m.ID, m.Secret)
		post := func(path string, body map[string]any, want int, out any) {
			t.Helper()
			r, err := c.Post(ctx, path, body, "e2e-"+models.NewID(""))
			require.NoError(t, err)
			require.Equal(t, want, r.Status, "%s", r.Body)
			if out != nil {
				require.NoError(t, r.JSON(out))
			}
		}
		wait := func(path string, out any, pending ...string) {
			t.Helper()
			wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			_, last, err := c.WaitStatus(wctx, path, 200*time.Millisecond, pending...)
			require.NoError(t, err)
			require.NoError(t, last.JSON(out))
		}
		wallet := func(id string) accountView {
			t.Helper()
			r, err := c.Get(ctx, "/v1/accounts/"+id)
			require.NoError(t, err)
			require.Equal(t, 200, r.Status, "%s", r.Body)
			var a accountView
			require.NoError(t, r.JSON(&a))
			return a
		}
		topup := func(account string, amount int64, token string) map[string]any {
			return map[string]any{"account_id": account, "amount": amount, "currency": "CNY", "source": map[string]any{"type": "card", "token": token}}
		}

		var w accountView
		post("/v1/accounts", map[string]any{"currency": "CNY"}, 201, &w)
		var funded models.Topup
		post("/v1/topups", topup(w.ID, 150000, "tok_success"), 202, &funded)
		wait("/v1/topups/"+funded.ID, &funded, "processing")
		require.Equal(t, models.TopupSucceeded, funded.Status)

		var wd models.Withdrawal
		post("/v1/withdrawals", map[string]any{"account_id": w.ID, "amount": 120000, "currency": "CNY",
			"destination": map[string]any{"bank_account": "ba_success"}}, 202, &wd)
		wait("/v1/withdrawals/"+wd.ID, &wd, "processing")
		require.Equal(t, models.WithdrawalPendingApproval, wd.Status)
		require.Equal(t, int64(120000), wallet(w.ID).Held)

		_, err := s.Bank(ctx, "POST", "/sim/faults", `{"processing_ms":3000}`)
		require.NoError(t, err)
		defer s.Bank(context.Background(), "POST", "/sim/faults", `{}`)
		var top models.Topup
		post("/v1/topups", topup(w.ID, 5000, "tok_processing"), 202, &top)
		waitAtBank(t, s, top.ID)

		start := time.Now()
		status, body := opsAct(t, s, "/v1/ops/merchants/"+m.ID+"/disable", `{"reason":"compliance hold"}`)
		require.Equal(t, 200, status, "%v", body)
		require.Equal(t, "disabled", body["status"])
		require.Less(t, time.Since(start), 2*time.Second, "the disable must answer at once")

		wait("/v1/withdrawals/"+wd.ID, &wd, "processing", "pending_approval")
		require.Equal(t, models.WithdrawalFailed, wd.Status)
		require.Equal(t, models.FailureMerchantDisabled, wd.FailureCode)
		require.Less(t, time.Since(start), 8*time.Second, "the withdrawal waited for its approval to expire (10 s)")
		require.Equal(t, 0, executions(t, s, wd.ID), "the withdrawal reached the bank")
		status, body = opsAct(t, s, "/v1/ops/withdrawals/"+wd.ID+"/approve", `{"reason":"too late"}`)
		require.Equal(t, 409, status, "%v", body)

		wait("/v1/topups/"+top.ID, &top, "processing")
		require.Equal(t, models.TopupFailed, top.Status)
		require.Equal(t, models.FailureMerchantDisabled, top.FailureCode)
		require.Equal(t, 1, executions(t, s, top.ID))
		require.Equal(t, 1, executions(t, s, models.ReversalReference(top.ID)), "the charge must be given back exactly once")

		a := wallet(w.ID)
		require.Equal(t, int64(150000), a.Balance, "the top-up was credited, or the withdrawal paid out")
		require.Equal(t, int64(150000), a.Available, "the withdrawal's hold was not released")
		require.Zero(t, a.Held)

		var refused struct{ Code string }
		post("/v1/topups", topup(w.ID, 1000, "tok_success"), 403, &refused)
		require.Equal(t, "merchant_disabled", refused.Code)
		post("/v1/withdrawals", map[string]any{"account_id": w.ID, "amount": 1000, "currency": "CNY",
			"destination": map[string]any{"bank_account": "ba_success"}}, 403, &refused)
		require.Equal(t, "merchant_disabled", refused.Code)
		require.True(t, ledgerCheck(t, s).OK)

		// Enabled again, the merchant moves money again.
		status, _ = opsAct(t, s, "/v1/ops/merchants/"+m.ID+"/enable", `{"reason":"cleared"}`)
		require.Equal(t, 200, status)
		var after models.Topup
		post("/v1/topups", topup(w.ID, 1000, "tok_success"), 202, &after)
		wait("/v1/topups/"+after.ID, &after, "processing")
		require.Equal(t, models.TopupSucceeded, after.Status)
	})
}

// A merchant disabled while the bank is down, with a card payment and a top-up of its
// own posted before the disable and not yet charged (the bank refused every request
// before acting): once the bank is back, neither charge is sent (the customer sees no
// charge and no refund), both end failed merchant_disabled, and the wallet and the
// ledger are as before.
func TestDisabledMerchantChargesNeverSent(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		m := onboard(t, s, `{"name":"E2E Not Charged"}`)
		c := s.ClientFor(0, m.ID, m.Secret)
		post := func(path string, body map[string]any, out any) {
			t.Helper()
			r, err := c.Post(ctx, path, body, "e2e-"+models.NewID(""))
			require.NoError(t, err)
			require.Contains(t, []int{201, 202}, r.Status, "%s", r.Body)
			require.NoError(t, r.JSON(out))
		}
		wait := func(path string, out any) {
			t.Helper()
			wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			_, last, err := c.WaitStatus(wctx, path, 200*time.Millisecond, "processing")
			require.NoError(t, err)
			require.NoError(t, last.JSON(out))
		}
		var w accountView
		post("/v1/accounts", map[string]any{"currency": "CNY"}, &w)

		setBankFaults(t, s, `{"down":true}`)
		defer s.Bank(context.Background(), "POST", "/sim/faults", `{}`)
		var p models.Payment
		post("/v1/payments", card(2500, "tok_success"), &p)
		var top models.Topup
		post("/v1/topups", map[string]any{"account_id": w.ID, "amount": 3000, "currency": "CNY",
			"source": map[string]any{"type": "card", "token": "tok_success"}}, &top)
		status, body := opsAct(t, s, "/v1/ops/merchants/"+m.ID+"/disable", `{"reason":"compliance hold"}`)
		require.Equal(t, 200, status, "%v", body)
		setBankFaults(t, s, `{}`)

		wait("/v1/payments/"+p.ID, &p)
		require.Equal(t, models.PaymentFailed, p.Status)
		require.Equal(t, models.FailureMerchantDisabled, p.FailureCode)
		wait("/v1/topups/"+top.ID, &top)
		require.Equal(t, models.TopupFailed, top.Status)
		require.Equal(t, models.FailureMerchantDisabled, top.FailureCode)
		for _, ref := range []string{p.ID, top.ID, models.ReversalReference(p.ID), models.ReversalReference(top.ID)} {
			require.Zero(t, executions(t, s, ref), "%s reached the bank", ref)
		}
		r, err := c.Get(ctx, "/v1/accounts/"+w.ID)
		require.NoError(t, err)
		var a accountView
		require.NoError(t, r.JSON(&a))
		require.Zero(t, a.Balance)
		require.True(t, ledgerCheck(t, s).OK)
	})
}
