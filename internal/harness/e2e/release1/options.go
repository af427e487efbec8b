package release1

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// Error types the workflows tell apart (see models/failures.go).
const (
	ErrTypeBankUnavailable = models.ErrTypeBankUnavailable
	ErrTypeUnknownOutcome  = models.ErrTypeUnknownOutcome
	ErrTypeLedgerRejected  = models.ErrTypeLedgerRejected
)

// businessErrorTypes are the non-retryable error types: retrying a declined card or a
// refused posting would only fail again (or worse, act twice).
var businessErrorTypes = []string{
	string(models.FailureCardDeclined),
	string(models.FailureInsufficientFunds),
	string(models.FailureAccountClosed),
	string(models.FailureMerchantDisabled),
	ErrTypeLedgerRejected,
}

// bankActivityOptions are for calls to a bank: each attempt may take a while (the
// bank client times out after 10 s), attempts retry with backoff, and the whole step
// gives up after two minutes so that the workflow can fall back to polling.
func bankActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Second,
			NonRetryableErrorTypes: businessErrorTypes,
		},
	})
}

// ledgerLocalOptions are for short database steps run as local activities: they cost
// no extra workflow task, and they retry until the database is back.
func ledgerLocalOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			NonRetryableErrorTypes: businessErrorTypes,
		},
	})
}
