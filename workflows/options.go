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
	return workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Second,
			NonRetryableErrorTypes: append(noRetry, models.BusinessErrorTypes()...),
		},
	}
}

// ledgerLocalOptions are for short database steps run as local activities: they cost
// no extra workflow task, and they retry until the database is back.
func ledgerLocalOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		// Without it the retries would end after one StartToCloseTimeout (the SDK's
		// default), failing the flow on a database outage of a few seconds.
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			NonRetryableErrorTypes: models.BusinessErrorTypes(),
		},
	})
}

// webhookDeliveryOptions are the delivery schedule of docs/api.md (Webhooks): each attempt is one
// HTTP exchange (bounded by the client's timeout, 10 s by default), the first retry
// comes 5 s after a failure, then the wait doubles up to an hour, and the delivery gives
// up after models.WebhookDeliveryWindow (24 hours). Refusals that would fail the same
// way every time are not retried.
func webhookDeliveryOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: models.WebhookDeliveryWindow,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    5 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Hour,
			// The window ends a delivery after about 33 attempts; this cap only
			// backs it up (and keeps the SDK's test environment, which stops an
			// unlimited policy at 10 attempts, running the real schedule).
			MaximumAttempts: 100,
			NonRetryableErrorTypes: []string{
				models.ErrTypeWebhookRefused, models.ErrTypeWebhookGone, models.ErrTypeEventNotFound, models.ErrTypeInvalidEvent,
			},
		},
	})
}

// eventLocalOptions are for storing an event: a short database step like the ledger's,
// but retried for longer (a local activity's ScheduleToClose defaults to its
// StartToClose), because an event that is never stored is a webhook never sent.
func eventLocalOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout:    15 * time.Second,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			NonRetryableErrorTypes: []string{models.ErrTypeInvalidEvent},
		},
	})
}

// reconcileActivityOptions are for the one long reconciliation pass: it may run for
// a long while on a big statement, and it heartbeats every few seconds, so a dead
// worker is noticed after HeartbeatTimeout and the retry resumes from the last
// heartbeat's checkpoint. It retries (a bank outage, a database restart) for a day.
func reconcileActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Hour,
		ScheduleToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:       10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{models.ErrTypeInvalidInput, models.ErrTypeStatementUnreadable},
		},
	})
}

// openActivityOptions are for short steps that talk to the database and Temporal.
func openActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			NonRetryableErrorTypes: []string{models.ErrTypeInvalidInput},
		},
	})
}

// sweepActivityOptions are for the flow sweep: one pass over the objects created since
// the last pass, bounded by its limit. It heartbeats its progress every few seconds, so
// a dead worker is noticed after HeartbeatTimeout; a retry goes on from the marks the
// pass recorded in the database. After ScheduleToCloseTimeout the sweep fails and the
// schedule's next firing starts over from the same marks.
func sweepActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Minute,
		ScheduleToCloseTimeout: 15 * time.Minute,
		HeartbeatTimeout:       30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	})
}
