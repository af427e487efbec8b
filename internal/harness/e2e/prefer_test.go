package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/models"
)

// postPreferring sends a signed POST with an Idempotency-Key and a Prefer header.
func postPreferring(t *testing.T, s *Stack, target string, body any, key, prefer string) *client.Response {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	r, err := s.Client(0).Do(context.Background(), client.Request{Method: http.MethodPost, Target: target, Body: b, IdempotencyKey: key, Prefer: prefer})
	require.NoError(t, err)
	return r
}

// With Prefer: wait=N, a payment, refund or top-up the bank answers at once is
// answered 200 with its outcome (and its replay too); a payment the bank completes
// later than the wait is answered 202 processing, and ends as it would have.
func TestPreferWaitEndToEnd(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		key := "e2e-" + models.NewID("")
		start := time.Now()
		r := postPreferring(t, s, "/v1/payments", card(1050, "tok_success"), key, "wait=10")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Less(t, time.Since(start), 10*time.Second)
		require.Equal(t, "wait=10", r.Header.Get("Preference-Applied"))
		var p models.Payment
		require.NoError(t, r.JSON(&p))
		require.Equal(t, models.PaymentSucceeded, p.Status)
		require.Equal(t, 1, executions(t, s, p.ID))

		r = postPreferring(t, s, "/v1/payments", card(1050, "tok_success"), key, "wait=10")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		require.Equal(t, "true", r.Header.Get("Idempotent-Replayed"))
		var replay models.Payment
		require.NoError(t, r.JSON(&replay))
		require.Equal(t, p.ID, replay.ID)
		require.Equal(t, models.PaymentSucceeded, replay.Status)
		require.Equal(t, 1, executions(t, s, p.ID), "the replay executed nothing")

		r = postPreferring(t, s, "/v1/payments/"+p.ID+"/refunds", map[string]any{"amount": 400}, "e2e-"+models.NewID(""), "wait=10")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var re models.Refund
		require.NoError(t, r.JSON(&re))
		require.Equal(t, models.RefundSucceeded, re.Status)

		w := createWallet(t, s)
		r = postPreferring(t, s, "/v1/topups", map[string]any{
			"account_id": w.ID, "amount": 5000, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"},
		}, "e2e-"+models.NewID(""), "wait=10")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		var top models.Topup
		require.NoError(t, r.JSON(&top))
		require.Equal(t, models.TopupSucceeded, top.Status)

		// The bank simulator completes tok_processing two seconds later.
		start = time.Now()
		r = postPreferring(t, s, "/v1/payments", card(1050, "tok_processing"), "e2e-"+models.NewID(""), "wait=1")
		require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
		require.GreaterOrEqual(t, time.Since(start), time.Second, "the request waited")
		require.Empty(t, r.Header.Get("Preference-Applied"))
		var slow models.Payment
		require.NoError(t, r.JSON(&slow))
		require.Equal(t, models.PaymentProcessing, slow.Status)
		require.Equal(t, models.PaymentSucceeded, waitPayment(t, s, slow.ID, 90*time.Second).Status)
	})
}
