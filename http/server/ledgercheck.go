package server

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/metrics"
)

// checkedLedger records the result of every ledger check, the background one and
// the ops API's, in payflow_ledger_check_ok.
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

// ledgerCheckLoop runs the ledger check at start and every interval, so that
// payflow_ledger_check_ok is fresh even when no operator asks. A violation is
// logged once per check that finds it.
func ledgerCheckLoop(ctx context.Context, l checkedLedger, every time.Duration, log *logrus.Entry) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		r, err := l.Check(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.WithError(err).Warn("ledger check could not run")
		case err == nil && !r.OK:
			log.WithFields(logrus.Fields{
				"unbalanced": len(r.Unbalanced), "negative_accounts": len(r.NegativeAccounts),
				"mismatched_balances": len(r.MismatchedBalances), "mismatched_holds": len(r.MismatchedHolds),
			}).Error("ledger check found violated invariants")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
