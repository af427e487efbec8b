package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

type flowList struct {
	Data []struct {
		ID         string `json:"id"`
		WorkflowID string `json:"workflow_id"`
		Flow       string `json:"flow"`
		Stage      string `json:"stage"`
	} `json:"data"`
}

// A stuck payment (the bank completed it, its callback is delayed for ten minutes
// and the next poll is a minute away) is found by the ops API and by a visibility
// query, retried to success by an operator, and the act is audited. Another is
// canceled: the charge is refunded and the payment ends failed canceled.
func TestOperatorFindsRetriesAndCancelsStuckFlows(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		c := temporalClient(t, s)
		ctx := context.Background()
		_, err := s.Bank(ctx, "POST", "/sim/faults", `{"processing_ms":300,"callback_delay_ms":600000}`)
		require.NoError(t, err)
		defer s.Bank(ctx, "POST", "/sim/faults", `{}`)

		stuck := createPayment(t, s, card(3100, "tok_processing"))
		other := createPayment(t, s, card(3200, "tok_processing"))
		for _, id := range []string{stuck.ID, other.ID} {
			require.EventuallyWithT(t, func(ct *assert.CollectT) {
				r, err := s.Ops(ctx, "GET", "/v1/ops/flows?flow=payment&stage=waiting_bank&merchant=mch_demo&older_than=0s", "")
				if !assert.NoError(ct, err) || !assert.Equal(ct, 200, r.Status, "%s", r.Body) {
					return
				}
				var l flowList
				assert.NoError(ct, json.Unmarshal(r.Body, &l))
				found := false
				for _, f := range l.Data {
					found = found || f.ID == id && f.WorkflowID == "payment/mch_demo/"+id
				}
				assert.True(ct, found, "%s not listed in %s", id, r.Body)
			}, 30*time.Second, 200*time.Millisecond)
		}
		// The same question as a visibility query, as an operator types it in Temporal Web.
		resp, err := c.ListWorkflow(ctx, listReq(fmt.Sprintf(
			`PayflowFlow="payment" AND PayflowStage="waiting_bank" AND WorkflowId=%q`, stuck.WorkflowID)))
		require.NoError(t, err)
		require.Len(t, resp.Executions, 1)

		// The bank has completed both charges; only their callbacks are late.
		for _, id := range []string{stuck.ID, other.ID} {
			require.EventuallyWithT(t, func(ct *assert.CollectT) {
				r, err := s.Bank(ctx, "GET", "/v1/transfers/"+id, "")
				if assert.NoError(ct, err) {
					assert.Contains(ct, string(r.Body), `"status":"succeeded"`)
				}
			}, 10*time.Second, 100*time.Millisecond)
		}
		status, body := opsAct(t, s, "/v1/ops/flows/"+stuck.ID+"/retry", `{"reason":"bank says it is done"}`)
		require.Equal(t, 200, status, "%v", body)
		got := waitPayment(t, s, stuck.ID, 30*time.Second)
		require.Equal(t, models.PaymentSucceeded, got.Status)
		status, _ = opsAct(t, s, "/v1/ops/flows/"+stuck.ID+"/retry", "")
		require.Equal(t, 409, status, "a finished flow cannot be retried")

		status, _ = opsAct(t, s, "/v1/ops/flows/"+other.ID+"/cancel", "")
		require.Equal(t, 400, status, "a cancel needs a reason")
		status, body = opsAct(t, s, "/v1/ops/flows/"+other.ID+"/cancel", `{"reason":"customer called to cancel"}`)
		require.Equal(t, 200, status, "%v", body)
		got = waitPayment(t, s, other.ID, 30*time.Second)
		require.Equal(t, models.PaymentFailed, got.Status)
		require.Equal(t, models.FailureCanceled, got.FailureCode)
		require.Equal(t, 1, executions(t, s, models.ReversalReference(other.ID)), "the canceled charge must be refunded once")

		r, err := s.Ops(ctx, "GET", "/v1/ops/audit?target="+stuck.ID, "")
		require.NoError(t, err)
		var audit struct{ Data []models.AuditEntry }
		require.NoError(t, json.Unmarshal(r.Body, &audit))
		require.Len(t, audit.Data, 2)
		require.Equal(t, "flow.retry", audit.Data[1].Action)
		require.Equal(t, "accepted", audit.Data[1].Result)
		require.Equal(t, "bank says it is done", audit.Data[1].Reason)
		require.NotEmpty(t, audit.Data[1].Operator)
		require.Equal(t, "refused", audit.Data[0].Result)
		require.True(t, ledgerCheck(t, s).OK)
	})
}
