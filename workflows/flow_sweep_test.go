package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/models"
)

// A sweep runs the sweep activity with the schedule's grace, retries it when it fails
// (Temporal was down: the retry goes on from the marks), and returns what it did; a
// sweep that gives up fails the run, and the next firing starts over.
func TestFlowSweepWorkflow(t *testing.T) {
	until := time.Date(2026, 3, 1, 11, 59, 0, 0, time.UTC)
	done := models.SweepFlowsResult{Until: until, Kinds: []models.SweptKind{
		{Flow: models.FlowPayment, Started: 2, MarkCreatedAt: until.Add(-time.Minute), MarkID: "pay_b", Done: true},
		{Flow: models.FlowRefund, Done: true},
	}}
	unavailable := temporal.NewApplicationError("start the flow of pay_b: unavailable", "sweep_incomplete")
	tests := []struct {
		name string
		// results are the activity's attempts, in order.
		results []error
		wantErr string
	}{
		{"one sweep", []error{nil}, ""},
		{"retried after a failed start", []error{unavailable, nil}, ""},
		{"gives up", []error{temporal.NewNonRetryableApplicationError("gave up", "sweep_incomplete", nil)}, "sweep objects without a flow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			in := models.SweepFlowsInput{Grace: 90 * time.Second}
			for _, err := range tc.results {
				if err != nil {
					env.OnActivity(sweepActs.SweepFlows, mock.Anything, in).Return(models.SweepFlowsResult{}, err).Once()
				} else {
					env.OnActivity(sweepActs.SweepFlows, mock.Anything, in).Return(done, nil).Once()
				}
			}
			env.ExecuteWorkflow(FlowSweepWorkflow, models.FlowSweepInput{Grace: 90 * time.Second})
			env.AssertExpectations(t)
			require.True(t, env.IsWorkflowCompleted())
			if tc.wantErr != "" {
				err := env.GetWorkflowError()
				require.ErrorContains(t, err, tc.wantErr)
				var appErr *temporal.ApplicationError
				require.True(t, errors.As(err, &appErr))
				return
			}
			res := resultOf[models.FlowSweepResult](t, env)
			require.Equal(t, models.FlowSweepResult{Until: done.Until, Kinds: done.Kinds}, res)
		})
	}
}
