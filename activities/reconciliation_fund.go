package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/internal/recon"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// FundFiles opens the fund company's daily files of a date (package
// internal/bank/fund). Each returns an error wrapping ErrFundUnavailable when
// the file cannot be had now (the date not over yet included): asked again.
type FundFiles interface {
	Confirmations(ctx context.Context, date string) (io.ReadCloser, error)
	Holdings(ctx context.Context, date string) (io.ReadCloser, error)
	Income(ctx context.Context, date string) (io.ReadCloser, error)
}

// carriedPage is how many carried items one read takes.
const carriedPage = 1000

// reconChannel checks that a run's channel can be reconciled: a configured bank
// channel, or the fund company when its files can be read.
func (r *Reconciliation) reconChannel(name string) error {
	if name == models.ReconChannelFund {
		if r.FundFiles == nil {
			return errors.New("the fund company's files are not configured")
		}
		return nil
	}
	_, err := r.Channels.Get(name)
	return err
}

// reconcileFund is ReconcileStatement of the fund company: its confirmations file
// of the date compared with our fund orders by order id (recon.ReconcileFund). The
// pass holds one day's confirmations in memory and is short: a retry runs it
// again, and stores nothing twice.
func (r *Reconciliation) reconcileFund(ctx context.Context, in models.ReconcileStatementInput, day time.Time) (models.ReconcileStatementResult, error) {
	log := logger(ctx, r.Log).WithFields(logrus.Fields{"reconciliation_id": in.ReconciliationID, "channel": in.Channel, "date": in.Date})
	if err := r.reconChannel(in.Channel); err != nil {
		return models.ReconcileStatementResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeInvalidInput, nil)
	}
	body, err := r.FundFiles.Confirmations(ctx, in.Date)
	if err != nil {
		return models.ReconcileStatementResult{}, retryableError(models.ErrTypeBankUnavailable, fmt.Errorf("fetch confirmations: %w", err))
	}
	defer body.Close()
	prev, err := r.Store.PreviousRun(ctx, in.Channel, in.Date)
	if err != nil {
		return models.ReconcileStatementResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	if activity.IsActivity(ctx) {
		// The pass keeps nothing to resume from (a retry runs it again): the
		// heartbeat only says the worker is alive.
		every := r.HeartbeatEvery
		if every <= 0 {
			every = DefaultHeartbeatEvery
		}
		stop := heartbeatEvery(ctx, every, func() any { return nil })
		defer stop()
	}
	start := time.Now()
	counts, err := recon.ReconcileFund(ctx, recon.FundJob{
		ReconciliationID: in.ReconciliationID,
		Confirmations:    body,
		Ours:             func(ctx context.Context) ([]recon.FundRecord, error) { return r.fundOurs(ctx, in.Date, prev) },
		Lookup:           r.Store.FundOrdersByID,
		Sink:             r.Store.InsertDifferences,
		Day:              day,
		CarryDays:        r.carryDays(),
		BatchSize:        r.Engine.BatchSize,
		Listed: func(ctx context.Context, ids []string) error {
			return r.Store.RecordFundListings(ctx, in.Date, ids)
		},
		ListedElsewhere: func(ctx context.Context, ids []string) (map[string]bool, error) {
			return r.Store.FundListedElsewhere(ctx, in.Date, ids)
		},
	})
	switch {
	case errors.Is(err, recon.ErrStatementFormat):
		log.WithError(err).Error("confirmations cannot be reconciled")
		return models.ReconcileStatementResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeStatementUnreadable, nil)
	case err != nil:
		log.WithError(err).Warn("fund reconciliation interrupted")
		return models.ReconcileStatementResult{}, retryableError(models.ErrTypeInterrupted, err)
	}
	log.WithFields(logrus.Fields{
		"statement_lines": counts.StatementLines, "our_records": counts.OurRecords, "matched": counts.Matched,
		"differences": counts.Differences(), "in_transit": counts.InTransit, "duration_ms": time.Since(start).Milliseconds(),
	}).Info("fund confirmations reconciled")
	return models.ReconcileStatementResult{Counts: counts}, nil
}

