package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/recon"
	"github.com/payflow/payflow/models"
)

// The account kind of a channel's bank clearing account (internal/ledger's
// KindBankClearing; the store does not import the ledger).
const bankClearingKind = "bank_clearing"

// ReconSides returns our intent and the ledger of each reference we have an object
// for: payments (pay_), refunds (re_), top-ups (top_), withdrawals (wd_) and the
// reversals of payments (rev_<payment>, or <payment>.reversal in flows started
// before rev_ references). A reference of no object of ours is not in the answer.
//
// What each object expects of the bank: a succeeded (or refunded) object moved
// money; a failed or canceled one did not, unless it is a payment whose charge the
// bank made and the compensation reversed (its reversal's bank record says so): the
// charge moved, and nothing is booked for it; an object still processing or pending
// approval is open. A reversal moved money when its bank record says it succeeded.
func (s *Store) ReconSides(ctx context.Context, refs []string) (map[string]recon.Record, error) {
	byTable := map[string][]string{}
	var reversals []string
	for _, ref := range refs {
		if charge, ok := reversedCharge(ref); ok {
			reversals = append(reversals, ref)
			byTable["payments"] = append(byTable["payments"], charge)
			continue
		}
		if t := objectTable(ref); t != "" {
			byTable[t] = append(byTable[t], ref)
		}
	}
	objects := map[string]objectRow{}
	for _, table := range []string{"payments", "refunds", "topups", "withdrawals"} {
		ids := byTable[table]
		if len(ids) == 0 {
			continue
		}
		cols := "id, amount, currency, status"
		if table == "payments" {
			cols += ", source_type"
		}
		var rows []objectRow
		if err := idsWhere(s.db.WithContext(ctx).Table(table).Select(cols), "id", ids).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("reconciliation: read %s: %w", table, err)
		}
		want := set(ids)
		for _, r := range rows {
			if want[r.ID] {
				r.table = table
				objects[r.ID] = r
			}
		}
	}
	// The reversal records (rev_<payment>) of the payments that may have one: the
	// reversals asked about, and every payment that did not succeed. They are read
	// as one range of references, which holds the few reversals there are, rather
	// than as a list of every failed payment's would-be reversal.
	var revRefs []string
	for id, o := range objects {
		if o.table == "payments" && !movedStatus(o.Status) {
			revRefs = append(revRefs, models.ReversalReference(id))
		}
	}
	revRefs = append(revRefs, reversals...)
	reversalStatus := map[string]string{} // charge id -> the reversal's bank status
	if len(revRefs) > 0 {
		var rows []struct{ Reference, Status string }
		q := s.db.WithContext(ctx).Table("bank_transfers").Select("reference, status")
		if err := idsWhere(q, "reference", revRefs).Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("reconciliation: read reversals: %w", err)
		}
		want := set(revRefs)
		for _, r := range rows {
			if charge, ok := reversedCharge(r.Reference); ok && want[r.Reference] {
				reversalStatus[charge] = r.Status
			}
		}
	}
	ledger := map[string]recon.Ledger{}
	for _, table := range []string{"payments", "refunds", "topups", "withdrawals"} {
		ids := byTable[table]
		if len(ids) == 0 {
			continue
		}
		if err := s.clearingOf(ctx, ids, ledger); err != nil {
			return nil, err
		}
	}

	out := make(map[string]recon.Record, len(refs))
	for _, ref := range refs {
		rec := recon.Record{Reference: ref, Ledger: ledger[ref]}
		if charge, ok := reversedCharge(ref); ok {
			p, ok := objects[charge]
			if !ok {
				continue
			}
			status, recorded := reversalStatus[charge]
			rec.Intent = &recon.Intent{}
			reversalIntent(rec.Intent, &p, status, recorded)
			out[ref] = rec
			continue
		}
		o, ok := objects[ref]
		if !ok {
			continue
		}
		rs, reversed := reversalStatus[ref]
		rec.Intent = &recon.Intent{}
		objectIntent(rec.Intent, &o, rs, reversed)
		out[ref] = rec
	}
	return out, nil
}

// reversalIntent is the intent of the reversal of payment p whose bank record has
// status (recorded: there is one).
func reversalIntent(in *recon.Intent, p *objectRow, status string, recorded bool) {
	*in = recon.Intent{Kind: "reversal", Amount: p.Amount, Currency: p.Currency, Status: status, Expect: recon.ExpectOpen}
	switch {
	case !recorded:
		in.Status = "not_ordered"
		in.Expect = recon.ExpectNotMoved
	case status == string(models.BankSucceeded):
		in.Expect = recon.ExpectMoved
	case status == string(models.BankFailed) || status == string(models.BankCanceled):
		in.Expect = recon.ExpectNotMoved
	}
}

// objectIntent is the intent of object o; rs is the bank status of its reversal's
// record (reversed: there is one; only a payment has one).
func objectIntent(in *recon.Intent, o *objectRow, rs string, reversed bool) {
	*in = recon.Intent{Kind: kindOfTable(o.table), Amount: o.Amount, Currency: o.Currency, Status: o.Status, Books: true}
	switch {
	case movedStatus(o.Status):
		in.Expect = recon.ExpectMoved
	case o.Status == "failed" || o.Status == "canceled":
		in.Expect = recon.ExpectNotMoved
		if reversed && rs != string(models.BankFailed) && rs != string(models.BankCanceled) {
			// The bank charged it and the compensation gave it back: the
			// charge moved, and no journal books it.
			in.Expect, in.Books = recon.ExpectMoved, false
		}
	default:
		in.Expect = recon.ExpectOpen
	}
	if o.table == "payments" && o.SourceType == string(models.SourceAccount) {
		in.Books = false // a wallet payment never reaches a bank
	}
}

