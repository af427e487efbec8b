package e2e

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// newPaymentCode draws a payment code of a wallet through the API.
func newPaymentCode(t *testing.T, s *Stack, wallet string) models.PaymentCode {
	t.Helper()
	r, err := s.Client(0).Do(context.Background(), client.Request{Method: "POST", Target: "/v1/accounts/" + wallet + "/payment_codes"})
	require.NoError(t, err)
	require.Equal(t, 201, r.Status, "%s", r.Body)
	var c models.PaymentCode
	require.NoError(t, r.JSON(&c))
	return c
}

// payByCode posts a payment with a payment code source, waiting up to 10 s for its
// outcome as a point of sale does (Prefer: wait=10), or not at all (wait false).
func payByCode(t *testing.T, s *Stack, code string, amount int64, wait bool) *client.Response {
	t.Helper()
	body, err := json.Marshal(map[string]any{"amount": amount, "currency": "CNY", "source": map[string]any{"type": "payment_code", "code": code}})
	require.NoError(t, err)
	prefer := ""
	if wait {
		prefer = "wait=10"
	}
	r, err := s.Client(0).Do(context.Background(), client.Request{
		Method: "POST", Target: "/v1/payments", Body: body, IdempotencyKey: "e2e-" + models.NewID(""), Prefer: prefer,
	})
	require.NoError(t, err)
	return r
}

// A point of sale scans a wallet's payment code: under the merchant's
// no_password_limit the payment succeeds at once and debits the wallet; the code
// pays once; over the limit the payment waits for the owner's confirmation and
// succeeds with it, or fails customer_not_confirmed without it and debits nothing;
// two points of sale with one code make one payment.
func TestWalletPaymentCodes(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		w := createWallet(t, s)
		require.Equal(t, models.TopupSucceeded, topUp(t, s, w.ID, 100000, "tok_success").Status)

		code := newPaymentCode(t, s, w.ID)
		require.Regexp(t, `^99[0-9]{16}$`, code.Code)
		r := payByCode(t, s, code.Code, 1500, true)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var p models.Payment
		require.NoError(t, r.JSON(&p))
		require.Equal(t, models.PaymentSucceeded, p.Status)
		require.Equal(t, models.SourcePaymentCode, p.Source.Type)
		require.Equal(t, w.ID, p.Source.AccountID)
		require.NotContains(t, string(r.Body), code.Code, "the code is shown masked")
		require.Equal(t, int64(98500), getWallet(t, s, w.ID).Balance)

		again := payByCode(t, s, code.Code, 1500, true)
		require.Equal(t, 422, again.Status, "%s", again.Body)
		require.Contains(t, string(again.Body), "invalid_source")
		require.Equal(t, int64(98500), getWallet(t, s, w.ID).Balance)

		// Over the limit (20000): confirmed by the wallet's owner.
		big := newPaymentCode(t, s, w.ID)
		r = payByCode(t, s, big.Code, 30000, false)
		require.Equal(t, 202, r.Status, "%s", r.Body)
		require.NoError(t, r.JSON(&p))
		require.True(t, p.ConfirmationRequired)
		st := flowState(t, s, p.WorkflowID)
		require.Equal(t, models.StageWaitingCustomer, st.Stage)
		wrong := createWallet(t, s)
		cr, err := s.Client(0).Post(ctx, "/v1/payments/"+p.ID+"/confirm", map[string]any{"account_id": wrong.ID}, "")
		require.NoError(t, err)
		require.Equal(t, 422, cr.Status, "%s", cr.Body)
		cr, err = s.Client(0).Post(ctx, "/v1/payments/"+p.ID+"/confirm", map[string]any{"account_id": w.ID}, "")
		require.NoError(t, err)
		require.Equal(t, 200, cr.Status, "%s", cr.Body)
		require.Equal(t, models.PaymentSucceeded, waitPayment(t, s, p.ID, 30*time.Second).Status)
		require.Equal(t, int64(68500), getWallet(t, s, w.ID).Balance)
		cr, err = s.Client(0).Post(ctx, "/v1/payments/"+p.ID+"/confirm", map[string]any{"account_id": w.ID}, "")
		require.NoError(t, err)
		require.Equal(t, 409, cr.Status, "a second confirmation: %s", cr.Body)

		// Over the limit, never confirmed: failed after the stack's 8 s, nothing debited.
		lost := newPaymentCode(t, s, w.ID)
		// The point of sale waits for the answer (Prefer: wait=10): the failure.
		r = payByCode(t, s, lost.Code, 25000, true)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var done models.Payment
		require.NoError(t, r.JSON(&done))
		require.Equal(t, models.PaymentFailed, done.Status)
		require.Equal(t, models.FailureCustomerNotConfirmed, done.FailureCode)
		require.Equal(t, int64(68500), getWallet(t, s, w.ID).Balance)

		// Two points of sale scan one code at once: one payment.
		race := newPaymentCode(t, s, w.ID)
		var wg sync.WaitGroup
		statuses := make([]int, 3)
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = payByCode(t, s, race.Code, 1000, true).Status
			}()
		}
		wg.Wait()
		won := 0
		for _, st := range statuses {
			if st == 200 || st == 202 {
				won++
			} else {
				require.Equal(t, 422, st)
			}
		}
		require.Equal(t, 1, won, "%v", statuses)
		require.Eventually(t, func() bool { return getWallet(t, s, w.ID).Balance == 67500 }, 30*time.Second, 200*time.Millisecond)
	})
}

// flowState asks a flow's `state` query.
func flowState(t *testing.T, s *Stack, workflowID string) models.FlowState {
	t.Helper()
	v, err := temporalClient(t, s).QueryWorkflow(context.Background(), workflowID, "", workflows.QueryState)
	require.NoError(t, err)
	var st models.FlowState
	require.NoError(t, v.Get(&st))
	return st
}
