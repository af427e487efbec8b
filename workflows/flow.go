package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// Every flow's workflow has one shape:
//
//	func XWorkflow(ctx workflow.Context, in models.XInput) (models.XResult, error) {
//		return runFlow(ctx, in, newXFlow)
//	}
//
// newXFlow validates the input (an invalid one fails the workflow with a
// non-retryable invalid_input error before any command) and sets up the flow's
// tracker in one call (newTracker: its state, its logger with the flow's ids, the
// state query and, for a money flow, the operators' retry and cancel Updates), and
// any handler of its own; the flow's run then moves it and returns its result.
// Setting up handlers is no command, so the shape adds nothing to a history.

// flow is a flow built from its input, ready to run.
type flow[R any] interface {
	run(ctx workflow.Context) (R, error)
}

// runFlow builds a flow from its input and runs it.
func runFlow[I, R any, F flow[R]](ctx workflow.Context, in I, build func(workflow.Context, I) (F, error)) (R, error) {
	f, err := build(ctx, in)
	if err != nil {
		var zero R
		return zero, err
	}
	return f.run(ctx)
}

// settle ends a flow on its bank call's answer (res, err): the call's error fails the
// flow; a transfer the bank did not make finalizes the flow failed with the bank's
// code, one it made finalizes it succeeded.
func settle[S, R any](ctx workflow.Context, res models.ChargeResult, err error,
	finalize func(workflow.Context, S, models.FailureCode) (R, error), succeeded, failed S) (R, error) {
	if err != nil {
		var zero R
		return zero, err
	}
	if res.Status != models.BankSucceeded {
		return finalize(ctx, failed, res.FailureCode)
	}
	return finalize(ctx, succeeded, models.FailureNone)
}

// invalidInput is the error of a flow whose input does not hold: not retried, typed
// invalid_input.
func invalidInput(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), models.ErrTypeInvalidInput, nil)
}
