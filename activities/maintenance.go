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

// PurgeRecorder counts what a purge deleted of a kind (payflow_purged_total).
type PurgeRecorder interface {
	Purged(kind string, n int64)
}

// Maintenance holds the activities of the worker's background schedules: the purge
// of what is past its retention, the measure of the gauges that need a count, and
// the ledger check.
type Maintenance struct {
	Store  *store.Store
	Ledger *ledger.Ledger
	// Checks records every ledger check that ran to the end; nil records nothing.
	Checks LedgerCheckRecorder
	// Purged counts what each purge deleted, by kind; nil counts nothing.
	Purged PurgeRecorder
	Log    *logrus.Entry
	// HeartbeatEvery is how often a running ledger check heartbeats (0: 5 s).
	HeartbeatEvery time.Duration
	// PurgeBatchRows is the rows one purge statement deletes at most (0: 1000);
	// PurgeBudget how long a purge goes on before it leaves the rest to the next
	// firing (0: 40 s, within the activity's one-minute timeout).
	PurgeBatchRows int
	PurgeBudget    time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// purgeJob is one kind of record a purge deletes: older than before, counted in n.
type purgeJob struct {
	kind   store.PurgeKind
	before time.Time
	n      *int64
}

// Purge deletes what is past its retention (in: the age of each kind; a zero age
// keeps that kind) and the merchants' previous secrets whose rotation overlap has
// ended. The kinds take turns, one batch each per turn, until every kind is done or
// PurgeBudget has passed: a large backlog of one kind neither starves the others nor
// holds the database in one long delete, and the next firing goes on with what is
// left (res.More). Each batch is idempotent; a kind that fails is logged and left
// out while the others go on, and the activity then fails so that Temporal retries
// it.
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
	if res.ExpiredSecrets, err = m.Store.PurgeExpiredSecrets(ctx, now); err != nil {
		logger(ctx, m.Log).WithError(err).Warn("purge expired merchant secrets")
		failed = append(failed, "expired merchant secrets")
	}
	var jobs []purgeJob
	for _, j := range []struct {
		kind store.PurgeKind
		age  time.Duration
		n    *int64
	}{
		{store.PurgeKindNonces, in.NonceMaxAge, &res.Nonces},
		{store.PurgeKindIdempotencyKeys, in.IdempotencyMaxAge, &res.IdempotencyKeys},
		{store.PurgeKindRateLimits, in.RateLimitMaxAge, &res.RateLimits},
		{store.PurgeKindBankCallbacks, in.BankCallbackMaxAge, &res.BankCallbacks},
		{store.PurgeKindPaymentCodes, in.PaymentCodeMaxAge, &res.PaymentCodes},
		{store.PurgeKindCreditReports, in.CreditReportMaxAge, &res.CreditReports},
		{store.PurgeKindEvents, in.EventMaxAge, &res.Events},
		{store.PurgeKindWebhookAttempts, in.WebhookAttemptMaxAge, &res.WebhookAttempts},
		{store.PurgeKindAudit, in.AuditMaxAge, &res.Audit},
	} {
		if j.age > 0 {
			jobs = append(jobs, purgeJob{kind: j.kind, before: now.Add(-j.age), n: j.n})
		}
	}
	batch, budget := m.PurgeBatchRows, m.PurgeBudget
	if batch <= 0 {
		batch = 1000
	}
	if budget <= 0 {
		budget = 40 * time.Second
	}
	// The budget is wall-clock time, whatever the clock the cutoffs come from.
	started := time.Now()
	for len(jobs) > 0 {
		if time.Since(started) >= budget {
			for _, j := range jobs {
				res.More = append(res.More, string(j.kind))
			}
			break
		}
		left := jobs[:0]
		for _, j := range jobs {
			n, more, err := m.Store.PurgeBatch(ctx, j.kind, j.before, batch)
			*j.n += n
			if m.Purged != nil {
				m.Purged.Purged(string(j.kind), n)
			}
			if err != nil {
				logger(ctx, m.Log).WithError(err).Warn("purge " + string(j.kind))
				failed = append(failed, string(j.kind))
				continue
			}
			if more {
				left = append(left, j)
			}
		}
		jobs = left
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("purge %v: the database refused (see the worker's log)", failed)
	}
	logger(ctx, m.Log).WithFields(logrus.Fields{
		"nonces": res.Nonces, "idempotency_keys": res.IdempotencyKeys, "expired_secrets": res.ExpiredSecrets,
		"events": res.Events, "webhook_attempts": res.WebhookAttempts, "audit": res.Audit,
		"rate_limits": res.RateLimits, "bank_callbacks": res.BankCallbacks, "payment_codes": res.PaymentCodes, "credit_reports": res.CreditReports, "more": res.More,
	}).Debug("purged")
	return res, nil
}

// Measure counts what the gauges that need a count show, the webhook backlog, and
// stores it with the time (table maintenance_state), where every API replica's
// /metrics reads it: one count per run of the measure schedule, at its own
// interval, instead of one per scrape of every replica. A count that could not run
// fails the run and leaves the stored value as it was.
func (m *Maintenance) Measure(ctx context.Context, _ models.MeasureInput) (models.MeasureResult, error) {
	at := clock(m.Now)
	n, err := m.Store.WebhookBacklog(ctx, at)
	if err != nil {
		return models.MeasureResult{}, fmt.Errorf("measure: %w", err)
	}
	if err := m.Store.RecordWebhookBacklog(ctx, n, at); err != nil {
		return models.MeasureResult{}, fmt.Errorf("measure: %w", err)
	}
	return models.MeasureResult{WebhookBacklog: n, MeasuredAt: at}, nil
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
