package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

// Under bank faults (errors before acting, latency, duplicate and out-of-order
// callbacks) and a worker killed mid-flight, every payment ends, and the bank
// executed every reference exactly once.
func TestFaultsAndWorkerCrashNeverDoubleExecute(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		r, err := s.Bank(ctx, "POST", "/sim/faults", `{"error_rate":0.3,"latency_ms":100,"duplicate_callbacks":true,"processing_ms":1500}`)
		require.NoError(t, err)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		defer s.Bank(ctx, "POST", "/sim/faults", `{}`)

		tokens := []string{"tok_success", "tok_processing", "tok_flaky", "tok_timeout_success", "tok_decline", "tok_processing"}
		var ids []string
		for i := 0; i < 12; i++ {
			ids = append(ids, createPayment(t, s, card(int64(100+i), tokens[i%len(tokens)])).ID)
		}
		// Crash the worker while the payments are in flight, then start a new one.
		time.Sleep(500 * time.Millisecond)
		s.Workers[len(s.Workers)-1].Kill()
		_, err = s.StartWorker()
		require.NoError(t, err)

		for i, id := range ids {
			p := waitPayment(t, s, id, 120*time.Second)
			want := models.PaymentSucceeded
			if tokens[i%len(tokens)] == "tok_decline" {
				want = models.PaymentFailed
			}
			require.Equal(t, want, p.Status, "%s (%s): %s", id, tokens[i%len(tokens)], p.FailureCode)
			require.Equal(t, 1, executions(t, s, id), "%s executed more than once", id)
		}
		require.True(t, ledgerCheck(t, s).OK)
	})
}
