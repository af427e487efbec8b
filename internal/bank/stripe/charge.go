package stripe

import (
	"context"
	"fmt"

	stripego "github.com/stripe/stripe-go/v82"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
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

// chargeTransfer is the bank's view of a charge: succeeded, pending (processing)
// or failed with a code. Any other status is not an answer.
func chargeTransfer(op, reference string, ch *stripego.Charge) (bank.Transfer, error) {
	if ch == nil || ch.ID == "" {
		return bank.Transfer{}, unreadable(op, "no charge id")
	}
	currency, amount, err := fromStripe(ch.Currency, ch.Amount)
	if err != nil {
		return bank.Transfer{}, unreadable(op, err.Error())
	}
	t := bank.Transfer{
		Reference: reference,
		Channel:   Name,
		Kind:      bank.KindCharge,
		Amount:    amount,
		Currency:  currency,
		BankID:    ch.ID,
	}
	switch ch.Status {
	case stripego.ChargeStatusSucceeded:
		t.Status = models.BankSucceeded
	case stripego.ChargeStatusPending:
		t.Status = models.BankProcessing
	case stripego.ChargeStatusFailed:
		t.Status = models.BankFailed
		reason := ""
		if ch.Outcome != nil {
			reason = ch.Outcome.Reason
		}
		t.FailureCode = chargeFailureCode(ch.FailureCode, reason)
	default:
		return bank.Transfer{}, unreadable(op, fmt.Sprintf("charge status %q", ch.Status))
	}
	return t, nil
}
