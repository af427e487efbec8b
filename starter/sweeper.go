package starter

import (
	"context"
	"fmt"
	"time"

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
	// One sweep at a time: a second would only start the same objects again (harmless,
	// the starts are idempotent, but wasted); missed firings are not run one by one, the
	// next sweep takes everything since the marks.
	return s.ensureBackgroundSchedule(ctx, workflows.FlowSweepScheduleID, every, workflows.WorkflowFlowSweep, models.FlowSweepInput{Grace: grace})
}
