package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// RefundWorkflow gives part or all of a payment back. It holds the amount on the
// merchant's settlement account first (a merchant that has already been paid out
// cannot refund money it does not have), refunds at the bank that took the charge
// (reference re_...; a wallet payment's refund needs no bank), then posts the
// reversing journal by settling the hold. A failure at the bank releases the hold.
func RefundWorkflow(ctx workflow.Context, in models.RefundInput) (models.RefundResult, error) {
	return runFlow(moneyFlowContext(ctx), in, newRefundFlow)
}

type refundFlow struct {
	*tracker
	in     models.RefundInput
	holdID string
}

// newRefundFlow validates the input and sets up the tracker.
func newRefundFlow(ctx workflow.Context, in models.RefundInput) (*refundFlow, error) {
	if in.RefundID == "" || in.PaymentID == "" || in.Amount <= 0 || !in.Currency.Valid() {
		return nil, invalidInput("invalid refund input %q", in.RefundID)
	}
	t, err := newTracker(ctx, models.FlowState{
		Flow: models.FlowRefund, ObjectID: in.RefundID, Stage: models.StageValidating,
		Status: string(models.RefundProcessing), Channel: in.Channel,
	}, opsUpdates, "refund_id", in.RefundID, "payment_id", in.PaymentID, "merchant_id", in.MerchantID)
	if err != nil {
		return nil, err
	}
	return &refundFlow{tracker: t, in: in}, nil
}

func (r *refundFlow) run(ctx workflow.Context) (models.RefundResult, error) {
	in := r.in
	var hold models.PlaceHoldResult
	err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), holdActs.PlaceHold, models.PlaceHoldInput{
		Key: PostingKey(models.FlowRefund, in.RefundID, "hold"), MerchantID: in.MerchantID,
		Amount: in.Amount, Currency: in.Currency, Flow: models.FlowRefund, FlowID: in.RefundID,
	}).Get(ctx, &hold)
	if err != nil {
		return models.RefundResult{}, fmt.Errorf("hold for %s: %w", in.RefundID, err)
	}
	if hold.FailureCode != models.FailureNone {
		return r.finalize(ctx, models.RefundFailed, hold.FailureCode)
	}
	r.holdID = hold.HoldID
	if !in.Source.Wallet() {
		// The refund goes to the channel that took the charge (the payment records the
		// real one); it is not routed again.
		call := &bankCall{
			tracker: r.tracker, bankTiming: bankTiming{poll: in.BankPoll, deadline: in.BankDeadline, deadlines: in.BankDeadlines},
			kind: models.TransferRefund, reference: in.RefundID, merchant: in.MerchantID, amount: in.Amount,
			currency: in.Currency, channel: in.Channel, stage: models.StagePayingOut, owned: true,
			callbacks: workflow.GetSignalChannel(ctx, SignalBankCallback),
			send: refundAtBank(models.RefundAtBankInput{
				Reference: in.RefundID, ChargeReference: in.PaymentID, MerchantID: in.MerchantID,
				Amount: in.Amount, Currency: in.Currency,
			}),
		}
		var res models.ChargeResult
		var err error
		if pinsBankCalls(ctx) {
			res, err = call.run(ctx)
		} else {
			res, err = call.legacy().run(ctx)
		}
		return settle(ctx, res, err, r.finalize, models.RefundSucceeded, models.RefundFailed)
	}
	return r.finalize(ctx, models.RefundSucceeded, models.FailureNone)
}

// finalize settles the hold (the reversing journal) or releases it, and records the
// status, in one transaction.
func (r *refundFlow) finalize(ctx workflow.Context, status models.RefundStatus, code models.FailureCode) (models.RefundResult, error) {
	in := r.in
	r.setStage(ctx, models.StagePosting)
	var res models.RefundResult
	err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), refundActs.FinalizeRefund, models.FinalizeRefundInput{
		RefundID: in.RefundID, PaymentID: in.PaymentID, MerchantID: in.MerchantID, HoldID: r.holdID,
		Amount: in.Amount, Currency: in.Currency, Channel: in.Channel, Source: in.Source,
		Status: status, FailureCode: code, PostingKey: PostingKey(models.FlowRefund, in.RefundID, "reverse"),
	}).Get(ctx, &res)
	if err != nil {
		return models.RefundResult{}, r.finalizeFailed(err)
	}
	r.finished(ctx, in.MerchantID, in.NotifyURL, string(res.Status), res.FailureCode)
	return res, nil
}
