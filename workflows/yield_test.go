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

func yieldInput() models.YieldInput {
	return models.YieldInput{RunID: "yr_test1", ProductID: models.YieldProduct, Date: "2026-03-01"}
}

var yieldRanges = []models.YieldRange{{After: "", UpTo: "acct_b"}, {After: "acct_b", UpTo: "acct_d"}, {After: "acct_d", UpTo: ""}}

// rangeTotals are what each range credits in these tests.
var rangeTotals = []models.YieldTotals{{Wallets: 2, Credited: 10, Carried: 7}, {Wallets: 2, Credited: 20, Carried: 9}, {Wallets: 1, Credited: 5, Carried: 1}}

// The income is published hours late: the workflow keeps asking (with time skipping)
// until it is, then credits every range with it once and records the run's totals.
func TestYieldWaitsForLateIncome(t *testing.T) {
	env := newEnv(t)
	start := env.Now()
	notYet := temporal.NewApplicationError("income of 2026-03-01: not found", models.ErrTypeIncomeNotPublished)
	var publishedAt time.Time
	env.OnActivity(yieldActs.YieldIncome, mock.Anything, models.YieldIncomeInput{ProductID: models.YieldProduct, Date: "2026-03-01"}).
		Return(models.YieldIncomeResult{}, notYet).Times(20)
	env.OnActivity(yieldActs.YieldIncome, mock.Anything, mock.Anything).
		Run(func(mock.Arguments) { publishedAt = env.Now() }).
		Return(models.YieldIncomeResult{IncomePer10k: 512300}, nil).Once()
	env.OnActivity(yieldActs.PlanYieldRanges, mock.Anything, models.PlanYieldRangesInput{Date: "2026-03-01", RangeSize: YieldRangeSize, MaxRanges: YieldMaxRanges}).
		Return(models.PlanYieldRangesResult{Ranges: yieldRanges}, nil).Once()
	for i, r := range yieldRanges {
		env.OnActivity(yieldActs.CreditYieldRange, mock.Anything, models.CreditYieldRangeInput{RunID: "yr_test1", Date: "2026-03-01", IncomePer10k: 512300, Range: r}).
			Return(models.CreditYieldRangeResult{Totals: rangeTotals[i]}, nil).Once()
	}
	want := models.YieldTotals{Wallets: 5, Credited: 35, Carried: 17}
	env.OnActivity(yieldActs.FinishYieldRun, mock.Anything, models.FinishYieldRunInput{
		RunID: "yr_test1", Status: models.YieldRunCompleted, IncomePer10k: 512300, Totals: want,
	}).Return(models.FinishYieldRunResult{Recorded: true}, nil).Once()

	env.ExecuteWorkflow(YieldWorkflow, yieldInput())
	res := resultOf[models.YieldResult](t, env)
	require.Equal(t, models.YieldResult{RunID: "yr_test1", Status: models.YieldRunCompleted, IncomePer10k: 512300, Ranges: 3, Totals: want}, res)
	require.Greater(t, publishedAt.Sub(start), 90*time.Minute, "twenty refusals, the wait doubling up to ten minutes")
	st := queryState[YieldState](t, env)
	require.Equal(t, 3, st.RangesDone)
	require.Equal(t, models.YieldRunCompleted, st.Status)
}

// A range whose worker died is retried (the activity resumes from its heartbeat, see
// activities' TestCreditYieldRangeResumes); the run counts the retry's totals once.
func TestYieldRetriesARange(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(yieldActs.YieldIncome, mock.Anything, mock.Anything).Return(models.YieldIncomeResult{IncomePer10k: 1000}, nil).Once()
	env.OnActivity(yieldActs.PlanYieldRanges, mock.Anything, mock.Anything).Return(models.PlanYieldRangesResult{Ranges: yieldRanges}, nil).Once()
	env.OnActivity(yieldActs.CreditYieldRange, mock.Anything, mock.MatchedBy(func(in models.CreditYieldRangeInput) bool { return in.Range == yieldRanges[1] })).
		Return(models.CreditYieldRangeResult{}, temporal.NewApplicationError("worker lost", models.ErrTypeInterrupted)).Once()
	for i, r := range yieldRanges {
		env.OnActivity(yieldActs.CreditYieldRange, mock.Anything, mock.MatchedBy(func(in models.CreditYieldRangeInput) bool { return in.Range == r })).
			Return(models.CreditYieldRangeResult{Totals: rangeTotals[i], Resumed: i == 1}, nil).Once()
	}
	env.OnActivity(yieldActs.FinishYieldRun, mock.Anything, mock.MatchedBy(func(in models.FinishYieldRunInput) bool {
		return in.Status == models.YieldRunCompleted && in.Totals == models.YieldTotals{Wallets: 5, Credited: 35, Carried: 17}
	})).Return(models.FinishYieldRunResult{Recorded: true}, nil).Once()

	env.ExecuteWorkflow(YieldWorkflow, yieldInput())
	require.Equal(t, int64(35), resultOf[models.YieldResult](t, env).Totals.Credited)
}

