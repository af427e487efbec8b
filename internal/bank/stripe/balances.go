package stripe

import (
	"context"
	"slices"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v82"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// feeTypes are the balance transactions of Stripe's own fees, which the ledger
// does not book on the clearing account (it books gross amounts), so they are not
// part of the movement reconciliation compares.
var feeTypes = []stripego.BalanceTransactionType{
	stripego.BalanceTransactionTypeStripeFee, stripego.BalanceTransactionTypeStripeFxFee, stripego.BalanceTransactionTypeTaxFee,
}

// Balances implements bank.Balancer from the balance transactions Stripe created
// in the UTC day, read page by page: per currency, the sum of their gross amounts
// (a charge's fee, which Stripe takes in the same balance transaction, is left
// out, as are Stripe's fee transactions). Stripe gives the day's movement, not a
// balance, so each DayBalance has Opening 0 and the movement as Closing. Amounts
// are in ISO minor units; a currency payflow does not take through Stripe keeps
// Stripe's amounts. A page that fails is the error: a partial sum would pass for
// a gap.
func (c *Channel) Balances(ctx context.Context, day time.Time) ([]bank.DayBalance, error) {
	p, op := c.dayTransactions("balances", day)
	sums := map[stripego.Currency]int64{}
	for bt, err := range c.sc.V1BalanceTransactions.List(ctx, p) {
		if err != nil {
			return nil, classify(op, err)
		}
		if slices.Contains(feeTypes, bt.Type) {
			continue
		}
		sum, err := models.AddChecked(sums[bt.Currency], bt.Amount)
		if err != nil {
			return nil, unreadable(op, err.Error())
		}
		sums[bt.Currency] = sum
	}
	out := make([]bank.DayBalance, 0, len(sums))
	for cur, sum := range sums {
		code, amount := upper(cur), sum
		if _, ok := units[code]; ok {
			var err error
			if code, amount, err = fromStripe(cur, sum); err != nil {
				return nil, unreadable(op, err.Error())
			}
		}
		out = append(out, bank.DayBalance{Currency: string(code), Closing: amount})
	}
	slices.SortFunc(out, func(a, b bank.DayBalance) int {
		return strings.Compare(a.Currency, b.Currency)
	})
	return out, nil
}

var _ bank.Balancer = (*Channel)(nil)
