package workflows

import (
	"fmt"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// tracker is the part every flow shares: the state its `state` query answers, and
// the stage and channel search attributes kept current as it moves.
type tracker struct {
	state  models.FlowState
	logger log.Logger

	// wake is signalled by the retry and cancel Updates to cut a wait short.
	wake workflow.Channel
	// cancelReq is an operator's accepted cancel; the flow compensates what it did
	// as soon as the outcome it waits for is known.
	cancelReq *models.Decision
	// cancelable is true while the flow is somewhere a cancel can be carried out
	// (waiting on the bank for its own transfer, which it asks the bank to cancel;
	// waiting for an approval).
	cancelable bool
	// view, when set, is what the `state` query answers instead of state (a flow
	// whose state says more than FlowState, such as a reconciliation's counts).
	view func() any
}

// handlers says which handlers a flow's tracker registers.
type handlers int

const (
	// stateQuery: the `state` query only (a flow that moves no money of its own).
	stateQuery handlers = iota
	// opsUpdates: the `state` query and the operators' retry and cancel Updates.
	opsUpdates
)

// newTracker is the set-up every flow shares, in one call: the flow's state at start,
// a logger bound with the flow's ids (keyvals), the `state` query and, with
// opsUpdates, the operators' Updates. It runs before anything can block, so that a
// query or an Update is answered from the flow's first task on.
func newTracker(ctx workflow.Context, state models.FlowState, with handlers, keyvals ...interface{}) (*tracker, error) {
	t := &tracker{state: state, logger: log.With(workflow.GetLogger(ctx), keyvals...)}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (any, error) {
		if t.view != nil {
			return t.view(), nil
		}
		return t.state, nil
	}); err != nil {
		return nil, fmt.Errorf("register state query: %w", err)
	}
	if with == opsUpdates {
		if err := t.registerOpsHandlers(ctx); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// registerOpsHandlers registers the operators' Updates every flow answers: retry
// (query the bank now instead of at the next timer) and cancel (compensate what was
// done and end). Validators refuse an act that does not apply, so that a refused act
// never enters the history and the operator learns why at once.
func (t *tracker) registerOpsHandlers(ctx workflow.Context) error {
	t.wake = workflow.NewBufferedChannel(ctx, 1)
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRetry,
		func(ctx workflow.Context, d models.Decision) (models.FlowState, error) {
			t.wake.SendAsync(true)
			t.logger.Info("operator asked to retry now", "operator", d.Operator)
			return t.state, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, d models.Decision) error {
			switch t.state.Stage {
			case models.StageWaitingBank, models.StageNeedsAttention:
			case models.StageWaitingCustomer:
				// A wallet provider's trade waiting for its customer is queried
				// now; a wait for a payflow wallet's owner has nothing to ask.
			default:
				return fmt.Errorf("nothing to retry: the flow is at stage %s, not waiting on the bank", t.state.Stage)
			}
			return nil
		}},
	)
	if err != nil {
		return fmt.Errorf("register retry update: %w", err)
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateCancel,
		func(ctx workflow.Context, d models.Decision) (models.FlowState, error) {
			t.cancelReq = &d
			t.wake.SendAsync(true)
			t.logger.Info("operator canceled the flow", "operator", d.Operator, "reason", d.Reason)
			return t.state, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, d models.Decision) error {
			switch {
			case d.Reason == "":
				return fmt.Errorf("a cancel needs a reason")
			case t.cancelReq != nil:
				return fmt.Errorf("the flow is already being canceled")
			case !t.cancelable:
				return fmt.Errorf("the flow cannot be canceled at stage %s: what it did cannot be undone from here", t.state.Stage)
			}
			return nil
		}},
	)
	if err != nil {
		return fmt.Errorf("register cancel update: %w", err)
	}
	return nil
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

// finished records a flow's outcome (status and code) in its state, notifies the
// merchant when the object has a notify_url, and ends the flow at stage done.
func (t *tracker) finished(ctx workflow.Context, merchantID, notifyURL, status string, code models.FailureCode) {
	t.state.Status = status
	t.state.FailureCode = code
	t.notifyIfAsked(ctx, merchantID, t.state.ObjectID, notifyURL, t.state.Flow, status)
	t.setStage(ctx, models.StageDone)
	t.logger.Info(string(t.state.Flow)+" finished", "status", status, "failure_code", code)
}

// finalizeFailed records the error of a flow's finalize activity as its last error and
// returns the error the flow fails with.
func (t *tracker) finalizeFailed(err error) error {
	t.state.LastError = err.Error()
	return fmt.Errorf("finalize %s %s: %w", t.state.Flow, t.state.ObjectID, err)
}
