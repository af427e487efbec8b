package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// YieldRangeSize is how many opted-in wallets a range of a day's run holds at least,
// and YieldMaxRanges how many ranges a run has at most (the size grows past a run of
// YieldRangeSize × YieldMaxRanges wallets): 100 ranges for a million wallets, 1,000
// of 100,000 for a hundred million. Each range is one heartbeating activity, so a
// run's history stays a few thousand events and any number of workers share the
// ranges (docs/capacity.md, "Balance yield").
const (
	YieldRangeSize = 10_000
	YieldMaxRanges = 1_000
)

// YieldState answers the state query of a day's run: its status, its ranges and
// how many are done, and the totals of the ranges done.
type YieldState struct {
	RunID        string                `json:"run_id"`
	Date         string                `json:"date"`
	Status       models.YieldRunStatus `json:"status"`
	IncomePer10k int64                 `json:"income_per_10k"`
	Ranges       int                   `json:"ranges"`
	RangesDone   int                   `json:"ranges_done"`
	Totals       models.YieldTotals    `json:"totals"`
}

// YieldWorkflow is a day's balance yield run (yield/<product>/<date>): it waits for
// the fund company's income of the day (published late, the activity is retried until
// it is), splits the opted-in wallets into ranges by account id, credits every range
// in its own heartbeating activity (all scheduled at once, so that every worker
// polling the queue takes some), and records the run's totals. A run that cannot
// finish (the income never published, the ledger refusing credits) records that it
// failed, with what its finished ranges credited, and fails; opening the day again
// runs it again, crediting only what its wallets still lack.
func YieldWorkflow(ctx workflow.Context, in models.YieldInput) (models.YieldResult, error) {
	if _, err := models.YieldDayEnd(in.Date); err != nil || in.ProductID != models.YieldProduct || !models.ValidID(models.PrefixYieldRun, in.RunID) {
		return models.YieldResult{}, invalidInput("invalid yield input %q %q %q", in.RunID, in.ProductID, in.Date)
	}
	logger := log.With(workflow.GetLogger(ctx), "yield_run_id", in.RunID, "product_id", in.ProductID, "date", in.Date)
	st := YieldState{RunID: in.RunID, Date: in.Date, Status: models.YieldRunRunning}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (YieldState, error) { return st, nil }); err != nil {
		return models.YieldResult{}, err
	}
	fail := func(err error) (models.YieldResult, error) {
		logger.Error("yield run failed", "error", err)
		code := errorCode(err)
		if ferr := finishYield(ctx, models.FinishYieldRunInput{
			RunID: in.RunID, Status: models.YieldRunFailed, IncomePer10k: st.IncomePer10k, Totals: st.Totals, Error: code,
		}); ferr != nil {
			return models.YieldResult{}, ferr
		}
		st.Status = models.YieldRunFailed
		return models.YieldResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("yield %s %s", in.ProductID, in.Date), code, err)
	}

	var income models.YieldIncomeResult
	if err := workflow.ExecuteActivity(yieldIncomeOptions(ctx), yieldActs.YieldIncome, models.YieldIncomeInput{
		ProductID: in.ProductID, Date: in.Date,
	}).Get(ctx, &income); err != nil {
		return fail(err)
	}
	st.IncomePer10k = income.IncomePer10k

	var plan models.PlanYieldRangesResult
	if err := workflow.ExecuteActivity(openActivityOptions(ctx), yieldActs.PlanYieldRanges, models.PlanYieldRangesInput{
		Date: in.Date, RangeSize: YieldRangeSize, MaxRanges: YieldMaxRanges,
	}).Get(ctx, &plan); err != nil {
		return fail(err)
	}
	if len(plan.Ranges) == 0 || len(plan.Ranges) > YieldMaxRanges {
		return fail(invalidInput("a plan of %d ranges", len(plan.Ranges)))
	}
	st.Ranges = len(plan.Ranges)

	rctx := yieldRangeOptions(ctx)
	futures := make([]workflow.Future, len(plan.Ranges))
	for i, r := range plan.Ranges {
		futures[i] = workflow.ExecuteActivity(rctx, yieldActs.CreditYieldRange, models.CreditYieldRangeInput{
			RunID: in.RunID, Date: in.Date, IncomePer10k: income.IncomePer10k, Range: r,
		})
	}
	var firstErr error
	for _, f := range futures {
		var res models.CreditYieldRangeResult
		if err := f.Get(ctx, &res); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		st.RangesDone++
		st.Totals = st.Totals.Add(res.Totals)
	}
	if firstErr != nil {
		return fail(firstErr)
	}
	if err := finishYield(ctx, models.FinishYieldRunInput{
		RunID: in.RunID, Status: models.YieldRunCompleted, IncomePer10k: income.IncomePer10k, Totals: st.Totals,
	}); err != nil {
		return models.YieldResult{}, err
	}
	st.Status = models.YieldRunCompleted
	logger.Info("yield run finished", "ranges", st.Ranges, "wallets", st.Totals.Wallets, "credited", st.Totals.Credited)
	return models.YieldResult{RunID: in.RunID, Status: models.YieldRunCompleted, IncomePer10k: income.IncomePer10k, Ranges: st.Ranges, Totals: st.Totals}, nil
}

