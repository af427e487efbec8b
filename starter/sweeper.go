package starter

import (
	"context"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// EnsureFlowSweepSchedule creates the Temporal Schedule flow-sweeper, which runs
// FlowSweepWorkflow every `every` to start the flows of objects stored without one and
// older than grace, or, when it exists, updates its interval, action and policies to
// these (an operator's pause is kept). Every worker calls it at start; any number of
// calls leave one schedule per namespace.
func (s *Starter) EnsureFlowSweepSchedule(ctx context.Context, every, grace time.Duration) error {
	if every < time.Second || grace <= 0 {
		return fmt.Errorf("flow sweep every %s with a grace of %s: the interval must be at least 1s and the grace positive", every, grace)
	}
	id := workflows.FlowSweepScheduleID
	spec := client.ScheduleSpec{
		Intervals: []client.ScheduleIntervalSpec{{Every: every}},
	}
	action := &client.ScheduleWorkflowAction{
		ID:        id, // Temporal appends the scheduled time
		Workflow:  workflows.WorkflowFlowSweep,
		Args:      []any{models.FlowSweepInput{Grace: grace}},
		TaskQueue: s.cfg.TaskQueue,
	}
	policy := client.SchedulePolicies{
		// One sweep at a time: a second would only start the same objects again
		// (harmless, the starts are idempotent, but wasted). Firings missed while
		// Temporal or the workers were down are not worth running one by one: the next
		// sweep takes everything since the marks.
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: time.Minute,
	}
	return s.ensureSchedule(ctx, id, spec, action, policy)
}
