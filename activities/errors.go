// Package activities holds payflow's Temporal activities, grouped by area in structs
// that carry their dependencies. Workflows call them through nil receivers' method
// values; the worker registers the real structs under the same names.
package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// businessError is a non-retryable failure whose type is the product's failure code
// (the vocabulary is models' failures.go).
func businessError(code models.FailureCode, msg string, details ...any) error {
	return temporal.NewNonRetryableApplicationError(msg, string(code), nil, details...)
}

// retryableError is an infrastructure failure retried by the activity's policy.
func retryableError(errType string, cause error) error {
	return temporal.NewApplicationErrorWithCause(cause.Error(), errType, cause)
}

// ledgerError is a failed ledger step (what): a refusal by a ledger rule is the
// business error ledger_rejected, anything else a retried database error.
func ledgerError(log *logrus.Entry, err error, what string) error {
	if errors.Is(err, ledger.ErrRejected) {
		log.WithError(err).Error("ledger refused " + what)
		return businessError(models.FailureLedgerRejected, fmt.Sprintf("%s: %v", what, err))
	}
	return retryableError(models.ErrTypeDatabase, err)
}

// loadMerchant reads a flow's merchant; a failed read is a retried database error.
func loadMerchant(ctx context.Context, st *store.Store, merchantID string) (models.Merchant, error) {
	m, err := st.Merchant(ctx, merchantID)
	if err != nil {
		return models.Merchant{}, retryableError(models.ErrTypeDatabase, err)
	}
	return m, nil
}

// activeMerchant loads the merchant of a step that would move its money (what): a
// disabled merchant is the business error merchant_disabled (the flow stops and gives
// back what it did).
func activeMerchant(ctx context.Context, st *store.Store, log *logrus.Entry, merchantID, what string) (models.Merchant, error) {
	m, err := loadMerchant(ctx, st, merchantID)
	if err != nil {
		return models.Merchant{}, err
	}
	if m.Status != models.MerchantActive {
		log.Warn("merchant disabled: refusing to " + what)
		return models.Merchant{}, businessError(models.FailureMerchantDisabled, fmt.Sprintf("merchant %s is disabled", merchantID))
	}
	return m, nil
}

// heartbeatEvery records details() as the activity's heartbeat at once and then
// every interval, until stop (which waits for the last one) or the context ends: a
// long activity's progress, which its retry resumes from.
func heartbeatEvery(ctx context.Context, every time.Duration, details func() any) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			activity.RecordHeartbeat(ctx, details())
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// logger returns the base logger with the activity's workflow and run ids.
func logger(ctx context.Context, base *logrus.Entry) *logrus.Entry {
	if !activity.IsActivity(ctx) {
		return base
	}
	info := activity.GetInfo(ctx)
	return base.WithFields(logrus.Fields{
		"workflow_id": info.WorkflowExecution.ID,
		"run_id":      info.WorkflowExecution.RunID,
		"activity":    info.ActivityType.Name,
		"attempt":     info.Attempt,
	})
}

// clock is the time of an activity's clock now: time.Now when now is nil.
func clock(now func() time.Time) time.Time {
	if now != nil {
		return now()
	}
	return time.Now()
}
