package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	stripego "github.com/stripe/stripe-go/v82"

	"github.com/payflow/payflow/internal/bank"
)

// Cancel implements bank.Channel. Only a payout can be stopped at Stripe, and only
// while it is pending: Cancel finds it by our reference and cancels it on the
// Payouts API, answering what Stripe then says (canceled). A transfer that already
// ended answers as it ended (paid is succeeded: a cancel never undoes an executed
// transfer). Everything else is ErrNotCancelable: a payout in transit, a charge or
// refund still pending (Stripe has no cancel for either that payflow's card
// charges and refunds can use), and a reference Stripe has not seen, since Stripe
// cannot refuse a reference in advance and a request of ours may still arrive.
func (c *Channel) Cancel(ctx context.Context, reference string) (bank.Transfer, error) {
	op := "cancel " + reference
	tg, err := resolve(reference)
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("%s: %w", op, err)
	}
	if tg.kind == bank.KindPayout {
		return c.cancelPayout(ctx, op, reference)
	}
	t, err := c.Query(ctx, reference)
	switch {
	case err != nil:
		return bank.Transfer{}, lookupFailed(op, tg.kind, err)
	case !t.Status.Final():
		return bank.Transfer{}, fmt.Errorf("%s: the %s is %s at stripe, which has no cancel for it: %w", op, tg.kind, t.Status, bank.ErrNotCancelable)
	}
	return t, nil
}

// cancelPayout cancels the payout with our reference if it is pending, and
// otherwise answers what it is.
func (c *Channel) cancelPayout(ctx context.Context, op, reference string) (bank.Transfer, error) {
	po, err := c.findPayout(ctx, reference)
	switch {
	case err != nil:
		return bank.Transfer{}, lookupFailed(op, bank.KindPayout, err)
	case po.Status != stripego.PayoutStatusPending:
		return canceledPayout(op, reference, po)
	}
	// stripe-go's V1Payouts.Cancel posts to /v1/topups/{id}/cancel (v82.5.1), a
	// top-up's cancel: the path is Stripe's payout cancel, called on the backend.
	canceled := &stripego.Payout{}
	err = c.api.Call(http.MethodPost, stripego.FormatURLPath("/v1/payouts/%s/cancel", po.ID), c.key,
		&stripego.PayoutCancelParams{Params: stripego.Params{Context: ctx}}, canceled)
	if err == nil {
		return canceledPayout(op, reference, canceled)
	}
	err = classify(op, err)
	if !errors.Is(err, bank.ErrInvalid) {
		return bank.Transfer{}, err
	}
	// Stripe refused the cancel: the payout moved on since we read it (in transit,
	// paid, failed, or canceled by someone else). What it is now is the answer.
	now := &stripego.Payout{}
	if rerr := c.api.Call(http.MethodGet, stripego.FormatURLPath("/v1/payouts/%s", po.ID), c.key,
		&stripego.PayoutRetrieveParams{Params: stripego.Params{Context: ctx}}, now); rerr != nil {
		rerr = classify(op+": read the payout again", rerr)
		if errors.Is(rerr, bank.ErrInvalid) {
			return bank.Transfer{}, fmt.Errorf("%s: stripe refused the cancel (%v) and the payout cannot be read: %w", op, err, bank.ErrNotCancelable)
		}
		return bank.Transfer{}, rerr
	}
	return canceledPayout(op, reference, now)
}

// canceledPayout is Cancel's answer for a payout as Stripe now has it: a final
// transfer, or ErrNotCancelable for one that is still on its way.
func canceledPayout(op, reference string, po *stripego.Payout) (bank.Transfer, error) {
	t, err := payoutTransfer(op, reference, po)
	if err != nil {
		return bank.Transfer{}, err
	}
	if !t.Status.Final() {
		return bank.Transfer{}, fmt.Errorf("%s: payout %s is %s at stripe and can no longer be stopped: %w", op, po.ID, po.Status, bank.ErrNotCancelable)
	}
	return t, nil
}

// lookupFailed is Cancel's answer when it could not find the transfer: for a
// reference Stripe has no object of, ErrNotCancelable, as that is not proof that it
// never will have one (Stripe cannot refuse a reference in advance); otherwise the
// lookup's error.
func lookupFailed(op string, kind bank.Kind, err error) error {
	if errors.Is(err, bank.ErrNotFound) {
		return fmt.Errorf("%s: stripe has no %s with this reference yet, and cannot refuse it in advance: %w", op, kind, bank.ErrNotCancelable)
	}
	return fmt.Errorf("%s: %w", op, err)
}
