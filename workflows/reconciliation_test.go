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

func reconciliationInput() models.ReconciliationInput {
	return models.ReconciliationInput{ReconciliationID: "rec_test1", Channel: "banksim", Date: "2026-03-01"}
}

// The pass runs once, in the matching stage; its counts are recorded as the run's end
// and returned.
func TestReconciliationCompletes(t *testing.T) {
	env := newEnv(t)
	counts := models.ReconciliationCounts{StatementLines: 4, OurRecords: 4, Matched: 2, AmountMismatch: 1, MissingAtBank: 1, MissingOnOurSide: 1}
	env.OnActivity(reconActs.ReconcileStatement, mock.Anything, models.ReconcileStatementInput{ReconciliationID: "rec_test1", Channel: "banksim", Date: "2026-03-01"}).
		Run(func(mock.Arguments) {
			st := queryState[models.ReconciliationState](t, env)
			require.Equal(t, models.StageMatching, st.Stage)
			require.Equal(t, "running", st.Status)
			require.Equal(t, "rec_test1", st.ObjectID)
		}).
		Return(models.ReconcileStatementResult{Counts: counts, Resumed: true, SkippedLines: 7}, nil).Once()
	env.OnActivity(reconActs.CheckBalances, mock.Anything, models.CheckBalancesInput{ReconciliationID: "rec_test1", Channel: "banksim", Date: "2026-03-01"}).
		Run(func(mock.Arguments) {
			require.Equal(t, models.StageMatching, queryState[models.ReconciliationState](t, env).Stage)
		}).
		Return(models.CheckBalancesResult{Checked: true, BalanceGap: 1}, nil).Once()
	counts.BalanceGap = 1 // the balance check's gap is one of the run's differences
	env.OnActivity(reconActs.FinishReconciliation, mock.Anything, models.FinishReconciliationInput{
		ReconciliationID: "rec_test1", Status: models.ReconciliationCompleted, Counts: counts,
	}).Return(models.FinishReconciliationResult{Recorded: true}, nil).Once()

	env.ExecuteWorkflow(ReconciliationWorkflow, reconciliationInput())
	res := resultOf[models.ReconciliationResult](t, env)
	require.Equal(t, int64(4), res.Counts.Differences(), "three line differences and the balance gap")
	require.Equal(t, models.ReconciliationResult{
		ReconciliationID: "rec_test1", Status: models.ReconciliationCompleted, Counts: counts, Resumed: true, SkippedLines: 7,
	}, res)
	st := queryState[models.ReconciliationState](t, env)
	require.Equal(t, models.StageDone, st.Stage)
	require.Equal(t, "completed", st.Status)
	require.Equal(t, counts, *st.Counts)
}

// A statement that cannot be read is not retried: the run records that it failed,
// with the failure's type (not its text), and fails.
func TestReconciliationRecordsFailure(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(reconActs.ReconcileStatement, mock.Anything, mock.Anything).
		Return(models.ReconcileStatementResult{}, temporal.NewNonRetryableApplicationError("header is wrong", models.ErrTypeStatementUnreadable, nil)).Once()
	env.OnActivity(reconActs.FinishReconciliation, mock.Anything, models.FinishReconciliationInput{
		ReconciliationID: "rec_test1", Status: models.ReconciliationFailed, Error: models.ErrTypeStatementUnreadable,
	}).Return(models.FinishReconciliationResult{Recorded: true}, nil).Once()

	env.ExecuteWorkflow(ReconciliationWorkflow, reconciliationInput())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	require.Equal(t, models.ErrTypeStatementUnreadable, appErr.Type())
	st := queryState[models.ReconciliationState](t, env)
	require.Equal(t, "failed", st.Status)
	require.Equal(t, models.StageDone, st.Stage)
}

// An outage is retried with backoff until the pass succeeds.
func TestReconciliationRetriesOutages(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(reconActs.ReconcileStatement, mock.Anything, mock.Anything).
		Return(models.ReconcileStatementResult{}, temporal.NewApplicationError("statement: connection refused", models.ErrTypeBankUnavailable)).Twice()
	env.OnActivity(reconActs.ReconcileStatement, mock.Anything, mock.Anything).
		Return(models.ReconcileStatementResult{Counts: models.ReconciliationCounts{Matched: 1}}, nil).Once()
	env.OnActivity(reconActs.CheckBalances, mock.Anything, mock.Anything).
		Return(models.CheckBalancesResult{}, temporal.NewApplicationError("balances: connection refused", models.ErrTypeBankUnavailable)).Once()
	env.OnActivity(reconActs.CheckBalances, mock.Anything, mock.Anything).Return(models.CheckBalancesResult{Checked: true}, nil).Once()
	env.OnActivity(reconActs.FinishReconciliation, mock.Anything, mock.MatchedBy(func(in models.FinishReconciliationInput) bool {
		return in.Status == models.ReconciliationCompleted && in.Counts.Matched == 1
	})).Return(models.FinishReconciliationResult{Recorded: true}, nil).Once()
	env.ExecuteWorkflow(ReconciliationWorkflow, reconciliationInput())
	require.NoError(t, env.GetWorkflowError())
}

