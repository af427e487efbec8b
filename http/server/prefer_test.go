package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/http/internal/apitest"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// postPreferring sends a signed POST of the demo merchant with an Idempotency-Key and,
// when not empty, a Prefer header; it answers the status, headers and object.
func (a *api) postPreferring(t *testing.T, target, body, key, prefer string) (int, http.Header, models.Payment) {
	t.Helper()
	req := a.signed(t, http.MethodPost, target, []byte(body))
	req.Header.Set("Idempotency-Key", key)
	if prefer != "" {
		req.Header.Set("Prefer", prefer)
	}
	resp, b := apitest.Send(t, a.http, req)
	var p models.Payment
	require.NoError(t, json.Unmarshal(b, &p), string(b))
	return resp.StatusCode, resp.Header, p
}

// A payment whose flow ends within the wait the request prefers is answered 200 with
// its outcome and Preference-Applied; the replay of the request too; a wait over 10
// seconds is taken as 10.
func TestPreferWaitAnswersTheOutcome(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	a.starter.await = func(_ context.Context, workflowID string) (bool, error) {
		// The flow succeeds at once.
		_, _, id, err := workflows.ParseWorkflowID(workflowID)
		if err != nil {
			return false, err
		}
		return true, store.NewTx(a.db.DB).SetPaymentOutcome(id, store.PaymentOutcome{Status: models.PaymentSucceeded, Fee: 3})
	}
	body := `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`
	status, h, p := a.postPreferring(t, "/v1/payments", body, "k-wait", "wait=5")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "wait=5", h.Get("Preference-Applied"))
	require.Equal(t, models.PaymentSucceeded, p.Status)
	require.EqualValues(t, 3, p.Fee)

	status, h, replay := a.postPreferring(t, "/v1/payments", body, "k-wait", "wait=5")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "true", h.Get("Idempotent-Replayed"))
	require.Equal(t, "wait=5", h.Get("Preference-Applied"))
	require.Equal(t, p.ID, replay.ID)
	require.Equal(t, models.PaymentSucceeded, replay.Status)
	require.Equal(t, 2, a.starter.count(p.ID), "each request makes sure the one flow runs")

	status, h, p = a.postPreferring(t, "/v1/payments", body, "k-wait-long", "respond-async, wait=3600")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "wait=10", h.Get("Preference-Applied"))
	require.Equal(t, models.PaymentSucceeded, p.Status)
}

// A flow that does not end within the preferred wait is answered 202 processing, as
// without the header and without Preference-Applied; a malformed preference is
// ignored (no wait at all).
func TestPreferWaitEndsWith202WhenTheFlowIsSlow(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	body := `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_processing"}}`
	start := time.Now()
	status, h, p := a.postPreferring(t, "/v1/payments", body, "k-slow", "wait=1")
	require.Equal(t, http.StatusAccepted, status)
	require.GreaterOrEqual(t, time.Since(start), time.Second, "the request waited for the flow")
	require.Empty(t, h.Get("Preference-Applied"))
	require.Equal(t, models.PaymentProcessing, p.Status)

	for _, prefer := range []string{"wait=abc", "wait=0", "wait", "wait=-3", "wait=1.5"} {
		start := time.Now()
		status, h, p := a.postPreferring(t, "/v1/payments", body, "k-"+prefer, prefer)
		require.Equal(t, http.StatusAccepted, status, prefer)
		require.Less(t, time.Since(start), 900*time.Millisecond, "%s is ignored: no wait", prefer)
		require.Empty(t, h.Get("Preference-Applied"), prefer)
		require.Equal(t, models.PaymentProcessing, p.Status, prefer)
	}
}
