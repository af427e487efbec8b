package activities

import (
	"context"
	"fmt"
	"slices"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// Sides of a balance_gap difference: the bank side is the bank's movement of the
// day, the ledger side the clearing account's.
const (
	balanceSideKind   = "balance"
	balanceSideStatus = "moved"
)

// differencesPage is how many stored differences CheckBalances reads at a time.
const differencesPage = 1000

// CheckBalances compares, per currency, the bank's movement of the run's day
// (closing minus opening balance) with the ledger's: the movement of the channel's
// bank clearing account within the day, whose sign is the opposite (the clearing
// account carries the negative of what the bank holds for us). The run's stored
// line differences explain part of any gap (see lineDifferenceNet); what remains
// in a currency is stored as one balance_gap difference with reference
// "balance/<currency>", the bank side holding the bank's movement and the ledger
// side the clearing account's. A retry stores nothing twice (the differences'
// unique key) and answers the same count.
//
// A channel that reports no balances (no bank.Balancer) is not checked: logged,
// and Checked is false.
func (r *Reconciliation) CheckBalances(ctx context.Context, in models.CheckBalancesInput) (models.CheckBalancesResult, error) {
	log := logger(ctx, r.Log).WithFields(logrus.Fields{"reconciliation_id": in.ReconciliationID, "channel": in.Channel, "date": in.Date})
	day, err := models.ParseDay(in.Date)
	if err != nil {
		return models.CheckBalancesResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeInvalidInput, nil)
	}
	if in.Channel == models.ReconChannelFund {
		return r.checkHoldings(ctx, in)
	}
	ch, err := r.Channels.Get(in.Channel)
	if err != nil {
		return models.CheckBalancesResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeInvalidInput, nil)
	}
	balancer, ok := ch.(bank.Balancer)
	if !ok {
		log.Info("the channel reports no balances: no balance check")
		return models.CheckBalancesResult{}, nil
	}
	balances, err := balancer.Balances(ctx, day)
	if err != nil {
		return models.CheckBalancesResult{}, retryableError(models.ErrTypeBankUnavailable, fmt.Errorf("fetch balances: %w", err))
	}
	ledger, err := r.Store.ClearingMovementOfDay(ctx, in.Channel, in.Date)
	if err != nil {
		return models.CheckBalancesResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	explained, err := r.explainedByLines(ctx, in)
	if err != nil {
		return models.CheckBalancesResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	gaps := balanceGaps(in.ReconciliationID, balances, ledger, explained)
	if err := r.Store.InsertDifferences(ctx, gaps); err != nil {
		return models.CheckBalancesResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	for _, g := range gaps {
		log.WithFields(logrus.Fields{
			"currency": g.Bank.Currency, "bank_movement": g.Bank.Amount, "ledger_movement": g.Ledger.Amount,
			"explained": explained[g.Bank.Currency],
		}).Warn("balance gap")
	}
	log.WithFields(logrus.Fields{"currencies": len(balances), "balance_gaps": len(gaps)}).Info("balances checked")
	return models.CheckBalancesResult{Checked: true, BalanceGap: int64(len(gaps))}, nil
}

// explainedByLines is, per currency, how much of the gap the line differences
// explain on the run's day. A difference's sides are cumulative (the bank's line of
// an earlier day, the ledger's journals of any day), so the day's share is the sum of
// lineDifferenceNet over the run's differences minus the same sum over the items the
// run of the day before left in transit, which that run already counted (the run
// carries exactly those, see Store.PreviousRun): an item carried and matched today
// explains the opposite of what it explained yesterday. balance_gap differences
// explain nothing.
func (r *Reconciliation) explainedByLines(ctx context.Context, in models.CheckBalancesInput) (map[string]int64, error) {
	out := map[string]int64{}
	err := r.eachDifference(ctx, in.ReconciliationID, func(d models.Difference) {
		if d.Kind != models.DiffBalanceGap {
			lineDifferenceNet(d, out, 1)
		}
	})
	if err != nil {
		return nil, err
	}
	prev, err := r.Store.PreviousRun(ctx, in.Channel, in.Date)
	if err != nil || prev == "" {
		return out, err
	}
	err = r.eachDifference(ctx, prev, func(d models.Difference) {
		if d.Kind == models.DiffInTransit {
			lineDifferenceNet(d, out, -1)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachDifference calls fn with every stored difference of a run, page by page.
func (r *Reconciliation) eachDifference(ctx context.Context, reconciliationID string, fn func(models.Difference)) error {
	q := store.DifferenceQuery{ReconciliationID: reconciliationID, Limit: differencesPage}
	for {
		page, more, err := r.Store.ListDifferences(ctx, q)
		if err != nil {
			return err
		}
		for _, d := range page {
			fn(d)
		}
		if !more || len(page) == 0 {
			return nil
		}
		q.StartingAfter = page[len(page)-1].ID
	}
}

// lineDifferenceNet adds to net (times sign), per currency, how much one line difference makes
// the bank's movement exceed the ledger's: the bank side's signed amount minus the
// ledger side's, each in its own currency, charge positive and refund or payout
// negative. The bank side counts when succeeded. The ledger side counts when
// booked, signed by the kind of our side (else the bank's); a difference without a
// ledger side (a comparison of the statement with our records only) counts our side
// in its place when succeeded, since the flows book every succeeded transfer on the
// clearing account.
func lineDifferenceNet(d models.Difference, net map[string]int64, sign int64) {
	if b := d.Bank; b != nil && b.Status == string(models.BankSucceeded) {
		net[b.Currency] += sign * signedByKind(b.Kind, b.Amount)
	}
	switch l, o := d.Ledger, d.Ours; {
	case l != nil:
		kind := ""
		if o != nil {
			kind = o.Kind
		} else if d.Bank != nil {
			kind = d.Bank.Kind
		}
		if l.Status == models.LedgerBooked {
			net[l.Currency] -= sign * signedByKind(kind, l.Amount)
		}
	case o != nil && o.Status == string(models.BankSucceeded):
		net[o.Currency] -= sign * signedByKind(o.Kind, o.Amount)
	}
}

// signedByKind is amount as it moves our balance at the bank: a charge (a
// payment's or a top-up's) adds, a refund (a reversal's too) or a payout (a
// withdrawal's) takes away, anything else moves nothing. Our side may name the
// transfer's kind or its object's.
func signedByKind(kind string, amount int64) int64 {
	if amount < 0 {
		amount = -amount
	}
	switch kind {
	case string(bank.KindCharge), "payment", "topup":
		return amount
	case string(bank.KindRefund), string(bank.KindPayout), "reversal", "withdrawal":
		return -amount
	}
	return 0
}

// balanceGaps compares, per currency (sorted), the bank's movement with the
// clearing account's and returns a balance_gap difference for each currency where
// bank + ledger (zero when they agree: opposite signs) differs from what the line
// differences explain.
func balanceGaps(reconciliationID string, balances []bank.DayBalance, ledger []store.CurrencyAmount, explained map[string]int64) []models.Difference {
	bankMoved := map[string]int64{}
	ledgerMoved := map[string]int64{}
	var currencies []string
	for _, b := range balances {
		bankMoved[b.Currency] += b.Movement()
		currencies = append(currencies, b.Currency)
	}
	for _, l := range ledger {
		ledgerMoved[l.Currency] += l.Amount
		currencies = append(currencies, l.Currency)
	}
	slices.Sort(currencies)
	currencies = slices.Compact(currencies)
	var out []models.Difference
	for _, c := range currencies {
		if bankMoved[c]+ledgerMoved[c]-explained[c] == 0 {
			continue
		}
		out = append(out, models.Difference{
			ReconciliationID: reconciliationID,
			Reference:        models.BalanceGapReferencePrefix + c,
			Kind:             models.DiffBalanceGap,
			Bank:             &models.DifferenceSide{Kind: balanceSideKind, Amount: bankMoved[c], Currency: c, Status: balanceSideStatus},
			Ledger:           &models.DifferenceSide{Amount: ledgerMoved[c], Currency: c, Status: models.LedgerBooked},
		})
	}
	return out
}