// fundOurs is our side of the fund company's date: the orders of the date
// (store.FundOrdersOfDay) and the items the run of the day before carried.
func (r *Reconciliation) fundOurs(ctx context.Context, day, prev string) ([]recon.FundRecord, error) {
	orders, err := r.Store.FundOrdersOfDay(ctx, day)
	if err != nil {
		return nil, err
	}
	recs := make([]recon.FundRecord, 0, len(orders))
	index := make(map[string]int, len(orders))
	for _, o := range orders {
		index[o.ID] = len(recs)
		recs = append(recs, recon.FundRecord{OrderID: o.ID, Order: &o})
	}
	var carried []store.CarriedItem
	for after := ""; ; {
		page, err := r.Store.CarriedItems(ctx, prev, after, carriedPage)
		if err != nil {
			return nil, err
		}
		carried = append(carried, page...)
		if len(page) < carriedPage {
			break
		}
		after = page[len(page)-1].Reference
	}
	var unknown []string
	for _, c := range carried {
		if _, ok := index[c.Reference]; !ok {
			unknown = append(unknown, c.Reference)
		}
	}
	found, err := r.Store.FundOrdersByID(ctx, unknown)
	if err != nil {
		return nil, err
	}
	for _, c := range carried {
		cr := carriedRecord(c).Carried
		if i, ok := index[c.Reference]; ok {
			recs[i].Carried = cr
			continue
		}
		rec := recon.FundRecord{OrderID: c.Reference, Carried: cr}
		if o, ok := found[c.Reference]; ok {
			rec.Order = &o
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// checkHoldings is CheckBalances of the fund company: its holdings file of the
// date (our shares per product at the date's end) against the shares the ledger
// says our wallets held at that instant (the end of the date in Asia/Shanghai):
// a balance_gap difference per product where they differ.
func (r *Reconciliation) checkHoldings(ctx context.Context, in models.CheckBalancesInput) (models.CheckBalancesResult, error) {
	log := logger(ctx, r.Log).WithFields(logrus.Fields{"reconciliation_id": in.ReconciliationID, "channel": in.Channel, "date": in.Date})
	if err := r.reconChannel(in.Channel); err != nil {
		return models.CheckBalancesResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeInvalidInput, nil)
	}
	_, end, err := store.FundDayBounds(in.Date)
	if err != nil {
		return models.CheckBalancesResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeInvalidInput, nil)
	}
	body, err := r.FundFiles.Holdings(ctx, in.Date)
	if err != nil {
		return models.CheckBalancesResult{}, retryableError(models.ErrTypeBankUnavailable, fmt.Errorf("fetch holdings: %w", err))
	}
	defer body.Close()
	holdings, err := recon.ParseHoldings(body)
	if err != nil {
		if errors.Is(err, recon.ErrStatementFormat) {
			return models.CheckBalancesResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeStatementUnreadable, nil)
		}
		return models.CheckBalancesResult{}, retryableError(models.ErrTypeBankUnavailable, err)
	}
	ours, err := r.Store.FundSharesHeld(ctx, end)
	if err != nil {
		return models.CheckBalancesResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	gaps := recon.HoldingGaps(in.ReconciliationID, holdings, ours)
	if err := r.Store.InsertDifferences(ctx, gaps); err != nil {
		return models.CheckBalancesResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	for _, g := range gaps {
		log.WithFields(logrus.Fields{"asset": g.Bank.Currency, "fund_shares": g.Bank.Amount, "ledger_shares": g.Ledger.Amount}).Warn("holdings gap")
	}
	if gap, ok, err := r.checkIncome(ctx, in); err != nil {
		return models.CheckBalancesResult{}, err
	} else if ok {
		gaps = append(gaps, gap)
	}
	log.WithFields(logrus.Fields{"products": len(holdings), "balance_gaps": len(gaps)}).Info("fund holdings checked")
	return models.CheckBalancesResult{Checked: true, BalanceGap: int64(len(gaps))}, nil
}

// checkIncome is the income file's check: the income the day's yield run paid
// against the income the fund company's file states for the day (nothing to compare
// before the run has read it). A difference is stored as a balance_gap of reference
// income/<product> and answered.
func (r *Reconciliation) checkIncome(ctx context.Context, in models.CheckBalancesInput) (models.Difference, bool, error) {
	run, err := r.Store.YieldRunOfDay(ctx, models.YieldProduct, in.Date)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return models.Difference{}, false, nil
	case err != nil:
		return models.Difference{}, false, retryableError(models.ErrTypeDatabase, err)
	case run.IncomePer10k == 0:
		return models.Difference{}, false, nil
	}
	body, err := r.FundFiles.Income(ctx, in.Date)
	if err != nil {
		return models.Difference{}, false, retryableError(models.ErrTypeBankUnavailable, fmt.Errorf("fetch income: %w", err))
	}
	defer body.Close()
	file, err := recon.ParseIncome(body)
	if err != nil {
		if errors.Is(err, recon.ErrStatementFormat) {
			return models.Difference{}, false, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeStatementUnreadable, nil)
		}
		return models.Difference{}, false, retryableError(models.ErrTypeBankUnavailable, err)
	}
	gap, ok := recon.IncomeGap(in.ReconciliationID, models.YieldProduct, in.Date, file, run.IncomePer10k, models.YieldCurrency)
	if !ok {
		logger(ctx, r.Log).WithField("income_per_10k", run.IncomePer10k).Info("fund income matches the yield run's")
		return gap, false, nil
	}
	if err := r.Store.InsertDifferences(ctx, []models.Difference{gap}); err != nil {
		return models.Difference{}, false, retryableError(models.ErrTypeDatabase, err)
	}
	logger(ctx, r.Log).WithFields(logrus.Fields{"yield_income": run.IncomePer10k, "yield_run_id": run.ID}).Warn("income gap: the yield run paid another income than the fund company's file")
	return gap, true, nil
}
