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
