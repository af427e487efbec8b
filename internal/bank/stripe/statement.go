package stripe

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"time"

	stripego "github.com/stripe/stripe-go/v82"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// statementHeader is the header of every channel's statement (see bank.Channel).
var statementHeader = []string{"reference", "kind", "amount", "currency", "status", "time"}

// Statement implements bank.Channel: the balance transactions Stripe created in the
// UTC day, read page by page with their source objects expanded and written as CSV
// into a pipe as they come, so that a day of a million lines never sits in memory.
//
// A line is one movement of a charge, refund or payout; fees, adjustments,
// transfers and the reversal lines of a failed refund or payout are not movements
// under our reference and are left out (the refund or payout line carries the
// object's current status instead: failed, or canceled for a canceled payout). Reference, amount, currency and status come
// from the source object (its metadata reference, else its id); when Stripe sent
// a source of another kind, from the balance transaction itself. Amounts are in ISO
// minor units, as every channel's statement is; a currency payflow does not take
// through Stripe keeps Stripe's amount (reconciliation reports its line as an
// unknown currency), and an amount that is no whole number of ISO minor units
// (ISK 1.50, which Stripe says cannot exist) ends the stream with an error rather
// than a line with another amount.
//
// The first page is read before Statement returns, so that Stripe being down is
// Statement's error; a later page that fails ends the stream with that error,
// never with a short statement that would pass for complete.
func (c *Channel) Statement(ctx context.Context, day time.Time) (io.ReadCloser, error) {
	p, op := c.dayTransactions("statement", day)
	p.AddExpand("data.source")
	next, stop := iter.Pull2(iter.Seq2[*stripego.BalanceTransaction, error](c.sc.V1BalanceTransactions.List(ctx, p)))
	first, err, more := next()
	if err != nil {
		stop()
		return nil, classify(op, err)
	}
	pr, pw := io.Pipe()
	go func() {
		defer stop()
		pw.CloseWithError(writeStatement(pw, op, first, more, next))
	}()
	return pr, nil
}

// dayTransactions are the list parameters of the balance transactions Stripe
// created in day's UTC day, c.pageSize a page, and the operation's name for errors
// (what, then the day).
func (c *Channel) dayTransactions(what string, day time.Time) (*stripego.BalanceTransactionListParams, string) {
	y, m, d := day.UTC().Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	p := &stripego.BalanceTransactionListParams{CreatedRange: &stripego.RangeQueryParams{
		GreaterThanOrEqual: start.Unix(),
		LesserThan:         start.AddDate(0, 0, 1).Unix(),
	}}
	p.Limit = stripego.Int64(c.pageSize)
	return p, what + " " + start.Format(time.DateOnly)
}

// writeStatement writes the header and a line per movement, from first on (more
// is false when the day has no balance transaction at all).
func writeStatement(w io.Writer, op string, first *stripego.BalanceTransaction, more bool,
	next func() (*stripego.BalanceTransaction, error, bool)) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(statementHeader); err != nil {
		return err
	}
	bt, err := first, error(nil)
	for ok := more; ok; bt, err, ok = next() {
		if err != nil {
			return classify(op, err)
		}
		line, ok, err := statementLine(op, bt)
		if err != nil {
			return err
		}
		if ok {
			if err := cw.Write(line); err != nil {
				return err // the reader is gone
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// statementLine is the CSV line of a balance transaction, or false when it is not a
// movement of a charge, refund or payout.
func statementLine(op string, bt *stripego.BalanceTransaction) ([]string, bool, error) {
	var kind bank.Kind
	switch bt.Type {
	case stripego.BalanceTransactionTypeCharge, stripego.BalanceTransactionTypePayment:
		kind = bank.KindCharge
	case stripego.BalanceTransactionTypeRefund, stripego.BalanceTransactionTypePaymentRefund:
		kind = bank.KindRefund
	case stripego.BalanceTransactionTypePayout:
		kind = bank.KindPayout
	default:
		return nil, false, nil
	}
	ref := bt.ID
	if src := bt.Source; src != nil {
		ref = src.ID
		var meta map[string]string
		var t bank.Transfer
		err := errUnknownSource
		switch {
		case src.Charge != nil:
			meta = src.Charge.Metadata
			t, err = chargeTransfer(op, ref, src.Charge)
		case src.Refund != nil:
			meta = src.Refund.Metadata
			t, err = refundTransfer(op, ref, src.Refund)
		case src.Payout != nil:
			meta = src.Payout.Metadata
			t, err = payoutTransfer(op, ref, src.Payout)
		}
		if r := meta[metaReference]; r != "" {
			ref = r
		}
		if err == nil {
			return line(ref, kind, t.Amount, t.Currency, t.Status, bt.Created), true, nil
		}
	}
	// The balance transaction's own view: it exists because money moved.
	amount, currency := abs(bt.Amount), upper(bt.Currency)
	if _, ok := units[currency]; ok {
		var err error
		if _, amount, err = fromStripe(bt.Currency, amount); err != nil {
			return nil, false, unreadable(op, fmt.Sprintf("balance transaction %s: %v", bt.ID, err))
		}
	}
	return line(ref, kind, amount, currency, models.BankSucceeded, bt.Created), true, nil
}

// line is a statement line.
func line(ref string, kind bank.Kind, amount int64, currency models.Currency, status models.BankStatus, created int64) []string {
	return []string{
		ref, string(kind), strconv.FormatInt(abs(amount), 10), string(currency), string(status),
		time.Unix(created, 0).UTC().Format(time.RFC3339),
	}
}

// errUnknownSource: the source is not a charge, refund or payout object.
var errUnknownSource = errors.New("source is not a charge, refund or payout")

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
