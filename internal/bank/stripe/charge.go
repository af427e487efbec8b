package stripe

import (
	"context"
	"fmt"

	stripego "github.com/stripe/stripe-go/v82"

	"github.com/payflow/payflow/internal/bank"
)

// Charge implements bank.Channel: a charge on the Charges API with the card token
// as its source, our reference as the Idempotency-Key and as metadata.
func (c *Channel) Charge(ctx context.Context, r bank.ChargeRequest) (bank.Transfer, error) {
	op := "charge " + r.Reference
	amount, err := toStripe(r.Currency, r.Amount, bank.KindCharge)
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("%s: %w", op, err)
	}
	p := &stripego.ChargeCreateParams{
		Amount:   stripego.Int64(amount),
		Currency: lower(r.Currency),
		Metadata: map[string]string{metaReference: r.Reference},
	}
	if err := p.SetSource(r.Token); err != nil {
		return bank.Transfer{}, fmt.Errorf("%s: %w: %v", op, bank.ErrInvalid, err)
	}
	// As create, but that a card's refusal is an answer: a failed transfer.
	p.SetIdempotencyKey(r.Reference)
	ch, err := c.sc.V1Charges.Create(ctx, p)
	if err != nil {
		if t, ok := declined(r, err); ok {
			return t, nil
		}
		return bank.Transfer{}, classify(op, err)
	}
	return chargeTransfer(op, r.Reference, ch)
}

// chargeTransfer is the bank's view of a charge; a failed one has the code of its
// failure_code and outcome reason.
func chargeTransfer(op, reference string, ch *stripego.Charge) (bank.Transfer, error) {
	return transfer(op, reference, bank.KindCharge, ch, func(ch *stripego.Charge) answer {
		reason := ""
		if ch.Outcome != nil {
			reason = ch.Outcome.Reason
		}
		return answer{ch.ID, ch.Currency, ch.Amount, string(ch.Status), chargeFailureCode(ch.FailureCode, reason)}
	})
}
