package models

import "time"

// FlowSweepInput is the action of the flow-sweeper schedule.
type FlowSweepInput struct {
	// Grace is how old an object must be before the sweep makes sure of its flow: its
	// API request has had that long to start the flow itself (PAYFLOW_SWEEP_GRACE).
	Grace time.Duration `json:"grace"`
}

// FlowSweepResult is what one sweep did.
type FlowSweepResult struct {
	// Until is the end of the sweep's window: it took the objects created before it.
	Until time.Time `json:"until"`
	// Kinds says, per kind of object, how many it started and where its mark is.
	Kinds []SweptKind `json:"kinds"`
}

// SweepFlowsInput asks the sweep activity to start the flow of every object still
// processing that was created after its kind's mark and more than Grace ago.
type SweepFlowsInput struct {
	Grace time.Duration `json:"grace"`
}

// SweepFlowsResult is what the sweep activity did; it is also the progress it
// heartbeats.
type SweepFlowsResult struct {
	Until time.Time   `json:"until"`
	Kinds []SweptKind `json:"kinds"`
}

// SweptKind is the sweep of one kind of object.
type SweptKind struct {
	Flow Flow `json:"flow"`
	// Started counts the objects whose flow the sweep started or found (a start is
	// idempotent: an object whose flow runs or ran is only found).
	Started int `json:"started"`
	// MarkCreatedAt and MarkID are the kind's mark after the sweep: the last object
	// taken, in (created_at, id) order.
	MarkCreatedAt time.Time `json:"mark_created_at"`
	MarkID        string    `json:"mark_id,omitempty"`
	// Done says the sweep reached the window's end; otherwise it stopped at its limit
	// (or an error), and the next sweep goes on from the mark.
	Done bool `json:"done"`
	// Error is why the kind's sweep stopped before the window's end, if it failed.
	Error string `json:"error,omitempty"`
}