// A credit the ledger refuses is not retried: the run records that it failed, with
// the code and what the other ranges credited, and fails.
func TestYieldRecordsFailure(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(yieldActs.YieldIncome, mock.Anything, mock.Anything).Return(models.YieldIncomeResult{IncomePer10k: 1000}, nil).Once()
	env.OnActivity(yieldActs.PlanYieldRanges, mock.Anything, mock.Anything).Return(models.PlanYieldRangesResult{Ranges: yieldRanges[:2]}, nil).Once()
	env.OnActivity(yieldActs.CreditYieldRange, mock.Anything, mock.MatchedBy(func(in models.CreditYieldRangeInput) bool { return in.Range == yieldRanges[0] })).
		Return(models.CreditYieldRangeResult{Totals: rangeTotals[0]}, nil).Once()
	env.OnActivity(yieldActs.CreditYieldRange, mock.Anything, mock.MatchedBy(func(in models.CreditYieldRangeInput) bool { return in.Range == yieldRanges[1] })).
		Return(models.CreditYieldRangeResult{}, temporal.NewNonRetryableApplicationError("refused", models.ErrTypeLedgerRejected, nil)).Once()
	env.OnActivity(yieldActs.FinishYieldRun, mock.Anything, models.FinishYieldRunInput{
		RunID: "yr_test1", Status: models.YieldRunFailed, IncomePer10k: 1000, Totals: rangeTotals[0], Error: models.ErrTypeLedgerRejected,
	}).Return(models.FinishYieldRunResult{Recorded: true}, nil).Once()

	env.ExecuteWorkflow(YieldWorkflow, yieldInput())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	require.Equal(t, models.ErrTypeLedgerRejected, appErr.Type())
}

// The schedule's firing at 01:00 UTC on March 2nd (09:00 in Shanghai) opens the run
// of March 1st.
func TestScheduledYieldOpensThePreviousDay(t *testing.T) {
	env := newEnv(t)
	env.SetStartTime(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC))
	env.OnActivity(yieldActs.OpenYieldRun, mock.Anything, models.OpenYieldRunInput{ProductID: models.YieldProduct, Date: "2026-03-01"}).
		Return(models.OpenYieldRunResult{RunID: "yr_x", Status: models.YieldRunRunning, Created: true}, nil).Once()
	env.ExecuteWorkflow(ScheduledYieldWorkflow, models.ScheduledYieldInput{ProductID: models.YieldProduct})
	res := resultOf[models.ScheduledYieldResult](t, env)
	require.Equal(t, models.ScheduledYieldResult{RunID: "yr_x", WorkflowID: "yield/prd_mmf/2026-03-01", Date: "2026-03-01", Created: true}, res)
}

func TestYieldRefusesBadInput(t *testing.T) {
	for _, in := range []models.YieldInput{
		{RunID: "yr_1", ProductID: "prd_bond", Date: "2026-03-01"},
		{RunID: "yr_1", ProductID: models.YieldProduct, Date: "2026-3-1"},
		{RunID: "rec_1", ProductID: models.YieldProduct, Date: "2026-03-01"},
	} {
		env := newEnv(t)
		env.ExecuteWorkflow(YieldWorkflow, in)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(env.GetWorkflowError(), &appErr), "%+v", in)
		require.Equal(t, models.ErrTypeInvalidInput, appErr.Type())
	}
}
