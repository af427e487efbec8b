package workflows

import (
	"cmp"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// PaymentWorkflow moves one payment: charge the card at the bank (waiting for the
// bank when it answers processing) or take the money from a wallet, post the ledger
// and record the outcome. It always completes with a PaymentResult; a failed payment
// is a business outcome, not a failed workflow.
func PaymentWorkflow(ctx workflow.Context, in models.PaymentInput) (models.PaymentResult, error) {
	return runFlow(moneyFlowContext(ctx), in, newPaymentFlow)
}

type paymentFlow struct {
	charging
	in models.PaymentInput
	// confirmed is the wallet owner's accepted confirmation.
	confirmed bool
	// bound is the wallet provider a QR payment bound to (the first whose app
	// opened its page), and checkoutURL its trade's checkout page once opened.
	bound, checkoutURL string
}

// newPaymentFlow validates the input and sets up the tracker.
func newPaymentFlow(ctx workflow.Context, in models.PaymentInput) (*paymentFlow, error) {
	if in.PaymentID == "" || in.MerchantID == "" || in.Amount <= 0 || !in.Currency.Valid() {
		return nil, invalidInput("invalid payment input %q", in.PaymentID)
	}
	t, err := newTracker(ctx, models.FlowState{
		Flow:     models.FlowPayment,
		ObjectID: in.PaymentID,
		Stage:    PaymentStageAtStart(in),
		Status:   string(models.PaymentProcessing),
		Channel:  in.Channel,
	}, opsUpdates, "payment_id", in.PaymentID, "merchant_id", in.MerchantID)
	if err != nil {
		return nil, err
	}
	p := &paymentFlow{charging: charging{tracker: t}, in: in}
	// Every payment answers the confirm Update; its validator refuses it unless
	// the flow waits for that confirmation, so a refused one never enters the
	// history (and a registration adds nothing to it either).
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateConfirm,
		func(ctx workflow.Context, c models.ConfirmPayment) error {
			p.confirmed = true
			p.logger.Info("the wallet owner confirmed the payment")
			return nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, c models.ConfirmPayment) error {
			switch {
			case p.state.Stage != models.StageWaitingCustomer || p.confirmed || p.cancelReq != nil:
				return fmt.Errorf("the payment is not waiting for a confirmation (stage %s)", p.state.Stage)
			case c.AccountID != p.in.Source.AccountID:
				return fmt.Errorf("the confirmation names another wallet than the payment's")
			}
			return nil
		}},
	)
	if err != nil {
		return nil, fmt.Errorf("register confirm update: %w", err)
	}
	if err := p.registerOpenQR(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// codePoll is how often a payment code's trade is queried while its customer
// confirms (the provider's notification wakes the flow sooner).
const codePoll = 3 * time.Second

// PaymentStageAtStart is the stage a payment's flow starts in: a wallet code payment
// that needs its customer's confirmation waits for it first.
func PaymentStageAtStart(in models.PaymentInput) models.Stage {
	if in.Source.Type == models.SourceQR {
		return models.StageWaitingCustomer
	}
	if in.Source.Type == models.SourcePaymentCode && in.Source.Wallet() {
		if in.ConfirmationRequired {
			return models.StageWaitingCustomer
		}
		return models.StagePosting
	}
	return StageAtStart(models.FlowPayment, in.Source.Type)
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
	if p.in.Source.Type == models.SourceQR {
		return p.runQR(ctx)
	}
	if p.in.Source.Wallet() {
		// A wallet payment moves money inside the ledger only: the posting itself
		// checks the wallet's available balance. One over the merchant's
		// no_password_limit waits for the wallet owner first; without a
		// confirmation nothing is debited.
		if p.in.ConfirmationRequired {
			if code := p.awaitConfirmation(ctx); code != models.FailureNone {
				return p.finalize(ctx, models.PaymentFailed, code)
			}
		}
		return p.finalize(ctx, models.PaymentSucceeded, models.FailureNone)
	}
	charge := models.ChargeInput{
		Reference: p.in.PaymentID, MerchantID: p.in.MerchantID, Amount: p.in.Amount,
		Currency: p.in.Currency, Token: p.in.Source.Token, Channel: p.in.Channel,
	}
	timing := bankTiming{poll: p.in.BankPoll, deadline: p.in.BankDeadline, deadlines: p.in.BankDeadlines}
	if p.in.Source.Type == models.SourcePaymentCode {
		// A wallet provider's payment code: the provider charges it at once, or
		// answers USERPAYING while the customer confirms in the app. The flow
		// queries it (and wakes on the provider's notification) until it decides,
		// and past ConfirmWithin cancels the trade, which gives back a payment
		// that landed meanwhile: the payment fails customer_not_confirmed.
		charge.Token = p.in.Source.Code
		timing = bankTiming{
			poll: min(p.in.BankPoll, codePoll), deadline: cmp.Or(p.in.ConfirmWithin, models.DefaultCodeConfirmTimeout),
			waitStage: models.StageWaitingCustomer, onDeadline: models.FailureCustomerNotConfirmed,
		}
		if timing.poll <= 0 {
			timing.poll = codePoll
		}
	}
	res, err := p.charge(ctx, charge, timing)
	if res.Status != models.BankSucceeded && res.FailureCode == models.FailureNone {
		res.FailureCode = models.FailureCardDeclined
	}
	return settle(ctx, res, err, p.finalize, models.PaymentSucceeded, models.PaymentFailed)
}

// awaitConfirmation waits up to ConfirmWithin for the wallet owner's confirmation
// (the confirm Update) or an operator's cancel; it answers the failure code of the
// payment when there is none.
func (p *paymentFlow) awaitConfirmation(ctx workflow.Context) models.FailureCode {
	p.setStage(ctx, models.StageWaitingCustomer)
	p.cancelable = true
	defer func() { p.cancelable = false }()
	within := p.in.ConfirmWithin
	if within <= 0 {
		within = models.DefaultCodeConfirmTimeout
	}
	ok, err := workflow.AwaitWithTimeout(ctx, within, func() bool { return p.confirmed || p.cancelReq != nil })
	switch {
	case p.cancelReq != nil:
		return models.FailureCanceled
	case err != nil || !ok:
		p.logger.Info("no confirmation in time", "within", within)
		return models.FailureCustomerNotConfirmed
	}
	return models.FailureNone
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
		code, err := p.postingFailed(ctx, err, status == models.PaymentSucceeded)
		if err != nil {
			return models.PaymentResult{}, err
		}
		return p.finalize(ctx, models.PaymentFailed, code)
	}
	if res.FailureCode != models.FailureNone {
		code = res.FailureCode
	}
	p.finished(ctx, p.in.MerchantID, p.in.NotifyURL, string(res.Status), code)
	return models.PaymentResult{Status: res.Status, FailureCode: code, Channel: p.state.Channel, JournalID: res.JournalID}, nil
}
