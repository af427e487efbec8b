package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// FlowSweepWorkflow is the action of the flow-sweeper Temporal Schedule (every
// PAYFLOW_SWEEP_EVERY; Temporal Web and `temporal schedule list` show it, and each run).
// It runs one activity, SweepFlows, which starts the flow of every payment, refund,
// top-up and withdrawal still processing that was created more than in.Grace ago and
// after the last sweep's mark: the objects whose API request died between their
// commit and their flow's start. The marks live in the database, not in this
// workflow, so that a failed or skipped run loses nothing: the next one goes on from
// them.
func FlowSweepWorkflow(ctx workflow.Context, in models.FlowSweepInput) (models.FlowSweepResult, error) {
	var res models.SweepFlowsResult
	err := workflow.ExecuteActivity(sweepActivityOptions(ctx), sweepActs.SweepFlows, models.SweepFlowsInput{Grace: in.Grace}).Get(ctx, &res)
	if err != nil {
		return models.FlowSweepResult{}, fmt.Errorf("sweep objects without a flow: %w", err)
	}
	started := 0
	for _, k := range res.Kinds {
		started += k.Started
	}
	workflow.GetLogger(ctx).Info("flow sweep done", "until", res.Until, "started", started)
	return models.FlowSweepResult{Until: res.Until, Kinds: res.Kinds}, nil
}
