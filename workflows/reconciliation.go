package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// ReconciliationWorkflow reconciles one channel's statement of one UTC day with our
// bank transfer records: one long, heartbeating activity streams the comparison and
// stores the differences, a short one compares the day's balances at the bank with
// the ledger's clearing account (balance gaps), then the run's end is recorded. A run that cannot finish
// (an unreadable statement, a day of retries) records that it failed, and fails.
func ReconciliationWorkflow(ctx workflow.Context, in models.ReconciliationInput) (models.ReconciliationResult, error) {
	return runFlow(ctx, in, newReconciliationFlow)
}

type reconciliationFlow struct {
	*tracker
	in models.ReconciliationInput
	// counts are the run's counts once it completed.
	counts *models.ReconciliationCounts
}

// newReconciliationFlow validates the input and sets up the tracker, whose state
// query answers the reconciliation's state (its day and counts with the flow's).
func newReconciliationFlow(ctx workflow.Context, in models.ReconciliationInput) (*reconciliationFlow, error) {
	if _, err := models.ParseDay(in.Date); err != nil || in.Channel == "" || !models.ValidID(models.PrefixReconciliation, in.ReconciliationID) {
		return nil, invalidInput("invalid reconciliation input %q %q %q", in.ReconciliationID, in.Channel, in.Date)
	}
	t, err := newTracker(ctx, models.FlowState{
		Flow:     models.FlowReconciliation,
		ObjectID: in.ReconciliationID,
		Stage:    ReconciliationStageAtStart,
		Status:   string(models.ReconciliationRunning),
		Channel:  in.Channel,
	}, stateQuery, "reconciliation_id", in.ReconciliationID, "channel", in.Channel, "date", in.Date)
	if err != nil {
		return nil, err
	}
	r := &reconciliationFlow{tracker: t, in: in}
	t.view = func() any {
		return models.ReconciliationState{FlowState: r.state, Date: r.in.Date, Counts: r.counts}
	}
	return r, nil
}

// ReconciliationStageAtStart is the stage a reconciliation starts in (the starter sets
// it as the initial PayflowStage).
const ReconciliationStageAtStart = models.StageMatching

func (r *reconciliationFlow) run(ctx workflow.Context) (models.ReconciliationResult, error) {
	var res models.ReconcileStatementResult
	err := workflow.ExecuteActivity(reconcileActivityOptions(ctx), reconActs.ReconcileStatement, models.ReconcileStatementInput{
		ReconciliationID: r.in.ReconciliationID, Channel: r.in.Channel, Date: r.in.Date,
	}).Get(ctx, &res)
	if err == nil && checksBalances(ctx) {
		err = r.checkBalances(ctx, &res.Counts)
	}
	r.setStage(ctx, models.StageReporting)
	if err != nil {
		r.state.LastError = err.Error()
		r.logger.Error("reconciliation failed", "error", err)
		if ferr := r.finish(ctx, models.FinishReconciliationInput{
			ReconciliationID: r.in.ReconciliationID, Status: models.ReconciliationFailed, Error: errorCode(err),
		}); ferr != nil {
			return models.ReconciliationResult{}, ferr
		}
		r.state.Status = string(models.ReconciliationFailed)
		r.setStage(ctx, models.StageDone)
		// Typed with the failure's code, so that Temporal Web shows why.
		return models.ReconciliationResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("reconcile %s %s", r.in.Channel, r.in.Date), errorCode(err), err)
	}
	if err := r.finish(ctx, models.FinishReconciliationInput{
		ReconciliationID: r.in.ReconciliationID, Status: models.ReconciliationCompleted, Counts: res.Counts,
	}); err != nil {
		return models.ReconciliationResult{}, err
	}
	r.state.Status = string(models.ReconciliationCompleted)
	r.counts = &res.Counts
	r.setStage(ctx, models.StageDone)
	r.logger.Info("reconciliation finished", "matched", res.Counts.Matched, "differences", res.Counts.Differences(),
		"resumed", res.Resumed, "skipped_lines", res.SkippedLines)
	return models.ReconciliationResult{
		ReconciliationID: r.in.ReconciliationID, Status: models.ReconciliationCompleted, Counts: res.Counts,
		Resumed: res.Resumed, SkippedLines: res.SkippedLines,
	}, nil
}

// checkBalances compares the day's balances at the bank with the ledger's clearing
// account and adds the balance gaps the line differences do not explain to counts.
func (r *reconciliationFlow) checkBalances(ctx workflow.Context, counts *models.ReconciliationCounts) error {
	var res models.CheckBalancesResult
	err := workflow.ExecuteActivity(balancesActivityOptions(ctx), reconActs.CheckBalances, models.CheckBalancesInput{
		ReconciliationID: r.in.ReconciliationID, Channel: r.in.Channel, Date: r.in.Date,
	}).Get(ctx, &res)
	if err != nil {
		return err
	}
	counts.BalanceGap += res.BalanceGap
	if !res.Checked {
		r.logger.Info("the channel reports no balances: no balance check")
	}
	return nil
}

// finish records the run's end (a short database step, as a local activity).
func (r *reconciliationFlow) finish(ctx workflow.Context, in models.FinishReconciliationInput) error {
	var res models.FinishReconciliationResult
	if err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), reconActs.FinishReconciliation, in).Get(ctx, &res); err != nil {
		r.state.LastError = err.Error()
		return fmt.Errorf("record the end of %s: %w", r.in.ReconciliationID, err)
	}
	return nil
}

// errorCode is what a failed run records as its error: the failure's type, never its
// text (which may hold internal details; the worker's log has them).
func errorCode(err error) string {
	var appErr *temporal.ApplicationError
	var timeout *temporal.TimeoutError
	switch {
	case errors.As(err, &appErr):
		return appErr.Type()
	case errors.As(err, &timeout):
		return models.ErrTypeTimeout
	case temporal.IsCanceledError(err):
		return string(models.FailureCanceled)
	}
	return models.ErrTypeFailed
}
