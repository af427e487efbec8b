package stripe

import (
	"context"
	"errors"
	"fmt"

	stripego "github.com/stripe/stripe-go/v82"

	"github.com/payflow/payflow/internal/bank"
)

// Refund implements bank.Channel: it finds the Stripe charge of ChargeReference (as
// Query does) and refunds it on the Refunds API with the refund's reference (re_,
// or rev_<charge> for a reversal) as the Idempotency-Key and as metadata. A
// ChargeReference that names no charge (pay_, top_) is ErrInvalid before any call.
func (c *Channel) Refund(ctx context.Context, r bank.RefundRequest) (bank.Transfer, error) {
	op := "refund " + r.Reference
	if tg, err := resolve(r.ChargeReference); err != nil || tg.kind != bank.KindCharge {
		return bank.Transfer{}, fmt.Errorf("%s: %q is not a charge reference: %w", op, r.ChargeReference, bank.ErrInvalid)
	}
	ch, err := c.findCharge(ctx, r.ChargeReference)
	switch {
	case errors.Is(err, bank.ErrNotFound):
		return bank.Transfer{}, fmt.Errorf("%s: stripe has no charge %s: %w", op, r.ChargeReference, bank.ErrInvalid)
	case err != nil:
		// Nothing was sent for the refund yet: whatever stopped the lookup, a
		// retry is safe.
		return bank.Transfer{}, fmt.Errorf("%s: find charge %s: %w (%v)", op, r.ChargeReference, bank.ErrUnavailable, err)
	}
	currency := upper(ch.Currency)
	if r.Currency != "" && r.Currency != currency {
		return bank.Transfer{}, fmt.Errorf("%s: charge %s is in %s, not %s: %w", op, r.ChargeReference, currency, r.Currency, bank.ErrInvalid)
	}
	// In the charge's currency: a request that does not name it refunds in it.
	amount, err := toStripe(currency, r.Amount, bank.KindRefund)
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("%s: %w", op, err)
	}
	p := &stripego.RefundCreateParams{
		Charge:   stripego.String(ch.ID),
		Amount:   stripego.Int64(amount),
		Metadata: map[string]string{metaReference: r.Reference},
	}
	return create(ctx, op, r.Reference, p, c.sc.V1Refunds.Create, refundTransfer)
}

// refundTransfer is the bank's view of a refund. pending and requires_action are
// processing; failed and canceled are failed, insufficient_funds when Stripe's
// failure_reason says so and card_declined otherwise (the card can no longer take
// the money: expired_or_canceled_card, lost_or_stolen_card, declined...).
func refundTransfer(op, reference string, rf *stripego.Refund) (bank.Transfer, error) {
	return transfer(op, reference, bank.KindRefund, rf, func(rf *stripego.Refund) answer {
		return answer{rf.ID, rf.Currency, rf.Amount, string(rf.Status), chargeFailureCode(string(rf.FailureReason))}
	})
}