// A balance check that cannot be done fails the run as a statement that cannot be
// read does; a channel without balances (not checked) completes with no balance gap.
func TestReconciliationBalanceCheck(t *testing.T) {
	tests := []struct {
		name       string
		res        models.CheckBalancesResult
		err        error
		wantStatus models.ReconciliationStatus
		wantError  string
	}{
		{"not checked", models.CheckBalancesResult{}, nil, models.ReconciliationCompleted, ""},
		{"two gaps", models.CheckBalancesResult{Checked: true, BalanceGap: 2}, nil, models.ReconciliationCompleted, ""},
		{"refused", models.CheckBalancesResult{}, temporal.NewNonRetryableApplicationError("unknown channel", models.ErrTypeInvalidInput, nil),
			models.ReconciliationFailed, models.ErrTypeInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			counts := models.ReconciliationCounts{StatementLines: 1, OurRecords: 1, Matched: 1}
			env.OnActivity(reconActs.ReconcileStatement, mock.Anything, mock.Anything).
				Return(models.ReconcileStatementResult{Counts: counts}, nil).Once()
			env.OnActivity(reconActs.CheckBalances, mock.Anything, mock.Anything).Return(tc.res, tc.err).Once()
			want := models.FinishReconciliationInput{ReconciliationID: "rec_test1", Status: tc.wantStatus, Error: tc.wantError}
			if tc.wantStatus == models.ReconciliationCompleted {
				want.Counts = counts
				want.Counts.BalanceGap = tc.res.BalanceGap
			}
			env.OnActivity(reconActs.FinishReconciliation, mock.Anything, want).Return(models.FinishReconciliationResult{Recorded: true}, nil).Once()
			env.ExecuteWorkflow(ReconciliationWorkflow, reconciliationInput())
			if tc.wantError != "" {
				var appErr *temporal.ApplicationError
				require.True(t, errors.As(env.GetWorkflowError(), &appErr))
				require.Equal(t, tc.wantError, appErr.Type())
				return
			}
			res := resultOf[models.ReconciliationResult](t, env)
			require.Equal(t, tc.res.BalanceGap, res.Counts.BalanceGap)
			env.AssertExpectations(t)
		})
	}
}

func TestReconciliationRejectsBadInput(t *testing.T) {
	for _, in := range []models.ReconciliationInput{
		{ReconciliationID: "rec_1", Channel: "banksim", Date: "2026-3-1"},
		{ReconciliationID: "pay_1", Channel: "banksim", Date: "2026-03-01"},
		{ReconciliationID: "rec_1", Channel: "", Date: "2026-03-01"},
	} {
		env := newEnv(t)
		env.ExecuteWorkflow(ReconciliationWorkflow, in)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(env.GetWorkflowError(), &appErr), "%+v", in)
		require.Equal(t, models.ErrTypeInvalidInput, appErr.Type())
	}
}

// A schedule firing (for 02:00 on March 2nd, even when it starts late) opens the run
// of March 1st.
func TestScheduledReconciliationTakesThePreviousDay(t *testing.T) {
	tests := []struct {
		name      string
		scheduled *time.Time
		started   time.Time
		want      string
	}{
		{"on time", ptr(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)), time.Date(2026, 3, 2, 2, 0, 1, 0, time.UTC), "2026-03-01"},
		{"late after an outage", ptr(time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC)), time.Date(2026, 3, 3, 0, 30, 0, 0, time.UTC), "2026-03-01"},
		{"new year", ptr(time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC)), time.Date(2027, 1, 1, 2, 0, 0, 0, time.UTC), "2026-12-31"},
		{"started by hand", nil, time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC), "2026-03-09"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			env.SetStartTime(tc.started)
			if tc.scheduled != nil {
				require.NoError(t, env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(SAScheduledStartTime.ValueSet(*tc.scheduled))))
			}
			env.OnActivity(reconActs.OpenReconciliation, mock.Anything, models.OpenReconciliationInput{Channel: "banksim", Date: tc.want}).
				Return(models.OpenReconciliationResult{ReconciliationID: "rec_x", Status: models.ReconciliationRunning, Created: true}, nil).Once()
			env.ExecuteWorkflow(ScheduledReconciliationWorkflow, models.ScheduledReconciliationInput{Channel: "banksim"})
			res := resultOf[models.ScheduledReconciliationResult](t, env)
			require.Equal(t, models.ScheduledReconciliationResult{
				ReconciliationID: "rec_x", WorkflowID: "reconciliation/banksim/" + tc.want, Date: tc.want, Created: true,
			}, res)
		})
	}
}

func TestReconciliationIDs(t *testing.T) {
	id := ReconciliationWorkflowID("banksim", "2026-03-01")
	require.Equal(t, "reconciliation/banksim/2026-03-01", id)
	ch, day, err := ParseReconciliationWorkflowID(id)
	require.NoError(t, err)
	require.Equal(t, []string{"banksim", "2026-03-01"}, []string{ch, day})
	for _, bad := range []string{"payment/mch/pay_1", "reconciliation/banksim", "reconciliation//2026-03-01", "reconciliation/banksim/2026-3-1"} {
		_, _, err := ParseReconciliationWorkflowID(bad)
		require.Error(t, err, bad)
	}
	require.Equal(t, "reconciliation/banksim", ReconciliationScheduleID("banksim"))
}

func ptr[T any](v T) *T { return &v }
