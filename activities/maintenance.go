package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// LedgerCheckRecorder records the result of a ledger check that ran to the end
// (payflow_ledger_check_ok and its last-run timestamp; package metrics).
type LedgerCheckRecorder interface {
	LedgerChecked(ok bool, at time.Time)
}

// Maintenance holds the activities of the worker's background schedules: the purge
// of short-lived records and the ledger check.
type Maintenance struct {
	Store  *store.Store
	Ledger *ledger.Ledger
	// Checks records every ledger check that ran to the end; nil records nothing.
	Checks LedgerCheckRecorder
	Log    *logrus.Entry
	// HeartbeatEvery is how often a running ledger check heartbeats (0: 5 s).
	HeartbeatEvery time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Purge deletes the nonces older than in.NonceMaxAge, the idempotency keys older than
// in.IdempotencyMaxAge, and the merchants' previous secrets whose rotation overlap
// has ended. Each delete is idempotent; a failed one is logged and the others still
// run, and the activity then fails so that Temporal retries it (the next firing
// would purge the rest anyway).
func (m *Maintenance) Purge(ctx context.Context, in models.PurgeInput) (models.PurgeResult, error) {
	if in.NonceMaxAge <= 0 || in.IdempotencyMaxAge <= 0 {
		return models.PurgeResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("purge with nonce age %s and idempotency age %s: both must be positive", in.NonceMaxAge, in.IdempotencyMaxAge),
			models.ErrTypeInvalidInput, nil)
	}
	now := clock(m.Now)
	var res models.PurgeResult
	var failed []string
	var err error
	if res.Nonces, err = m.Store.PurgeNonces(ctx, now.Add(-in.NonceMaxAge)); err != nil {
		logger(ctx, m.Log).WithError(err).Warn("purge nonces")
		failed = append(failed, "nonces")
	}
	if res.IdempotencyKeys, err = m.Store.PurgeIdempotencyKeys(ctx, now.Add(-in.IdempotencyMaxAge)); err != nil {
		logger(ctx, m.Log).WithError(err).Warn("purge idempotency keys")
		failed = append(failed, "idempotency keys")
	}
	if res.ExpiredSecrets, err = m.Store.PurgeExpiredSecrets(ctx, now); err != nil {
		logger(ctx, m.Log).WithError(err).Warn("purge expired merchant secrets")
		failed = append(failed, "expired merchant secrets")
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("purge %v: the database refused (see the worker's log)", failed)
	}
	logger(ctx, m.Log).WithFields(logrus.Fields{
		"nonces": res.Nonces, "idempotency_keys": res.IdempotencyKeys, "expired_secrets": res.ExpiredSecrets,
	}).Debug("purged")
	return res, nil
}

// CheckLedger runs the ledger check (the ops API's GET /v1/ops/ledger/check) and
// records its result in payflow_ledger_check_ok, so that the gauge is fresh even when
// no operator asks. A violation is logged at error level once per check that finds
// it. A check that could not run records nothing: the gauge keeps its last value and
// its last-run timestamp goes stale, which is what an alert on staleness watches. It
// heartbeats while the check runs, so that a worker that died mid-check is noticed.
func (m *Maintenance) CheckLedger(ctx context.Context, _ models.LedgerCheckInput) (models.LedgerCheckResult, error) {
	every := m.HeartbeatEvery
	if every <= 0 {
		every = 5 * time.Second
	}
	stop := heartbeatEvery(ctx, every, func() any { return nil })
	defer stop()
	r, err := m.Ledger.Check(ctx)
	if err != nil {
		logger(ctx, m.Log).WithError(err).Warn("ledger check could not run")
		return models.LedgerCheckResult{}, fmt.Errorf("ledger check: %w", err)
	}
	at := clock(m.Now)
	if m.Checks != nil {
		m.Checks.LedgerChecked(r.OK, at)
	}
	res := models.LedgerCheckResult{
		OK: r.OK, Journals: r.Journals, Entries: r.Entries,
		Unbalanced: len(r.Unbalanced), NegativeAccounts: len(r.NegativeAccounts),
		MismatchedBalances: len(r.MismatchedBalances), MismatchedHolds: len(r.MismatchedHolds),
		RouterClearing: len(r.RouterClearing), CheckedAt: at,
	}
	if !r.OK {
		logger(ctx, m.Log).WithFields(logrus.Fields{
			"unbalanced": res.Unbalanced, "negative_accounts": res.NegativeAccounts,
			"mismatched_balances": res.MismatchedBalances, "mismatched_holds": res.MismatchedHolds,
		}).Error("ledger check found violated invariants")
	}
	return res, nil
}
