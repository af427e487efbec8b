package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/models"
)

func card(amount int64, token string) map[string]any {
	return map[string]any{"amount": amount, "currency": "CNY", "source": map[string]any{"type": "card", "token": token}}
}

// createPayment posts a payment and returns it (202 expected).
func createPayment(t *testing.T, s *Stack, body map[string]any) models.Payment {
	t.Helper()
	r, err := s.Client(0).Post(context.Background(), "/v1/payments", body, "e2e-"+models.NewID(""))
	require.NoError(t, err)
	require.Equal(t, 202, r.Status, "%s", r.Body)
	var p models.Payment
	require.NoError(t, r.JSON(&p))
	require.Equal(t, models.PaymentProcessing, p.Status)
	return p
}

// waitPayment polls until the payment leaves processing.
func waitPayment(t *testing.T, s *Stack, id string, within time.Duration) models.Payment {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	_, r, err := s.Client(0).WaitStatus(ctx, "/v1/payments/"+id, 200*time.Millisecond, "processing")
	require.NoError(t, err)
	var p models.Payment
	require.NoError(t, r.JSON(&p))
	return p
}

func executions(t *testing.T, s *Stack, ref string) int {
	t.Helper()
	r, err := s.Bank(context.Background(), "GET", "/sim/executions?reference="+ref, "")
	require.NoError(t, err)
	require.Equal(t, 200, r.Status)
	var e struct{ Count int }
	require.NoError(t, json.Unmarshal(r.Body, &e))
	return e.Count
}

// waitAtBank polls until the bank has accepted the reference for execution: a flow
// whose charge is at the bank (disabling its merchant before that stops the charge
// from leaving at all).
func waitAtBank(t *testing.T, s *Stack, ref string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for executions(t, s, ref) == 0 {
		require.True(t, time.Now().Before(deadline), "%s never reached the bank", ref)
		time.Sleep(100 * time.Millisecond)
	}
}

func ledgerCheck(t *testing.T, s *Stack) ledger.CheckReport {
	t.Helper()
	r, err := s.Ops(context.Background(), "GET", "/v1/ops/ledger/check", "")
	require.NoError(t, err)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	var rep ledger.CheckReport
	require.NoError(t, json.Unmarshal(r.Body, &rep))
	return rep
}

func TestCardPaymentsEndToEnd(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		tests := []struct {
			token  string
			status models.PaymentStatus
			code   models.FailureCode
		}{
			{"tok_success", models.PaymentSucceeded, ""},
			{"tok_decline", models.PaymentFailed, models.FailureCardDeclined},
			{"tok_insufficient_funds", models.PaymentFailed, models.FailureInsufficientFunds},
			{"tok_processing", models.PaymentSucceeded, ""},
			{"tok_flaky", models.PaymentSucceeded, ""},
			{"tok_timeout_success", models.PaymentSucceeded, ""},
		}
		for _, tc := range tests {
			t.Run(tc.token, func(t *testing.T) {
				t.Parallel()
				p := createPayment(t, s, card(1050, tc.token))
				got := waitPayment(t, s, p.ID, 90*time.Second)
				require.Equal(t, tc.status, got.Status)
				require.Equal(t, tc.code, got.FailureCode)
				require.Equal(t, "banksim", got.Channel)
				require.Equal(t, 1, executions(t, s, p.ID), "the bank executed %s more than once", p.ID)
			})
		}
	})
	eachStack(t, func(t *testing.T, s *Stack) {
		rep := ledgerCheck(t, s)
		require.True(t, rep.OK, "%+v", rep)
		require.Positive(t, rep.Journals)
	})
}

// A payment runs as the workflow payment/<merchant>/<pay_id> with its search
// attributes, and answers the state query.
func TestPaymentWorkflowIsVisibleInTemporal(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		c := temporalClient(t, s)
		p := createPayment(t, s, card(2500, "tok_success"))
		require.Equal(t, fmt.Sprintf("payment/mch_demo/%s", p.ID), p.WorkflowID)
		waitPayment(t, s, p.ID, 60*time.Second)
		ctx := context.Background()
		d, err := c.DescribeWorkflowExecution(ctx, p.WorkflowID, "")
		require.NoError(t, err)
		require.Equal(t, s.TaskQueue, d.ExecutionConfig.TaskQueue.Name)
		sa := d.WorkflowExecutionInfo.SearchAttributes.IndexedFields
		for _, k := range []string{"PayflowMerchant", "PayflowFlow", "PayflowStage", "PayflowChannel", "PayflowCurrency", "PayflowAmount"} {
			require.Contains(t, sa, k)
		}
		v, err := c.QueryWorkflow(ctx, p.WorkflowID, "", "state")
		require.NoError(t, err)
		var st models.FlowState
		require.NoError(t, v.Get(&st))
		require.Equal(t, models.StageDone, st.Stage)
		require.Equal(t, "succeeded", st.Status)
		// Found by a visibility query, as an operator would in Temporal Web.
		require.EventuallyWithT(t, func(ct *assertCollect) {
			resp, err := c.ListWorkflow(ctx, listReq(fmt.Sprintf(`PayflowMerchant="mch_demo" AND PayflowFlow="payment" AND WorkflowId=%q`, p.WorkflowID)))
			if !assertNoErr(ct, err) {
				return
			}
			assertLen(ct, resp.Executions, 1)
		}, 20*time.Second, 200*time.Millisecond)
	})
}

// Ten concurrent requests with one key against tok_timeout_success: one payment,
// one bank execution.
func TestConcurrentIdempotentRequests(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		key := "e2e-concurrent-" + models.NewID("")
		ids := make(chan string, 10)
		errs := make(chan error, 10)
		for i := 0; i < 10; i++ {
			go func() {
				r, err := s.Client(0).Post(context.Background(), "/v1/payments", card(777, "tok_timeout_success"), key)
				if err != nil {
					errs <- err
					return
				}
				var p models.Payment
				if r.Status != 202 || r.JSON(&p) != nil {
					errs <- fmt.Errorf("HTTP %d: %s", r.Status, r.Body)
					return
				}
				ids <- p.ID
			}()
		}
		var first string
		for i := 0; i < 10; i++ {
			select {
			case err := <-errs:
				t.Fatal(err)
			case id := <-ids:
				if first == "" {
					first = id
				}
				require.Equal(t, first, id)
			}
		}
		got := waitPayment(t, s, first, 90*time.Second)
		require.Equal(t, models.PaymentSucceeded, got.Status)
		require.Equal(t, 1, executions(t, s, first))
	})
}

func TestHealthAndReadiness(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		for _, path := range []string{"/healthz", "/readyz"} {
			r, err := s.Ops(context.Background(), "GET", path, "")
			require.NoError(t, err)
			require.Equal(t, 200, r.Status, "%s: %s", path, r.Body)
		}
	})
}