type objectRow struct {
	ID         string
	Amount     int64
	Currency   string
	Status     string
	SourceType string
	table      string
}

// movedStatus: the object's money moved at the bank.
func movedStatus(status string) bool {
	switch status {
	case "succeeded", string(models.PaymentPartiallyRefunded), string(models.PaymentRefunded):
		return true
	}
	return false
}

func reversedCharge(ref string) (string, bool) {
	if charge, ok := models.ReversedCharge(ref); ok {
		return charge, true
	}
	if charge, ok := strings.CutSuffix(ref, ".reversal"); ok && charge != "" {
		return charge, true
	}
	return "", false
}

func objectTable(ref string) string {
	switch {
	case strings.HasPrefix(ref, models.PrefixPayment):
		return "payments"
	case strings.HasPrefix(ref, models.PrefixRefund):
		return "refunds"
	case strings.HasPrefix(ref, models.PrefixTopup):
		return "topups"
	case strings.HasPrefix(ref, models.PrefixWithdrawal):
		return "withdrawals"
	}
	return ""
}

func kindOfTable(table string) string {
	switch table {
	case "payments":
		return "payment"
	case "refunds":
		return "refund"
	case "topups":
		return "topup"
	}
	return "withdrawal"
}

// clearingOf adds to out what the journals of each of the objects ids moved on
// bank clearing accounts (absolute; an object none of whose journals touched one
// is not added). ids are of one object table (one id prefix), so that a range of
// them holds no other kind's journals.
func (s *Store) clearingOf(ctx context.Context, ids []string, out map[string]recon.Ledger) error {
	var rows []struct {
		FlowID   string
		Currency string
		Total    int64
	}
	// The journals of the ids first, then their entries, then the account of each:
	// a planner that starts from the (one) clearing account reads every entry it
	// ever had on every page. STRAIGHT_JOIN (MySQL) and CROSS JOIN (SQLite) keep
	// the order as written.
	sel, join := "j.flow_id AS flow_id, e.currency AS currency, SUM(e.amount) AS total", "CROSS JOIN"
	if s.db.Dialect == DialectMySQL {
		sel, join = "STRAIGHT_JOIN "+sel, "JOIN"
	}
	q := s.db.WithContext(ctx).Table("journals AS j").Select(sel).
		Joins(join+" entries AS e ON e.journal_id = j.id").
		Joins(join+" accounts AS a ON a.id = e.account_id").
		Where("a.kind = ?", bankClearingKind)
	err := idsWhere(q, "j.flow_id", ids).Group("j.flow_id, e.currency").Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("reconciliation: read clearing journals: %w", err)
	}
	want := set(ids)
	for _, r := range rows {
		if !want[r.FlowID] {
			continue
		}
		amount := r.Total
		if amount < 0 {
			amount = -amount
		}
		out[r.FlowID] = recon.Ledger{Booked: true, Amount: amount, Currency: r.Currency}
	}
	return nil
}

// rangeFrom is how many ids a query reads as the range from the least to the
// greatest rather than as a list: a page of a day's references is a dense range of
// ids (they grow with time), where a list of ten thousand bound values costs SQLite
// more than the rows themselves. The caller drops the rows it did not ask for.
const rangeFrom = 1000

// idsWhere restricts q to the ids: a list, or, for many, their range.
func idsWhere(q *gorm.DB, col string, ids []string) *gorm.DB {
	if len(ids) <= rangeFrom {
		return q.Where(col+" IN ?", ids)
	}
	return q.Where(col+" >= ? AND "+col+" <= ?", slices.Min(ids), slices.Max(ids))
}

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// CarriedItem is an item the run of the day before left in transit.
type CarriedItem struct {
	Reference string
	Since     string
	// Bank is the bank's line of that day, if it had one.
	Bank *models.DifferenceSide
	Line int64
}

// PreviousRun returns the id of the latest completed run of the channel for the day
// before day (YYYY-MM-DD), or "" when there is none: the run whose in-transit items
// a run of day carries.
func (s *Store) PreviousRun(ctx context.Context, channel, day string) (string, error) {
	d, err := models.ParseDay(day)
	if err != nil {
		return "", err
	}
	prev := d.AddDate(0, 0, -1).Format(models.DayLayout)
	var id string
	err = s.db.WithContext(ctx).Raw(`SELECT r.id FROM reconciliations r
		JOIN reconciliation_results x ON x.reconciliation_id = r.id AND x.status = ?
		WHERE r.channel = ? AND r.day = ? ORDER BY r.attempt DESC LIMIT 1`,
		string(models.ReconciliationCompleted), channel, prev).Scan(&id).Error
	if err != nil {
		return "", fmt.Errorf("previous reconciliation of %s %s: %w", channel, day, err)
	}
	return id, nil
}

// CarriedItems returns up to limit of a run's in-transit items after the reference
// after, in reference order.
func (s *Store) CarriedItems(ctx context.Context, runID, after string, limit int) ([]CarriedItem, error) {
	if runID == "" {
		return nil, nil
	}
	var rows []differenceRow
	err := s.db.WithContext(ctx).Where("reconciliation_id = ? AND kind = ? AND reference > ?", runID, string(models.DiffInTransit), after).
		Order("reference").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("in-transit items of %s: %w", runID, err)
	}
	out := make([]CarriedItem, 0, len(rows))
	for _, r := range rows {
		d := r.model()
		out = append(out, CarriedItem{Reference: d.Reference, Since: d.Since, Bank: d.Bank, Line: d.Line})
	}
	return out, nil
}
