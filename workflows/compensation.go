package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// legacyReversalReference is the bank reference of the refund that reversed a charge
// in flows that predate pinned bank calls (pay_....reversal); new flows use
// models.ReversalReference (rev_pay_...), which every adapter resolves.
func legacyReversalReference(chargeReference string) string { return chargeReference + ".reversal" }

// postingRefused reports whether a finalize activity failed for a business reason (the
// ledger refused the posting, the merchant is disabled) and with which code.
func postingRefused(err error) (models.FailureCode, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() {
		return "", false
	}
	switch appErr.Type() {
	case models.ErrTypeLedgerRejected:
		return models.FailureLedgerRejected, true
	case string(models.FailureMerchantDisabled):
		return models.FailureMerchantDisabled, true
	}
	return "", false
}

// legacyReverseCharge refunds the whole of a charge at the channel that took it, in
// flows that predate pinned bank calls.
func legacyReverseCharge(ctx workflow.Context, t *tracker, chargeRef, merchantID string, amount int64, currency models.Currency, poll, deadline time.Duration) error {
	ref := legacyReversalReference(chargeRef)
	call := &legacyBankCall{
		tracker: t, reference: ref, stage: models.StageCompensating, poll: poll, deadline: deadline,
		callbacks: workflow.GetSignalChannel(ctx, SignalBankCallback),
		send: func(ctx workflow.Context, channel string) workflow.Future {
			return workflow.ExecuteActivity(ctx, bankActs.RefundAtBank, models.RefundAtBankInput{
				Reference: ref, ChargeReference: chargeRef, MerchantID: merchantID,
				Amount: amount, Currency: currency, Channel: channel,
			})
		},
	}
	res, err := call.run(ctx)
	if err != nil {
		return err
	}
	if res.Status != models.BankSucceeded {
		return fmt.Errorf("reversal %s failed at the bank: %s", ref, res.FailureCode)
	}
	return nil
}
