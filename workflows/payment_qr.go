package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// ErrQRInUse is the open Update's refusal of a second wallet provider: the payment
// is bound to the first app that opened its page.
var ErrQRInUse = errors.New("this code is in use by another app")

// registerOpenQR registers the open Update every payment answers (its validator
// refuses it but for a QR payment waiting for its customer): the first wallet
// provider whose app opens the payment's page binds it, and the trade is opened
// there; the same provider again gets the same checkout page.
func (p *paymentFlow) registerOpenQR(ctx workflow.Context) error {
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateOpenQR,
		func(ctx workflow.Context, o models.OpenQR) (models.OpenedQR, error) {
			if p.bound != "" && p.bound != o.Provider {
				return models.OpenedQR{}, ErrQRInUse
			}
			if p.bound == "" {
				p.bound = o.Provider
				p.noteChannel(ctx, o.Provider)
				p.logger.Info("QR code opened by a wallet app: bound", "provider", o.Provider)
			}
			if p.checkoutURL == "" {
				var res models.ChargeResult
				if err := p.openTrade(bankActivityOptions(ctx), o.Provider).Get(ctx, &res); err != nil {
					return models.OpenedQR{}, fmt.Errorf("open the trade at %s: %w", o.Provider, err)
				}
				p.checkoutURL = res.CheckoutURL
			}
			return models.OpenedQR{CheckoutURL: p.checkoutURL}, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, o models.OpenQR) error {
			switch {
			case p.in.Source.Type != models.SourceQR:
				return fmt.Errorf("not a QR payment")
			case !models.IsQRProvider(o.Provider):
				return fmt.Errorf("%q is not a wallet provider of QR payments", o.Provider)
			case p.state.Stage != models.StageWaitingCustomer || !workflow.Now(ctx).Before(p.in.QRExpiresAt) || p.cancelReq != nil:
				return fmt.Errorf("the code has expired")
			case p.bound != "" && p.bound != o.Provider:
				return ErrQRInUse
			}
			return nil
		}},
	)
	if err != nil {
		return fmt.Errorf("register open update: %w", err)
	}
	return nil
}

// runQR is a QR payment: it waits for a wallet app to open its page (the open
// Update binds it and opens the trade), then for the provider to say the customer
// paid (its notification wakes the flow, a query decides), until QRExpiresAt, when
// it closes the trade: "already paid" is a success, else the payment fails expired.
// Nothing opened by then fails it expired with nothing at any provider.
func (p *paymentFlow) runQR(ctx workflow.Context) (models.PaymentResult, error) {
	p.setStage(ctx, models.StageWaitingCustomer)
	p.cancelable = true
	_, err := workflow.AwaitWithTimeout(ctx, p.in.QRExpiresAt.Sub(workflow.Now(ctx)), func() bool {
		return p.bound != "" || p.cancelReq != nil
	})
	p.cancelable = false
	switch {
	case err != nil:
		return models.PaymentResult{}, err
	case p.bound == "" && p.cancelReq != nil:
		return p.finalize(ctx, models.PaymentFailed, models.FailureCanceled)
	case p.bound == "":
		p.logger.Info("no wallet app opened the QR code before it expired")
		return p.finalize(ctx, models.PaymentFailed, models.FailureExpired)
	}
	timing := bankTiming{
		poll: min(p.in.BankPoll, codePoll), deadline: p.in.QRExpiresAt.Sub(workflow.Now(ctx)),
		waitStage: models.StageWaitingCustomer, onDeadline: models.FailureExpired,
	}
	if timing.poll <= 0 {
		timing.poll = codePoll
	}
	charge := models.ChargeInput{
		Reference: p.in.PaymentID, MerchantID: p.in.MerchantID, Amount: p.in.Amount, Currency: p.in.Currency, Channel: p.bound,
	}
	call := chargeCall(p.tracker, timing, charge, workflow.GetSignalChannel(ctx, SignalBankCallback))
	call.closes = true
	// The trade is opened by the open Update; a provider that has not seen it (the
	// open's activity still on its way) is asked to open it again (the same trade).
	call.send = p.openTrade
	call.at, call.sent = p.bound, true
	res, err := call.waitBank(ctx)
	if err == nil && res.Status == models.BankSucceeded {
		p.saga.add("reverse charge", call.compensate)
	}
	if res.Status != models.BankSucceeded && res.FailureCode == models.FailureNone {
		res.FailureCode = models.FailureExpired
	}
	return settle(ctx, res, err, p.finalize, models.PaymentSucceeded, models.PaymentFailed)
}

// openTrade opens (again: the same) the payment's trade at a wallet provider, with
// the context's activity options.
func (p *paymentFlow) openTrade(ctx workflow.Context, channel string) workflow.Future {
	return workflow.ExecuteActivity(ctx, bankActs.OpenTrade, models.OpenTradeInput{
		Reference: p.in.PaymentID, MerchantID: p.in.MerchantID, Amount: p.in.Amount, Currency: p.in.Currency, Channel: channel,
	})
}
