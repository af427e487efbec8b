package stripe

import (
	"fmt"
	"strings"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// legacyReversalSuffix ends the reversal references of flows started before
// models.ReversalReference (<charge reference>.reversal); such flows may still be
// open, and their reversals must still be confirmed.
const legacyReversalSuffix = ".reversal"

// target is what one of our references names at Stripe.
type target struct {
	kind bank.Kind
	// since is the id whose creation time bounds a listing for the object: the
	// reference itself, or for a reversal the charge it reverses (a refund is never
	// older than its charge).
	since string
}

// resolve tells from a reference which kind of object carries it at Stripe:
// pay_ and top_ a charge, re_ a refund, rev_<charge> and the legacy
// <charge>.reversal a refund (the reversal of that charge), wd_ a payout. Any other
// reference is none that payflow sends, so nothing at Stripe can prove it absent:
// ErrUnknownOutcome, never a guess at the kind that would end in ErrNotFound.
func resolve(reference string) (target, error) {
	if charge, ok := reversedCharge(reference); ok {
		return target{kind: bank.KindRefund, since: charge}, nil
	}
	switch {
	case isCharge(reference):
		return target{kind: bank.KindCharge, since: reference}, nil
	case models.ValidID(models.PrefixRefund, reference):
		return target{kind: bank.KindRefund, since: reference}, nil
	case models.ValidID(models.PrefixWithdrawal, reference):
		return target{kind: bank.KindPayout, since: reference}, nil
	}
	return target{}, fmt.Errorf("%q is no reference payflow sends to stripe (pay_, top_, re_, rev_<charge>, wd_, <charge>%s), so stripe cannot be asked for it: %w",
		reference, legacyReversalSuffix, bank.ErrUnknownOutcome)
}

// reversedCharge returns the charge reference a reversal reference reverses, in
// either spelling.
func reversedCharge(reference string) (string, bool) {
	if charge, ok := models.ReversedCharge(reference); ok && isCharge(charge) {
		return charge, true
	}
	if charge, ok := strings.CutSuffix(reference, legacyReversalSuffix); ok && isCharge(charge) {
		return charge, true
	}
	return "", false
}

// isCharge reports whether a reference is that of a charge: a payment or a top-up.
func isCharge(reference string) bool {
	return models.ValidID(models.PrefixPayment, reference) || models.ValidID(models.PrefixTopup, reference)
}

// Resolvable reports whether the adapter can look a reference up at Stripe (it can
// tell the object's kind and creation time from it): nil, or the ErrUnknownOutcome
// that Query answers for it. Models of the Stripe channel (the simulation) ask it so
// that they find exactly what the adapter finds.
func Resolvable(reference string) error {
	_, err := resolve(reference)
	return err
}
