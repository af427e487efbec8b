package activities

import (
	"time"

	"github.com/payflow/payflow/models"
)

// Outcomes records flows that reached a terminal status: payflow's metrics
// (payflow_flows_total, payflow_payments_total, payflow_flow_duration_seconds).
type Outcomes interface {
	// FlowFinished counts a flow that ended in status and observes its age since
	// created (the zero time when the id carries none).
	FlowFinished(flow, status, channel string, created time.Time)
}

// finished reports a terminal status to o (nil in tests). It is called once the
// outcome is committed; a finalize activity that runs again after a crash between
// its commit and its completion counts again (metrics are at least once), except
// where the ledger tells a replayed posting apart.
func finished(o Outcomes, flow models.Flow, objectID, status, channel string) {
	if o == nil {
		return
	}
	created, _ := models.IDTime(objectID)
	o.FlowFinished(string(flow), status, channel, created)
}
