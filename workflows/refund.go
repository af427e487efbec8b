package workflows

import (
	"fmt"

	"go.temporal.io/sdk/log"
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
	ctx = moneyFlowContext(ctx)
	if in.RefundID == "" || in.PaymentID == "" || in.Amount <= 0 || !in.Currency.Valid() {
		return models.RefundResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("invalid refund input %q", in.RefundID), models.ErrTypeInvalidInput, nil)
	}
	t := &tracker{
		state: models.FlowState{
			Flow: models.FlowRefund, ObjectID: in.RefundID, Stage: models.StageValidating,
			Status: string(models.RefundProcessing), Channel: in.Channel,
		},
		logger: log.With(workflow.GetLogger(ctx), "refund_id", in.RefundID, "payment_id", in.PaymentID, "merchant_id", in.MerchantID),
	}
	if err := t.registerStateQuery(ctx); err != nil {
		return models.RefundResult{}, err
	}
	if err := t.registerOpsHandlers(ctx); err != nil {
		return models.RefundResult{}, err
	}
	finalize := func(status models.RefundStatus, code models.FailureCode, holdID string) (models.RefundResult, error) {
		t.setStage(ctx, models.StagePosting)
		var res models.RefundResult
		err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), refundActs.FinalizeRefund, models.FinalizeRefundInput{
			RefundID: in.RefundID, PaymentID: in.PaymentID, MerchantID: in.MerchantID, HoldID: holdID,
			Amount: in.Amount, Currency: in.Currency, Channel: in.Channel, Source: in.Source,
			Status: status, FailureCode: code, PostingKey: PostingKey(models.FlowRefund, in.RefundID, "reverse"),
		}).Get(ctx, &res)
		if err != nil {
			t.state.LastError = err.Error()
			return models.RefundResult{}, fmt.Errorf("finalize refund %s: %w", in.RefundID, err)
		}
		t.state.Status, t.state.FailureCode = string(res.Status), res.FailureCode
		t.notifyIfAsked(ctx, in.MerchantID, in.RefundID, in.NotifyURL, models.FlowRefund, string(res.Status))
		t.setStage(ctx, models.StageDone)
		t.logger.Info("refund finished", "status", res.Status, "failure_code", res.FailureCode)
		return res, nil
	}

	var hold models.PlaceHoldResult
	err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), holdActs.PlaceHold, models.PlaceHoldInput{
		Key: PostingKey(models.FlowRefund, in.RefundID, "hold"), MerchantID: in.MerchantID,
		Amount: in.Amount, Currency: in.Currency, Flow: models.FlowRefund, FlowID: in.RefundID,
	}).Get(ctx, &hold)
	if err != nil {
		return models.RefundResult{}, fmt.Errorf("hold for %s: %w", in.RefundID, err)
	}
	if hold.FailureCode != models.FailureNone {
		return finalize(models.RefundFailed, hold.FailureCode, "")
	}
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
				tracker: t, bankTiming: bankTiming{poll: in.BankPoll, deadline: in.BankDeadline, deadlines: in.BankDeadlines},
				kind: models.TransferRefund, reference: in.RefundID, merchant: in.MerchantID, amount: in.Amount,
				currency: in.Currency, channel: in.Channel, stage: models.StagePayingOut, owned: true,
				callbacks: callbacks, send: send,
			}).run(ctx)
		} else {
			res, err = (&legacyBankCall{
				tracker: t, reference: in.RefundID, stage: models.StagePayingOut,
				poll: in.BankPoll, deadline: in.BankDeadline, callbacks: callbacks, send: send,
			}).run(ctx)
		}
		if err != nil {
			return models.RefundResult{}, err
		}
		if res.Status != models.BankSucceeded {
			return finalize(models.RefundFailed, res.FailureCode, hold.HoldID)
		}
	}
	return finalize(models.RefundSucceeded, models.FailureNone, hold.HoldID)
}
