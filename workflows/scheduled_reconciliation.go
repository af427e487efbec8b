package workflows

import (
	"fmt"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// ScheduledReconciliationWorkflow is the action of a channel's daily Temporal Schedule
// (reconciliation/<channel>). A Schedule names its workflows itself (its id plus the
// scheduled time), so this short workflow turns the schedule's firing into the day's
// run: it takes the day before the scheduled time (the TemporalScheduledStartTime
// search attribute the Schedule sets, so that a run late after an outage still takes
// the right day) and opens that day's run, reconciliation/<channel>/<day>, exactly as
// an operator's request would: an existing run of the day is left as it is.
func ScheduledReconciliationWorkflow(ctx workflow.Context, in models.ScheduledReconciliationInput) (models.ScheduledReconciliationResult, error) {
	if in.Channel == "" {
		return models.ScheduledReconciliationResult{}, invalidInput("scheduled reconciliation without a channel")
	}
	at, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(SAScheduledStartTime)
	if !ok {
		// Started by hand rather than by the Schedule: the day before today.
		at = workflow.GetInfo(ctx).WorkflowStartTime
	}
	day := PreviousDay(at)
	logger := log.With(workflow.GetLogger(ctx), "channel", in.Channel, "date", day)

	var res models.OpenReconciliationResult
	err := workflow.ExecuteActivity(openActivityOptions(ctx), reconActs.OpenReconciliation, models.OpenReconciliationInput{
		Channel: in.Channel, Date: day,
	}).Get(ctx, &res)
	if err != nil {
		return models.ScheduledReconciliationResult{}, fmt.Errorf("open the reconciliation of %s %s: %w", in.Channel, day, err)
	}
	logger.Info("scheduled reconciliation opened", "reconciliation_id", res.ReconciliationID, "created", res.Created)
	return models.ScheduledReconciliationResult{
		ReconciliationID: res.ReconciliationID, WorkflowID: ReconciliationWorkflowID(in.Channel, day), Date: day, Created: res.Created,
	}, nil
}
