package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// saga collects the compensations of the steps a flow has completed, each armed only
// after its step succeeded, and runs them in reverse order in a disconnected context
// (so that they run even when the flow itself is being canceled).
type saga struct {
	steps []sagaStep
}

type sagaStep struct {
	name string
	undo func(ctx workflow.Context) error
}

// add arms the compensation of a step that has just succeeded.
func (s *saga) add(name string, undo func(ctx workflow.Context) error) {
	s.steps = append(s.steps, sagaStep{name: name, undo: undo})
}

// compensate runs every armed compensation, newest first, once. It stops at the
// first compensation that fails for good (each retries by its own policy) and returns
// that error: what is left undone must be seen by an operator, not skipped.
func (s *saga) compensate(ctx workflow.Context) error {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	for i := len(s.steps) - 1; i >= 0; i-- {
		step := s.steps[i]
		if err := step.undo(dctx); err != nil {
			s.steps = s.steps[:i+1]
			return err
		}
		s.steps = s.steps[:i]
	}
	return nil
}

// moneyFlowContext is the context a money flow runs in: disconnected from a cancel
// request made through Temporal (Temporal Web's Cancel, `temporal workflow cancel`),
// which would otherwise end the flow wherever it is, possibly after the bank moved
// the money and before the ledger recorded it. A money flow ends only on the bank's
// definitive answer; operators cancel it through its cancel Update (the ops API's
// POST /v1/ops/flows/{id}/cancel), which asks the bank to cancel and compensates.
// Creating the context is no command, so histories replay unchanged.
func moneyFlowContext(ctx workflow.Context) workflow.Context {
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	return dctx
}
