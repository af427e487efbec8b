package stripe

import (
	"context"
	"fmt"

	stripego "github.com/stripe/stripe-go/v82"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// Payout implements bank.Channel: a payout on the Payouts API to the destination
// bank account, with our reference as the Idempotency-Key and as metadata.
func (c *Channel) Payout(ctx context.Context, r bank.PayoutRequest) (bank.Transfer, error) {
	op := "payout " + r.Reference
	amount, err := toStripe(r.Currency, r.Amount, bank.KindPayout)
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("%s: %w", op, err)
	}
	p := &stripego.PayoutCreateParams{
		Amount:      stripego.Int64(amount),
		Currency:    lower(r.Currency),
		Destination: stripego.String(r.BankAccount),
		Metadata:    map[string]string{metaReference: r.Reference},
	}
	return create(ctx, op, r.Reference, p, c.sc.V1Payouts.Create, payoutTransfer)
}

// payoutTransfer is the bank's view of a payout: paid is succeeded; pending and
// in_transit are processing (Stripe decides days later); failed is failed, with the
// code of payoutFailureCode; canceled is canceled.
//
// A canceled payout is canceled whoever canceled it (our Cancel, or someone in
// Stripe's Dashboard): Stripe does not say who did, its money went back to the
// balance, and it never executes; and a query after a Cancel whose answer was lost
// must read what the Cancel would have answered. It keeps payoutFailureCode's code
// (bank_unavailable: nothing the customer's account is at fault for), so that a flow
// that never asked for the cancel still ends failed with a code, as it did when
// canceled mapped to failed; a flow that asked for it decides its own code.
func payoutTransfer(op, reference string, po *stripego.Payout) (bank.Transfer, error) {
	return transfer(op, reference, bank.KindPayout, po, func(po *stripego.Payout) answer {
		return answer{po.ID, po.Currency, po.Amount, string(po.Status), payoutFailureCode(po.FailureCode)}
	})
}

// payoutFailureCode: the destination account cannot receive money (closed, does
// not exist, wrong number, frozen, restricted) is account_closed, which tells the
// customer to fix the destination; everything else (could_not_process, declined,
// Stripe balance insufficient, no code at all as on a canceled payout...) is
// bank_unavailable: nothing the customer's account is at fault for.
func payoutFailureCode(code stripego.PayoutFailureCode) models.FailureCode {
	switch code {
	case stripego.PayoutFailureCodeAccountClosed, stripego.PayoutFailureCodeNoAccount,
		stripego.PayoutFailureCodeInvalidAccountNumber, stripego.PayoutFailureCodeAccountFrozen,
		stripego.PayoutFailureCodeBankAccountRestricted:
		return models.FailureAccountClosed
	default:
		return models.FailureBankUnavailable
	}
}
