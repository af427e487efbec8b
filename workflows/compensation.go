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

// charging is what the flows that charge a card (payment, top-up) share: the tracker,
// and the saga that reverses the charge once it succeeded.
type charging struct {
	*tracker
	saga saga
}

// charge charges the card at the bank, waits until the bank decides, and arms the
// charge's reversal once it succeeded.
func (c *charging) charge(ctx workflow.Context, in models.ChargeInput, timing bankTiming) (models.ChargeResult, error) {
	callbacks := workflow.GetSignalChannel(ctx, SignalBankCallback)
	var res models.ChargeResult
	var err error
	var reverse func(ctx workflow.Context) error
	if pinsBankCalls(ctx) {
		call := chargeCall(c.tracker, timing, in, callbacks)
		res, err = call.run(ctx)
		reverse = call.compensate
	} else {
		res, err = legacyChargeCall(c.tracker, in, timing.poll, timing.deadline, callbacks).run(ctx)
		reverse = func(ctx workflow.Context) error {
			return legacyReverseCharge(ctx, c.tracker, in.Reference, in.MerchantID, in.Amount, in.Currency, timing.poll, timing.deadline)
		}
	}
	if err == nil && res.Status == models.BankSucceeded {
		c.saga.add("reverse charge", reverse)
	}
	return res, err
}

// postingFailed handles a finalize activity that failed with err. When it refused
// to post a success (success) after the card was charged, the money cannot be kept:
// the saga gives it back and postingFailed returns the refusal's code, with which
// the flow records itself failed. Otherwise (or in a flow that predates
// changeCompensation) it returns the error the flow fails with.
func (c *charging) postingFailed(ctx workflow.Context, err error, success bool) (models.FailureCode, error) {
	code, refused := postingRefused(err)
	if !refused || !success || !compensatesRefusedPosting(ctx) {
		return "", c.finalizeFailed(err)
	}
	c.state.LastError = err.Error()
	c.logger.Warn("posting refused, compensating", "failure_code", code)
	c.setStage(ctx, models.StageCompensating)
	if err := c.saga.compensate(ctx); err != nil {
		return "", fmt.Errorf("compensate %s %s: %w", c.state.Flow, c.state.ObjectID, err)
	}
	return code, nil
}

// legacyReverseCharge refunds the whole of a charge at the channel that took it, in
// flows that predate pinned bank calls.
func legacyReverseCharge(ctx workflow.Context, t *tracker, chargeRef, merchantID string, amount int64, currency models.Currency, poll, deadline time.Duration) error {
	ref := legacyReversalReference(chargeRef)
	call := &legacyBankCall{
		tracker: t, reference: ref, stage: models.StageCompensating, poll: poll, deadline: deadline,
		callbacks: workflow.GetSignalChannel(ctx, SignalBankCallback),
		send: refundAtBank(models.RefundAtBankInput{
			Reference: ref, ChargeReference: chargeRef, MerchantID: merchantID, Amount: amount, Currency: currency,
		}),
	}
	return reversal(ctx, call, ref, "failed")
}

// reversal runs the bank call that reverses a charge: a refund the bank did not make is
// an error (an operator must see it), worded with failed.
func reversal(ctx workflow.Context, call interface {
	run(workflow.Context) (models.ChargeResult, error)
}, ref, failed string) error {
	res, err := call.run(ctx)
	if err != nil {
		return err
	}
	if res.Status != models.BankSucceeded {
		return fmt.Errorf("reversal %s %s at the bank: %s", ref, failed, res.FailureCode)
	}
	return nil
}
