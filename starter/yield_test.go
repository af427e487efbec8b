package starter_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
	"github.com/payflow/payflow/workflows"
)

// A day's run is the workflow yield/<product>/<date>, searchable by PayflowFlow; a
// failed run of the day may start again under the same id.
func TestStartYieldRun(t *testing.T) {
	c := &mocks.Client{}
	s := starter.New(c, starter.Config{TaskQueue: "q"})
	in := models.YieldInput{RunID: "yr_1", ProductID: "prd_mmf", Date: "2026-03-01"}
	c.On("ExecuteWorkflow", mock.Anything, mock.MatchedBy(func(o client.StartWorkflowOptions) bool {
		v, ok := o.TypedSearchAttributes.GetKeyword(workflows.SAFlow)
		return o.ID == "yield/prd_mmf/2026-03-01" && o.TaskQueue == "q" && ok && v == "yield" &&
			o.WorkflowIDReusePolicy == enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE &&
			o.WorkflowIDConflictPolicy == enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	}), mock.Anything, in).Return(nil, nil).Once()
	require.NoError(t, s.StartYieldRun(context.Background(), in))
	c.AssertExpectations(t)
}

// The schedule yield/prd_mmf fires at PAYFLOW_YIELD_AT every day (UTC) and runs
// ScheduledYieldWorkflow for the product; a time outside the day is refused.
func TestEnsureYieldSchedule(t *testing.T) {
	c := &mocks.Client{}
	sc := &mocks.ScheduleClient{}
	c.On("ScheduleClient").Return(sc)
	s := starter.New(c, starter.Config{TaskQueue: "q"})
	sc.On("Create", mock.Anything, mock.MatchedBy(func(o client.ScheduleOptions) bool {
		a, ok := o.Action.(*client.ScheduleWorkflowAction)
		cal := o.Spec.Calendars
		return o.ID == "yield/prd_mmf" && ok && a.Workflow == workflows.WorkflowScheduledYield && a.TaskQueue == "q" &&
			len(a.Args) == 1 && a.Args[0] == models.ScheduledYieldInput{ProductID: "prd_mmf"} &&
			len(cal) == 1 && cal[0].Hour[0].Start == 1 && cal[0].Minute[0].Start == 30 && o.Spec.TimeZoneName == "UTC" &&
			o.Overlap == enumspb.SCHEDULE_OVERLAP_POLICY_SKIP && o.CatchupWindow == 24*time.Hour
	})).Return(&mocks.ScheduleHandle{}, nil).Once()
	require.NoError(t, s.EnsureYieldSchedule(context.Background(), "prd_mmf", time.Hour+30*time.Minute))
	require.Error(t, s.EnsureYieldSchedule(context.Background(), "prd_mmf", 25*time.Hour))
	sc.AssertExpectations(t)
}

type yieldFlows struct {
	mu     sync.Mutex
	starts []models.YieldInput
}

func (f *yieldFlows) StartYieldRun(_ context.Context, in models.YieldInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, in)
	return nil
}

// Opening a day whose run failed runs it again: the same run, running, its flow
// started once more; a completed run is answered as it is.
func TestYieldOpenRunRestartsAFailedRun(t *testing.T) {
	db := testenv.Open(t, testenv.SQLite)
	st := store.New(db, nil)
	f := &yieldFlows{}
	now := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	svc := &starter.Yield{Deps: starter.Deps{Store: st, Ledger: ledger.New(db)}, Flows: f, Now: func() time.Time { return now }}
	ctx := context.Background()

	run, created, err := svc.OpenRun(ctx, "prd_mmf", "2026-03-01")
	require.NoError(t, err)
	require.True(t, created)
	_, err = st.FinishYieldRun(ctx, models.FinishYieldRunInput{RunID: run.ID, Status: models.YieldRunFailed, Error: "income_not_published"})
	require.NoError(t, err)

	again, created, err := svc.OpenRun(ctx, "prd_mmf", "2026-03-01")
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, run.ID, again.ID)
	require.Equal(t, models.YieldRunRunning, again.Status)
	require.Empty(t, again.Error)
	require.Len(t, f.starts, 2)

	_, err = st.FinishYieldRun(ctx, models.FinishYieldRunInput{RunID: run.ID, Status: models.YieldRunCompleted})
	require.NoError(t, err)
	done, _, err := svc.OpenRun(ctx, "prd_mmf", "2026-03-01")
	require.NoError(t, err)
	require.Equal(t, models.YieldRunCompleted, done.Status)
	require.Len(t, f.starts, 2, "a completed run is not started again")

	_, _, err = svc.OpenRun(ctx, "prd_mmf", "2026-03-02")
	require.ErrorIs(t, err, starter.ErrDateNotClosed)
}