// finishYield records a run's end (a short database step, as a local activity).
func finishYield(ctx workflow.Context, in models.FinishYieldRunInput) error {
	var res models.FinishYieldRunResult
	if err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), yieldActs.FinishYieldRun, in).Get(ctx, &res); err != nil {
		return fmt.Errorf("record the end of %s: %w", in.RunID, err)
	}
	return nil
}

// ScheduledYieldWorkflow is the action of the yield schedule (yield/<product>): a
// Schedule names its workflows itself, so this short workflow opens the run of the
// day before the scheduled time (Asia/Shanghai calendar, from the
// TemporalScheduledStartTime the Schedule sets, so that a firing late after an outage
// still takes the right day), yield/<product>/<date>, exactly as an operator's request
// would.
func ScheduledYieldWorkflow(ctx workflow.Context, in models.ScheduledYieldInput) (models.ScheduledYieldResult, error) {
	if in.ProductID != models.YieldProduct {
		return models.ScheduledYieldResult{}, invalidInput("scheduled yield of product %q", in.ProductID)
	}
	at, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(SAScheduledStartTime)
	if !ok {
		at = workflow.GetInfo(ctx).WorkflowStartTime
	}
	day := models.PreviousYieldDay(at)
	var res models.OpenYieldRunResult
	if err := workflow.ExecuteActivity(openActivityOptions(ctx), yieldActs.OpenYieldRun, models.OpenYieldRunInput{
		ProductID: in.ProductID, Date: day,
	}).Get(ctx, &res); err != nil {
		return models.ScheduledYieldResult{}, fmt.Errorf("open the yield run of %s %s: %w", in.ProductID, day, err)
	}
	workflow.GetLogger(ctx).Info("scheduled yield run opened", "yield_run_id", res.RunID, "date", day, "created", res.Created)
	return models.ScheduledYieldResult{RunID: res.RunID, WorkflowID: YieldWorkflowID(in.ProductID, day), Date: day, Created: res.Created}, nil
}

// YieldWorkflowID is yield/<product>/<YYYY-MM-DD>: the day's run.
func YieldWorkflowID(productID, date string) string { return models.YieldWorkflowID(productID, date) }

// YieldScheduleID is yield/<product>: the Temporal Schedule that runs the product's
// yield every day.
func YieldScheduleID(productID string) string {
	return fmt.Sprintf("%s/%s", models.FlowYield, productID)
}

// yieldIncomeOptions are for asking the day's income: the fund company publishes it
// once the day is over, sometimes hours late, so a "not published" answer is retried
// (the wait doubling up to ten minutes) for two days before the run fails.
func yieldIncomeOptions(ctx workflow.Context) workflow.Context {
	o := retried(30*time.Second, 48*time.Hour, 10*time.Minute, models.ErrTypeInvalidInput)
	// Two days of ten-minute waits are about 300 attempts; the SDK's test environment
	// stops a policy without a maximum at 10.
	o.RetryPolicy.MaximumAttempts = 1000
	return workflow.WithActivityOptions(ctx, o)
}

// yieldRangeOptions are for one range's crediting: it heartbeats every page and every
// few seconds, so a dead worker is noticed after a minute and the retry resumes from
// the last checkpoint. A range may wait in the queue behind the others (all are
// scheduled at once), hence the day of ScheduleToClose.
func yieldRangeOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, heartbeating(2*time.Hour, 24*time.Hour, time.Minute,
		models.ErrTypeInvalidInput, models.ErrTypeLedgerRejected))
}
