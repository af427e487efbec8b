package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/payflow/payflow/internal/recon"
	"github.com/payflow/payflow/models"
)

// EnrichReconPage fills in our intent and ledger of a page of a reconciliation's
// records (recs, in byte order of reference: one keyset page of the channel's bank
// transfers of day, and the items carried into it), in place, the same as ReconSides
// answers for the page's references.
//
// It reads them the way the page was found: per kind of reference (payments,
// refunds, top-ups, withdrawals, rev_ reversals; a page usually has one) one query
// walks the day's bank transfers in the page's range of that kind in reference order
// and joins, in the database, each one's object, the bank record of a failed
// payment's reversal (rev_<payment>), or a reversal's payment, and the entries of the
// object's journals on bank clearing accounts. The rows arrive in the page's order,
// so they are merged with it without maps, scanned as raw bytes.
//
// The rest of the page is asked of ReconSides: the items carried from an earlier day
// that are not among the day's transfers, and every reference of a payment with a
// <payment>.reversal reference in the page (flows started before rev_ references),
// whose reversal's record ReconSides finds among the page's references.
func (s *Store) EnrichReconPage(ctx context.Context, channel, day string, recs []recon.Record) error {
	if len(recs) == 0 {
		return nil
	}
	// The payments of the page's legacy reversals: their families go to ReconSides.
	var legacy map[string]bool
	for i := range recs {
		ref := recs[i].Reference
		if _, ok := models.ReversedCharge(ref); ok {
			continue
		}
		if charge, ok := strings.CutSuffix(ref, ".reversal"); ok && charge != "" {
			if legacy == nil {
				legacy = map[string]bool{}
			}
			legacy[charge] = true
		}
	}
	// Each reference's kind (its query), or -1: ReconSides answers it; -2: no
	// object can be behind it.
	kinds := make([]int8, len(recs))
	var perKind [len(pageKinds)][]int
	for i := range recs {
		k := pageKindOf(recs[i].Reference, legacy)
		kinds[i] = k
		if k >= 0 {
			perKind[k] = append(perKind[k], i)
		}
	}
	matched := make([]bool, len(recs))
	intents := make([]recon.Intent, len(recs))
	for k, idx := range perKind {
		if len(idx) == 0 {
			continue
		}
		if err := s.readPageKind(ctx, pageKinds[k], channel, day, recs, idx, matched, intents); err != nil {
			return err
		}
	}
	var rest []string
	for i := range recs {
		if kinds[i] == -1 || (kinds[i] >= 0 && !matched[i]) {
			rest = append(rest, recs[i].Reference)
		}
	}
	if len(rest) == 0 {
		return nil
	}
	sides, err := s.ReconSides(ctx, rest)
	if err != nil {
		return err
	}
	for i := range recs {
		if kinds[i] == -1 || (kinds[i] >= 0 && !matched[i]) {
			if r, ok := sides[recs[i].Reference]; ok {
				recs[i].Intent, recs[i].Ledger = r.Intent, r.Ledger
			}
		}
	}
	return nil
}

// pageKinds are the kinds of reference a page's queries read: the object tables, and
// rev_ reversals ("").
var pageKinds = [...]string{"payments", "refunds", "topups", "withdrawals", ""}

const pageKindReversal = 4

// pageKindOf is the index in pageKinds of ref's query, -1 when ReconSides answers
// it (a legacy reversal's family), -2 when no object can be behind it.
func pageKindOf(ref string, legacy map[string]bool) int8 {
	if charge, ok := models.ReversedCharge(ref); ok {
		if legacy[charge] {
			return -1
		}
		return pageKindReversal
	}
	if charge, ok := strings.CutSuffix(ref, ".reversal"); ok && charge != "" {
		return -1
	}
	t := objectTable(ref)
	if t == "" {
		return -2
	}
	if t == "payments" && legacy[ref] {
		return -1
	}
	for k, name := range pageKinds {
		if name == t {
			return int8(k)
		}
	}
	return -2
}

// pageQuery is the query of one kind of reference: the day's transfers in a range,
// each with (NULL where there is none) the object's amount, currency, status and
// source type, the status of its reversal's bank record, and one clearing entry's
// currency and amount (a row per entry).
func (s *Store) pageQuery(kind string) string {
	sel, hint, rev := "SELECT ", " INDEXED BY bank_transfers_channel_day_reference", "'rev_' || o.id"
	if s.db.Dialect == DialectMySQL {
		sel, hint, rev = "SELECT STRAIGHT_JOIN ", " FORCE INDEX (bank_transfers_channel_day_reference)", "CONCAT('rev_', o.id)"
	}
	const where = ` WHERE bt.channel = ? AND bt.day = ? AND bt.reference >= ? AND bt.reference <= ? ORDER BY bt.reference`
	// The journals of the object first, then their entries, then the account of
	// each (see clearingOf).
	const clearing = ` LEFT JOIN (journals j JOIN entries c ON c.journal_id = j.id JOIN accounts a ON a.id = c.account_id AND a.kind = '` +
		bankClearingKind + `') ON j.flow_id = o.id`
	switch kind {
	case "":
		// A reversal's status is its own record's (the transfer itself); its
		// intent is its payment's amount; it books nothing.
		return sel + `bt.reference, o.amount, o.currency, o.status, NULL, bt.status, NULL, NULL FROM bank_transfers bt` + hint +
			` LEFT JOIN payments o ON o.id = SUBSTR(bt.reference, ` + strconv.Itoa(len(models.PrefixReversal)+1) + `)` + where
	case "payments":
		return sel + `bt.reference, o.amount, o.currency, o.status, o.source_type, rv.status, c.currency, c.amount FROM bank_transfers bt` + hint +
			` LEFT JOIN payments o ON o.id = bt.reference` +
			` LEFT JOIN bank_transfers rv ON rv.reference = ` + rev + ` AND o.status IN ('failed', 'canceled')` +
			clearing + where
	}
	return sel + `bt.reference, o.amount, o.currency, o.status, NULL, NULL, c.currency, c.amount FROM bank_transfers bt` + hint +
		` LEFT JOIN ` + kind + ` o ON o.id = bt.reference` + clearing + where
}

