package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/models"
)

// Activity receivers: nil pointers whose method values name the activities. The
// worker registers the real ones under the same names.
var (
	bankActs    *activities.Bank
	paymentActs *activities.Payments
)

// PaymentWorkflow moves one payment: charge the card at the bank (waiting for the
// bank when it answers processing) or take the money from a wallet, post the ledger
// and record the outcome. It always completes with a PaymentResult; a failed payment
// is a business outcome, not a failed workflow.
func PaymentWorkflow(ctx workflow.Context, in models.PaymentInput) (models.PaymentResult, error) {
	return runFlow(moneyFlowContext(ctx), in, newPaymentFlow)
}

type paymentFlow struct {
	*tracker
	in   models.PaymentInput
	saga saga
}

// newPaymentFlow validates the input and sets up the tracker.
func newPaymentFlow(ctx workflow.Context, in models.PaymentInput) (*paymentFlow, error) {
	if in.PaymentID == "" || in.MerchantID == "" || in.Amount <= 0 || !in.Currency.Valid() {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("invalid payment input %q", in.PaymentID), models.ErrTypeInvalidInput, nil)
	}
	t, err := newTracker(ctx, models.FlowState{
		Flow:     models.FlowPayment,
		ObjectID: in.PaymentID,
		Stage:    StageAtStart(models.FlowPayment, in.Source.Type),
		Status:   string(models.PaymentProcessing),
		Channel:  in.Channel,
	}, opsUpdates, "payment_id", in.PaymentID, "merchant_id", in.MerchantID)
	if err != nil {
		return nil, err
	}
	return &paymentFlow{tracker: t, in: in}, nil
}

// StageAtStart is the stage a flow is created in; the starter sets it as the initial
// PayflowStage so that the workflow need not upsert it.
func StageAtStart(flow models.Flow, source models.SourceType) models.Stage {
	if flow == models.FlowPayment && source == models.SourceAccount {
		return models.StagePosting
	}
	return models.StageCharging
}

func (p *paymentFlow) run(ctx workflow.Context) (models.PaymentResult, error) {
	if p.in.Source.Type == models.SourceAccount {
		// A wallet payment moves money inside the ledger only: the posting itself
		// checks the wallet's available balance.
		return p.finalize(ctx, models.PaymentSucceeded, models.FailureNone)
	}
	charge := models.ChargeInput{
		Reference: p.in.PaymentID, MerchantID: p.in.MerchantID, Amount: p.in.Amount,
		Currency: p.in.Currency, Token: p.in.Source.Token, Channel: p.in.Channel,
	}
	callbacks := workflow.GetSignalChannel(ctx, SignalBankCallback)
	var res models.ChargeResult
	var err error
	if pinsBankCalls(ctx) {
		timing := bankTiming{poll: p.in.BankPoll, deadline: p.in.BankDeadline, deadlines: p.in.BankDeadlines}
		call := chargeCall(p.tracker, timing, charge, callbacks)
		if res, err = call.run(ctx); err == nil && res.Status == models.BankSucceeded {
			p.saga.add("reverse charge", call.compensate)
		}
	} else {
		res, err = legacyChargeCall(p.tracker, charge, p.in.BankPoll, p.in.BankDeadline, callbacks).run(ctx)
		if err == nil && res.Status == models.BankSucceeded {
			p.saga.add("reverse charge", func(ctx workflow.Context) error {
				return legacyReverseCharge(ctx, p.tracker, p.in.PaymentID, p.in.MerchantID, p.in.Amount, p.in.Currency, p.in.BankPoll, p.in.BankDeadline)
			})
		}
	}
	if err != nil {
		return models.PaymentResult{}, err
	}
	if res.Status != models.BankSucceeded {
		code := res.FailureCode
		if code == models.FailureNone {
			code = models.FailureCardDeclined
		}
		return p.finalize(ctx, models.PaymentFailed, code)
	}
	return p.finalize(ctx, models.PaymentSucceeded, models.FailureNone)
}

// finalize records the outcome: for a success the balanced journal and the status in
// one transaction; for a failure the status and code.
func (p *paymentFlow) finalize(ctx workflow.Context, status models.PaymentStatus, code models.FailureCode) (models.PaymentResult, error) {
	p.setStage(ctx, models.StagePosting)
	in := models.FinalizePaymentInput{
		PaymentID:   p.in.PaymentID,
		MerchantID:  p.in.MerchantID,
		Amount:      p.in.Amount,
		Currency:    p.in.Currency,
		Channel:     p.state.Channel,
		Source:      p.in.Source,
		Status:      status,
		FailureCode: code,
		PostingKey:  PostingKey(models.FlowPayment, p.in.PaymentID, "capture"),
	}
	var res models.FinalizePaymentResult
	if err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), paymentActs.FinalizePayment, in).Get(ctx, &res); err != nil {
		p.state.LastError = err.Error()
		if code, refused := postingRefused(err); refused && status == models.PaymentSucceeded && compensatesRefusedPosting(ctx) {
			// The money was taken but cannot be posted: give it back, then record the
			// payment failed with the refusal's code.
			p.logger.Warn("posting refused, compensating", "failure_code", code)
			p.setStage(ctx, models.StageCompensating)
			if err := p.saga.compensate(ctx); err != nil {
				return models.PaymentResult{}, fmt.Errorf("compensate payment %s: %w", p.in.PaymentID, err)
			}
			return p.finalize(ctx, models.PaymentFailed, code)
		}
		return models.PaymentResult{}, fmt.Errorf("finalize payment %s: %w", p.in.PaymentID, err)
	}
	if res.FailureCode != models.FailureNone {
		code = res.FailureCode
	}
	p.state.Status = string(res.Status)
	p.state.FailureCode = code
	p.notifyIfAsked(ctx, p.in.MerchantID, p.in.PaymentID, p.in.NotifyURL, models.FlowPayment, string(res.Status))
	p.setStage(ctx, models.StageDone)
	p.logger.Info("payment finished", "status", res.Status, "failure_code", code)
	return models.PaymentResult{Status: res.Status, FailureCode: code, Channel: p.state.Channel, JournalID: res.JournalID}, nil
}
