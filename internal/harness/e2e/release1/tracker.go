package release1

import (
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// tracker is the part every flow shares: the state its `state` query answers, and
// the stage and channel search attributes kept current as it moves.
type tracker struct {
	state  models.FlowState
	logger log.Logger
}

// registerStateQuery answers the `state` query from the tracker.
func (t *tracker) registerStateQuery(ctx workflow.Context) error {
	return workflow.SetQueryHandler(ctx, QueryState, func() (models.FlowState, error) {
		return t.state, nil
	})
}

// setStage moves the flow to stage and upserts PayflowStage, only when it changes:
// each upsert is an event in the history.
func (t *tracker) setStage(ctx workflow.Context, stage models.Stage) {
	if t.state.Stage == stage {
		return
	}
	t.state.Stage = stage
	t.state.Attempts = 0
	if err := workflow.UpsertTypedSearchAttributes(ctx, SAStage.ValueSet(string(stage))); err != nil {
		t.logger.Warn("upsert stage", "error", err)
	}
}

// noteChannel records the channel that took a transfer (auto routing picks one).
func (t *tracker) noteChannel(ctx workflow.Context, channel string) {
	if channel == "" || channel == t.state.Channel {
		return
	}
	t.state.Channel = channel
	if err := workflow.UpsertTypedSearchAttributes(ctx, SAChannel.ValueSet(channel)); err != nil {
		t.logger.Warn("upsert channel", "error", err)
	}
}
