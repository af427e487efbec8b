package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/models"
)

var refundActs *activities.Refunds

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
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("invalid refund input %q", in.RefundID), models.ErrTypeInvalidInput, nil)
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
	if in.Source.Type != models.SourceAccount {
		callbacks := workflow.GetSignalChannel(ctx, SignalBankCallback)
		refund := models.RefundAtBankInput{
			Reference: in.RefundID, ChargeReference: in.PaymentID, MerchantID: in.MerchantID,
			Amount: in.Amount, Currency: in.Currency,
		}
		send := func(ctx workflow.Context, channel string) workflow.Future {
			refund := refund
			refund.Channel = channel
			return workflow.ExecuteActivity(ctx, bankActs.RefundAtBank, refund)
		}
		var res models.ChargeResult
		var err error
		if pinsBankCalls(ctx) {
			// The refund goes to the channel that took the charge (the payment
			// records the real one); it is not routed again.
			res, err = (&bankCall{
				tracker: r.tracker, bankTiming: bankTiming{poll: in.BankPoll, deadline: in.BankDeadline, deadlines: in.BankDeadlines},
				kind: models.TransferRefund, reference: in.RefundID, merchant: in.MerchantID, amount: in.Amount,
				currency: in.Currency, channel: in.Channel, stage: models.StagePayingOut, owned: true,
				callbacks: callbacks, send: send,
			}).run(ctx)
		} else {
			res, err = (&legacyBankCall{
				tracker: r.tracker, reference: in.RefundID, stage: models.StagePayingOut,
				poll: in.BankPoll, deadline: in.BankDeadline, callbacks: callbacks, send: send,
			}).run(ctx)
		}
		if err != nil {
			return models.RefundResult{}, err
		}
		if res.Status != models.BankSucceeded {
			return r.finalize(ctx, models.RefundFailed, res.FailureCode)
		}
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
		r.state.LastError = err.Error()
		return models.RefundResult{}, fmt.Errorf("finalize refund %s: %w", in.RefundID, err)
	}
	r.state.Status, r.state.FailureCode = string(res.Status), res.FailureCode
	r.notifyIfAsked(ctx, in.MerchantID, in.RefundID, in.NotifyURL, models.FlowRefund, string(res.Status))
	r.setStage(ctx, models.StageDone)
	r.logger.Info("refund finished", "status", res.Status, "failure_code", res.FailureCode)
	return res, nil
}
