package stripe

import (
	"context"
	"errors"
	"fmt"
	"strings"

	stripego "github.com/stripe/stripe-go/v82"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// Query implements bank.Channel. It reads, never writes: the kind of object comes
// from our reference (see resolve), and the object is the one whose metadata
// "reference" is exactly the reference.
//
// ErrNotFound authorizes a second charge with the same reference (possibly on
// another channel, through the auto router), so it is answered only when Stripe's
// list API, which is strongly consistent, has read every object of that kind created
// since the reference existed without finding it. Charges are looked up with the
// search API first, the cheap way to find one that exists; a search without a
// result proves nothing, since the search index lags behind writes.
func (c *Channel) Query(ctx context.Context, reference string) (bank.Transfer, error) {
	op := "query " + reference
	tg, err := resolve(reference)
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("%s: %w", op, err)
	}
	switch tg.kind {
	case bank.KindRefund:
		rf, err := c.findRefund(ctx, reference, tg.since)
		if err != nil {
			return bank.Transfer{}, err
		}
		return refundTransfer(op, reference, rf)
	case bank.KindPayout:
		po, err := c.findPayout(ctx, reference)
		if err != nil {
			return bank.Transfer{}, err
		}
		return payoutTransfer(op, reference, po)
	default:
		ch, err := c.findCharge(ctx, reference)
		if err != nil {
			return bank.Transfer{}, err
		}
		return chargeTransfer(op, reference, ch)
	}
}

// findCharge returns the charge with our reference: by search, else by the list of
// charges created since the reference existed. ErrNotFound only from the list.
func (c *Channel) findCharge(ctx context.Context, reference string) (*stripego.Charge, error) {
	op := "find charge " + reference
	chargeMeta := func(ch *stripego.Charge) map[string]string { return ch.Metadata }
	sp := &stripego.ChargeSearchParams{SearchParams: stripego.SearchParams{
		Query: fmt.Sprintf("metadata['%s']:'%s'", metaReference, searchEscape(reference)),
		Limit: stripego.Int64(c.pageSize),
	}}
	if ch, err := scan(c.sc.V1Charges.Search(ctx, sp), reference, c.scanLimit, chargeMeta); err == nil {
		return ch, nil
	}
	// Whatever the search said (nothing, or an error: search is not offered in
	// every region), the list decides.
	return listed(c, op, reference, reference,
		func(lp stripego.ListParams, created *stripego.RangeQueryParams) stripego.Seq2[*stripego.Charge, error] {
			return c.sc.V1Charges.List(ctx, &stripego.ChargeListParams{ListParams: lp, CreatedRange: created})
		},
		chargeMeta)
}

// findRefund returns the refund with our reference from the list of refunds created
// since the id since existed (Stripe has no search for refunds): the refund's own
// reference, or for a reversal the charge it reverses.
func (c *Channel) findRefund(ctx context.Context, reference, since string) (*stripego.Refund, error) {
	return listed(c, "find refund "+reference, reference, since,
		func(lp stripego.ListParams, created *stripego.RangeQueryParams) stripego.Seq2[*stripego.Refund, error] {
			return c.sc.V1Refunds.List(ctx, &stripego.RefundListParams{ListParams: lp, CreatedRange: created})
		},
		func(rf *stripego.Refund) map[string]string { return rf.Metadata })
}

// findPayout returns the payout with our reference from the list of payouts created
// since the reference existed (Stripe has no search for payouts).
func (c *Channel) findPayout(ctx context.Context, reference string) (*stripego.Payout, error) {
	return listed(c, "find payout "+reference, reference, reference,
		func(lp stripego.ListParams, created *stripego.RangeQueryParams) stripego.Seq2[*stripego.Payout, error] {
			return c.sc.V1Payouts.List(ctx, &stripego.PayoutListParams{ListParams: lp, CreatedRange: created})
		},
		func(po *stripego.Payout) map[string]string { return po.Metadata })
}

// listed returns the object with our reference from a list of Stripe's that list
// reads with the given page size from the creation time of the id since on (see
// since). ErrNotFound only when the list ended without it.
func listed[T any](c *Channel, op, reference, since string,
	list func(lp stripego.ListParams, created *stripego.RangeQueryParams) stripego.Seq2[*T, error],
	meta func(*T) map[string]string) (*T, error) {
	created, err := c.since(since)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	obj, err := scan(list(stripego.ListParams{Limit: stripego.Int64(c.pageSize)}, created), reference, c.scanLimit, meta)
	return obj, wrapFind(op, err)
}

// since is the created[gte] bound of a listing: nothing can carry our reference
// before the id existed (the reference, or the charge a reversal reverses), less the
// clock skew between us and Stripe. An id that carries no time cannot bound the
// listing, and reading all of Stripe's history is no answer: the outcome stays
// unknown.
func (c *Channel) since(id string) (*stripego.RangeQueryParams, error) {
	created, ok := models.IDTime(id)
	if !ok {
		return nil, fmt.Errorf("%s carries no creation time, so stripe's history cannot be bounded: %w", id, bank.ErrUnknownOutcome)
	}
	return &stripego.RangeQueryParams{GreaterThanOrEqual: created.Add(-c.skew).Unix()}, nil
}

// errScanLimit ends a scan that read ScanLimit objects without finding the reference.
var errScanLimit = errors.New("scan limit reached")

// scan reads seq until an object's metadata reference is exactly reference. It
// answers bank.ErrNotFound when seq ends without one, errScanLimit after limit
// objects, or the classified error of a failed page.
func scan[T any](seq stripego.Seq2[T, error], reference string, limit int, meta func(T) map[string]string) (T, error) {
	var zero T
	n := 0
	for v, err := range seq {
		if err != nil {
			return zero, classify("list", err)
		}
		if meta(v)[metaReference] == reference {
			return v, nil
		}
		if n++; n >= limit {
			return zero, errScanLimit
		}
	}
	return zero, bank.ErrNotFound
}

// wrapFind adds the operation to a scan's error; a scan stopped by its limit proved
// nothing, so it is an unknown outcome.
func wrapFind(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errScanLimit):
		return fmt.Errorf("%s: %v before finding it or the end: %w", op, err, bank.ErrUnknownOutcome)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

// searchEscape escapes a value for a quoted string of Stripe's search language.
func searchEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}
