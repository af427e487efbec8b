package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// bankActivityOptions are for calls to a bank: each attempt may take a while (the
// bank client times out after 10 s), attempts retry with backoff, and the whole step
// gives up after two minutes so that the workflow can fall back to polling.
func bankActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, bankOptions())
}

// failoverActivityOptions are bankActivityOptions for a channel that is not the last
// of its route: a refusal before acting (bank_unavailable) is not retried there, so
// that the flow moves on to the next channel at once.
func failoverActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, bankOptions(models.ErrTypeBankUnavailable))
}

// bankOptions are the options of a bank call; noRetry adds error types that end it
// at once, beside the business failures.
func bankOptions(noRetry ...string) workflow.ActivityOptions {
	return retried(30*time.Second, 2*time.Minute, 10*time.Second, append(noRetry, models.BusinessErrorTypes()...)...)
}

// retried are the options of an activity each attempt of which may take attempt: the
// first retry comes a second after a failure, the wait doubles up to longest, and the
// activity gives up after total. Errors of the types in noRetry end it at once.
func retried(attempt, total, longest time.Duration, noRetry ...string) workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    attempt,
		ScheduleToCloseTimeout: total,
		RetryPolicy:            backoff(time.Second, longest, noRetry...),
	}
}

// heartbeating are the options of a long activity that heartbeats: a dead worker is
// noticed after heartbeat, and the activity is retried (from a second after the
// failure, the wait doubling up to a minute) until total has passed.
func heartbeating(attempt, total, heartbeat time.Duration, noRetry ...string) workflow.ActivityOptions {
	o := retried(attempt, total, time.Minute, noRetry...)
	o.HeartbeatTimeout = heartbeat
	return o
}

// backoff is the retry policy of every activity: the first retry comes first after a
// failure, the wait doubles up to longest; errors of the types in noRetry are not
// retried.
func backoff(first, longest time.Duration, noRetry ...string) *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        first,
		BackoffCoefficient:     2,
		MaximumInterval:        longest,
		NonRetryableErrorTypes: noRetry,
	}
}

// ledgerLocalOptions are for short database steps run as local activities: they cost
// no extra workflow task, and they retry until the database is back.
func ledgerLocalOptions(ctx workflow.Context) workflow.Context {
	// Without a total the retries would end after one attempt's timeout (the SDK's
	// default), failing the flow on a database outage of a few seconds.
	return workflow.WithLocalActivityOptions(ctx, databaseStep(24*time.Hour, models.BusinessErrorTypes()...))
}

// databaseStep are the options of a short database step run as a local activity: each
// attempt may take 15 s, the first retry comes 200 ms after a failure, the wait
// doubles up to 30 s, and the step gives up after total. Errors of the types in
// noRetry end it at once.
func databaseStep(total time.Duration, noRetry ...string) workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: total,
		RetryPolicy:            backoff(200*time.Millisecond, 30*time.Second, noRetry...),
	}
}

// webhookDeliveryOptions are the delivery schedule of docs/api.md (Webhooks): each attempt is one
// HTTP exchange (bounded by the client's timeout, 10 s by default), the first retry
// comes 5 s after a failure, then the wait doubles up to an hour, and the delivery gives
// up after models.WebhookDeliveryWindow (24 hours). Refusals that would fail the same
// way every time are not retried.
func webhookDeliveryOptions(ctx workflow.Context) workflow.Context {
	retry := backoff(5*time.Second, time.Hour,
		models.ErrTypeWebhookRefused, models.ErrTypeWebhookGone, models.ErrTypeEventNotFound, models.ErrTypeInvalidEvent)
	// The window ends a delivery after about 33 attempts; this cap only backs it up
	// (and keeps the SDK's test environment, which stops an unlimited policy at 10
	// attempts, running the real schedule).
	retry.MaximumAttempts = 100
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: models.WebhookDeliveryWindow,
		RetryPolicy:            retry,
	})
}

// eventLocalOptions are for storing an event: a short database step like the ledger's,
// but retried for longer (a local activity's ScheduleToClose defaults to its
// StartToClose), because an event that is never stored is a webhook never sent.
func eventLocalOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, databaseStep(time.Hour, models.ErrTypeInvalidEvent))
}

// reconcileActivityOptions are for the one long reconciliation pass: it may run for
// a long while on a big statement, and it heartbeats every few seconds, so a dead
// worker is noticed after HeartbeatTimeout and the retry resumes from the last
// heartbeat's checkpoint. It retries (a bank outage, a database restart) for a day.
func reconcileActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, heartbeating(2*time.Hour, 24*time.Hour, 10*time.Second,
		models.ErrTypeInvalidInput, models.ErrTypeStatementUnreadable))
}

// balancesActivityOptions are for a run's balance check: one request to the bank and
// a few queries, retried through a bank's outage for as long as the statement's pass
// would be.
func balancesActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, retried(5*time.Minute, 24*time.Hour, time.Minute, models.ErrTypeInvalidInput))
}

// openActivityOptions are for short steps that talk to the database and Temporal.
func openActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, retried(30*time.Second, time.Hour, time.Minute, models.ErrTypeInvalidInput))
}

// sweepActivityOptions are for the flow sweep: one pass over the objects created since
// the last pass, bounded by its limit. It heartbeats its progress every few seconds, so
// a dead worker is noticed after HeartbeatTimeout; a retry goes on from the marks the
// pass recorded in the database. After ScheduleToCloseTimeout the sweep fails and the
// schedule's next firing starts over from the same marks.
func sweepActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, heartbeating(10*time.Minute, 15*time.Minute, 30*time.Second))
}
