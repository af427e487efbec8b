package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// The worker's background schedules besides the flow sweeper (one each per
// namespace). Their runs are <schedule id>-<scheduled time>: the Schedule appends the
// time to the action's id.
const (
	// PurgeScheduleID runs PurgeWorkflow every minute.
	PurgeScheduleID = "purge"
	// LedgerCheckScheduleID runs LedgerCheckWorkflow every
	// PAYFLOW_LEDGER_CHECK_INTERVAL (no schedule when it is 0).
	LedgerCheckScheduleID = "ledger-check"
	// MeasureScheduleID runs MeasureWorkflow every minute.
	MeasureScheduleID = "measure"
)

// PurgeWorkflow is the action of the purge Temporal Schedule: one Purge activity
// deletes, in batches, what is past its retention (events, webhook attempts, audit
// entries, nonces, idempotency keys, rate-limit buckets, bank callback ids) and the
// merchants' previous secrets past their rotation overlap. A purge that fails for
// good fails the run; the next firing purges everything expired by then.
func PurgeWorkflow(ctx workflow.Context, in models.PurgeInput) (models.PurgeResult, error) {
	var res models.PurgeResult
	if err := workflow.ExecuteActivity(purgeActivityOptions(ctx), maintenanceActs.Purge, in).Get(ctx, &res); err != nil {
		return models.PurgeResult{}, fmt.Errorf("purge: %w", err)
	}
	workflow.GetLogger(ctx).Info("purge done", "nonces", res.Nonces, "idempotency_keys", res.IdempotencyKeys,
		"expired_secrets", res.ExpiredSecrets, "events", res.Events, "webhook_attempts", res.WebhookAttempts,
		"audit", res.Audit, "rate_limits", res.RateLimits, "bank_callbacks", res.BankCallbacks, "more", res.More)
	return res, nil
}

// MeasureWorkflow is the action of the measure Temporal Schedule: one Measure
// activity counts the webhook backlog and stores it, which the API's /metrics shows
// as payflow_webhook_backlog (a scrape reads that one row, not the events). A count
// that fails for good fails the run; the stored value stays until the next.
func MeasureWorkflow(ctx workflow.Context, in models.MeasureInput) (models.MeasureResult, error) {
	var res models.MeasureResult
	if err := workflow.ExecuteActivity(measureActivityOptions(ctx), maintenanceActs.Measure, in).Get(ctx, &res); err != nil {
		return models.MeasureResult{}, fmt.Errorf("measure: %w", err)
	}
	return res, nil
}

// LedgerCheckWorkflow is the action of the ledger-check Temporal Schedule: one
// CheckLedger activity recomputes the ledger's invariants and records the result in
// payflow_ledger_check_ok on the worker that ran it. A violation is a result, not a
// failed run: the run completes with the counts (Temporal Web shows them), the
// activity logs it at error level and the gauge goes to 0. A check that could not run
// fails the run.
func LedgerCheckWorkflow(ctx workflow.Context, in models.LedgerCheckInput) (models.LedgerCheckResult, error) {
	var res models.LedgerCheckResult
	if err := workflow.ExecuteActivity(ledgerCheckActivityOptions(ctx), maintenanceActs.CheckLedger, in).Get(ctx, &res); err != nil {
		return models.LedgerCheckResult{}, fmt.Errorf("ledger check: %w", err)
	}
	logger := workflow.GetLogger(ctx)
	if !res.OK {
		logger.Error("ledger check found violated invariants", "unbalanced", res.Unbalanced,
			"negative_accounts", res.NegativeAccounts, "mismatched_balances", res.MismatchedBalances,
			"mismatched_holds", res.MismatchedHolds)
	} else {
		logger.Info("ledger check done", "journals", res.Journals, "entries", res.Entries)
	}
	return res, nil
}

// purgeActivityOptions: a purge is batches of deletes for at most 40 s; it is
// retried for a few minutes (the database restarting), then the run fails and the
// next firing starts over.
func purgeActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, retried(time.Minute, 5*time.Minute, 30*time.Second, models.ErrTypeInvalidInput))
}

// ledgerCheckActivityOptions: the check reads the whole ledger, which takes a while
// on a large one; it heartbeats while it runs, so that a dead worker is noticed after
// HeartbeatTimeout and the check runs again elsewhere.
func ledgerCheckActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, heartbeating(30*time.Minute, time.Hour, 30*time.Second))
}

// measureActivityOptions: a count over the last day's events; retried for as long
// as the schedule's interval, after which the next firing counts again.
func measureActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, retried(30*time.Second, time.Minute, 10*time.Second))
}
