package server

import (
	"context"
	"time"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/metrics"
)

// checkedLedger records the result of every ledger check the ops API runs in
// payflow_ledger_check_ok (the worker's ledger-check schedule records its own).
type checkedLedger struct {
	*ledger.Ledger
	m *metrics.Metrics
}

// Check runs the ledger check and records its result. A check that could not run
// (the database is down) records nothing: the gauge keeps its last value and its
// last-run timestamp goes stale, which is what an alert on staleness watches.
func (l checkedLedger) Check(ctx context.Context) (ledger.CheckReport, error) {
	r, err := l.Ledger.Check(ctx)
	if err == nil {
		l.m.LedgerChecked(r.OK, time.Now())
	}
	return r, err
}
