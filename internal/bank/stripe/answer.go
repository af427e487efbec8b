package stripe

import (
	"context"
	"fmt"

	stripego "github.com/stripe/stripe-go/v82"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// create sends a create call with our reference as its Idempotency-Key (p carries
// it as the object's metadata reference too) and reads Stripe's answer with read;
// an error is classified.
func create[P interface{ SetIdempotencyKey(string) }, T any](ctx context.Context, op, reference string, p P,
	call func(context.Context, P) (*T, error), read func(op, reference string, obj *T) (bank.Transfer, error)) (bank.Transfer, error) {
	p.SetIdempotencyKey(reference)
	obj, err := call(ctx, p)
	if err != nil {
		return bank.Transfer{}, classify(op, err)
	}
	return read(op, reference, obj)
}

// statuses maps the statuses of each kind of Stripe object onto the bank's; any
// other status is not an answer. A charge is succeeded, pending (processing) or
// failed. A payout is paid (succeeded), pending or in_transit (processing: Stripe
// decides days later), failed, or canceled (see payoutTransfer). A refund is
// succeeded, pending or requires_action (processing), or failed or canceled (failed).
var statuses = map[bank.Kind]map[string]models.BankStatus{
	bank.KindCharge: {
		string(stripego.ChargeStatusSucceeded): models.BankSucceeded,
		string(stripego.ChargeStatusPending):   models.BankProcessing,
		string(stripego.ChargeStatusFailed):    models.BankFailed,
	},
	bank.KindPayout: {
		string(stripego.PayoutStatusPaid):      models.BankSucceeded,
		string(stripego.PayoutStatusPending):   models.BankProcessing,
		string(stripego.PayoutStatusInTransit): models.BankProcessing,
		string(stripego.PayoutStatusFailed):    models.BankFailed,
		string(stripego.PayoutStatusCanceled):  models.BankCanceled,
	},
	bank.KindRefund: {
		string(stripego.RefundStatusSucceeded):      models.BankSucceeded,
		string(stripego.RefundStatusPending):        models.BankProcessing,
		string(stripego.RefundStatusRequiresAction): models.BankProcessing,
		string(stripego.RefundStatusFailed):         models.BankFailed,
		string(stripego.RefundStatusCanceled):       models.BankFailed,
	},
}

// answer is what a Stripe object tells of a transfer, whatever its kind.
type answer struct {
	id       string
	currency stripego.Currency
	amount   int64
	status   string
	// failure is the code of a transfer that failed or was canceled.
	failure models.FailureCode
}

// transfer is the bank's view of a Stripe object of the given kind with our
// reference, as read tells it: its id, its amount read back into ISO minor units,
// its status (statuses) and, failed or canceled, its failure code. No object, no
// id, an amount payflow cannot read or a status the kind does not have is not an
// answer.
func transfer[T any](op, reference string, kind bank.Kind, obj *T, read func(*T) answer) (bank.Transfer, error) {
	var a answer
	if obj != nil {
		a = read(obj)
	}
	if a.id == "" {
		return bank.Transfer{}, unreadable(op, "no "+string(kind)+" id")
	}
	currency, amount, err := fromStripe(a.currency, a.amount)
	if err != nil {
		return bank.Transfer{}, unreadable(op, err.Error())
	}
	status, ok := statuses[kind][a.status]
	if !ok {
		return bank.Transfer{}, unreadable(op, fmt.Sprintf("%s status %q", kind, a.status))
	}
	t := bank.Transfer{
		Reference: reference,
		Channel:   Name,
		Kind:      kind,
		Amount:    amount,
		Currency:  currency,
		Status:    status,
		BankID:    a.id,
	}
	if status == models.BankFailed || status == models.BankCanceled {
		t.FailureCode = a.failure
	}
	return t, nil
}