// ReconDaySQL is the query EnrichReconPage runs for the payments of a page, over a
// whole range of a day (arguments: channel, day, the first and last reference): what
// the benchmark times as the database's floor.
func (s *Store) ReconDaySQL() string { return s.pageQuery("payments") }

// readPageKind reads the records of one kind (recs[idx], in order) and merges them
// in: matched[i] says record i's row came (its intent, when it has an object, is
// intents[i]).
func (s *Store) readPageKind(ctx context.Context, kind, channel, day string, recs []recon.Record, idx []int, matched []bool, intents []recon.Intent) error {
	first, last := recs[idx[0]].Reference, recs[idx[len(idx)-1]].Reference
	rows, err := s.db.WithContext(ctx).Raw(s.pageQuery(kind), channel, day, first, last).Rows()
	if err != nil {
		return fmt.Errorf("reconciliation: read our %s side: %w", kindName(kind), err)
	}
	defer rows.Close()
	var (
		ref, amount, currency, status, source, revStatus, entCurrency, entAmount sql.RawBytes
		words                                                                    = map[string]string{}
		k                                                                        int // position in idx
		cur                                                                      = -1
		sums                                                                     []currencySum
	)
	word := func(b sql.RawBytes) string {
		if w, ok := words[string(b)]; ok {
			return w
		}
		w := string(b)
		words[w] = w
		return w
	}
	// settle sets the ledger of record cur from its entries' sums.
	settle := func() {
		if cur < 0 || len(sums) == 0 {
			return
		}
		// Of several currencies the greatest is the one ReconSides keeps (its
		// grouped rows come in currency order, the last wins).
		best := sums[0]
		for _, cs := range sums[1:] {
			if cs.currency > best.currency {
				best = cs
			}
		}
		if best.total < 0 {
			best.total = -best.total
		}
		if recs[cur].Intent != nil {
			recs[cur].Ledger = recon.Ledger{Booked: true, Amount: best.total, Currency: best.currency}
		}
		sums = sums[:0]
	}
	for rows.Next() {
		if err := rows.Scan(&ref, &amount, &currency, &status, &source, &revStatus, &entCurrency, &entAmount); err != nil {
			return fmt.Errorf("reconciliation: scan our %s side: %w", kindName(kind), err)
		}
		for k < len(idx) && recs[idx[k]].Reference < string(ref) {
			k++
		}
		if k == len(idx) {
			break
		}
		i := idx[k]
		if recs[i].Reference != string(ref) {
			continue // a transfer recorded since the page was read
		}
		if i != cur {
			settle()
			cur = i
			matched[i] = true
			if amount != nil { // its object
				n, err := strconv.ParseInt(string(amount), 10, 64)
				if err != nil {
					return fmt.Errorf("reconciliation: amount of %s: %w", recs[i].Reference, err)
				}
				o := objectRow{Amount: n, Currency: word(currency), Status: word(status), SourceType: word(source), table: kind}
				in := &intents[i]
				if kind == "" {
					reversalIntent(in, &o, word(revStatus), true)
				} else {
					objectIntent(in, &o, word(revStatus), revStatus != nil)
				}
				recs[i].Intent, recs[i].Ledger = in, recon.Ledger{}
			}
		}
		if entAmount != nil {
			n, err := strconv.ParseInt(string(entAmount), 10, 64)
			if err != nil {
				return fmt.Errorf("reconciliation: clearing entry of %s: %w", recs[i].Reference, err)
			}
			if sums, err = addCurrencySum(sums, word(entCurrency), n); err != nil {
				return fmt.Errorf("reconciliation: clearing of %s: %w", recs[i].Reference, err)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reconciliation: read our %s side: %w", kindName(kind), err)
	}
	settle()
	return nil
}

type currencySum struct {
	currency string
	total    int64
}

// addCurrencySum adds n to currency's sum; a sum that does not fit in int64 is an
// error (the database's SUM would not scan either).
func addCurrencySum(sums []currencySum, currency string, n int64) ([]currencySum, error) {
	for k := range sums {
		if sums[k].currency == currency {
			t, err := models.AddChecked(sums[k].total, n)
			if err != nil {
				return sums, fmt.Errorf("the %s clearing entries' sum: %w", currency, err)
			}
			sums[k].total = t
			return sums, nil
		}
	}
	return append(sums, currencySum{currency: currency, total: n}), nil
}

func kindName(kind string) string {
	if kind == "" {
		return "reversals"
	}
	return kind
}
