package recon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payflow/payflow/models"
)

// The fund company's reconciliation: its confirmations file of a day (the orders it
// decided that day) is compared with our fund orders by order id, and its holdings
// file with the shares the ledger says our wallets hold. It is a run of the engine's
// (channel models.ReconChannelFund): the same runs, differences, carried in-transit
// items and counts; only the comparison of a line with our record is the fund's.
//
// A day's confirmations are the orders one fund company decided in one day, a
// bounded number: they are read and sorted in memory, unlike a bank's statement.

// confirmationsHeader is the first line of the confirmations file.
var confirmationsHeader = []string{"order_id", "kind", "product_id", "trade_date", "status", "nav", "shares", "amount", "fee", "reason"}

// holdingsHeader is the first line of the holdings file.
var holdingsHeader = []string{"product_id", "shares"}

// Statuses of a confirmation line: a redemption paid later still says confirmed.
const (
	FundLineConfirmed = "confirmed"
	FundLineRejected  = "rejected"
)

// maxFundLines bounds one confirmations file (a day of one fund company's
// decisions): a larger one is refused rather than held in memory.
const maxFundLines = 2_000_000

// FundLine is one readable line of the confirmations file; No is its line number
// (the header is line 1). Units as on the wire: nav ten-thousandths, shares
// hundredths, amount and fee minor units.
type FundLine struct {
	OrderID   string
	Kind      models.FundOrderKind
	ProductID string
	TradeDate string
	Status    string
	NAV       int64
	Shares    int64
	Amount    int64
	Fee       int64
	Reason    string
	No        int64
	// carried: the line of an earlier day's file, as a carried item kept it (its
	// status and amount only).
	carried bool
}

// ParseConfirmations reads a confirmations file: its readable lines, and a
// malformed difference (with its line number and text) for each line that cannot be
// compared. A file whose header is not the contract's is ErrStatementFormat.
func ParseConfirmations(r io.Reader) ([]FundLine, []models.Difference, error) {
	lr := &lineReader{r: bufio.NewReaderSize(r, maxLine)}
	header, _, long, err := lr.next()
	switch {
	case errors.Is(err, io.EOF):
		return nil, nil, fmt.Errorf("%w: the confirmations file is empty", ErrStatementFormat)
	case err != nil:
		return nil, nil, fmt.Errorf("read confirmations: %w", err)
	case long || header != strings.Join(confirmationsHeader, ","):
		return nil, nil, fmt.Errorf("%w: header %q, want %q", ErrStatementFormat, truncateRaw(header), strings.Join(confirmationsHeader, ","))
	}
	var lines []FundLine
	var bad []models.Difference
	var fields []string
	for {
		text, no, long, err := lr.next()
		if errors.Is(err, io.EOF) {
			return lines, bad, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read confirmations at line %d: %w", lr.no, err)
		}
		if text == "" && !long {
			continue
		}
		if len(lines)+len(bad) >= maxFundLines {
			return nil, nil, fmt.Errorf("%w: more than %d lines", ErrStatementFormat, maxFundLines)
		}
		malformed := models.Difference{Kind: models.DiffMalformed, Reference: firstField(text), Line: no, Raw: truncateRaw(text)}
		if long {
			bad = append(bad, malformed)
			continue
		}
		if fields, err = splitLine(text, fields); err != nil {
			bad = append(bad, malformed)
			continue
		}
		l, ok := parseFundLine(fields, no)
		if !ok {
			bad = append(bad, malformed)
			continue
		}
		lines = append(lines, l)
	}
}

// parseFundLine checks one confirmations line: an order id, a known kind and
// status, a trade date, and non-negative integers; a confirmed line has a NAV and
// its quantities (shares and amount), a rejected one a reason.
func parseFundLine(f []string, no int64) (FundLine, bool) {
	if len(f) != len(confirmationsHeader) || f[0] == "" || len(f[0]) > maxReference || f[2] == "" || len(f[2]) > maxReference {
		return FundLine{}, false
	}
	l := FundLine{OrderID: strings.Clone(f[0]), Kind: models.FundOrderKind(f[1]), ProductID: strings.Clone(f[2]),
		TradeDate: strings.Clone(f[3]), Status: f[4], Reason: strings.Clone(f[9]), No: no}
	if l.Kind != models.FundSubscription && l.Kind != models.FundRedemption {
		return FundLine{}, false
	}
	if _, err := time.Parse(models.DayLayout, l.TradeDate); err != nil {
		return FundLine{}, false
	}
	for i, p := range []*int64{&l.NAV, &l.Shares, &l.Amount, &l.Fee} {
		n, err := strconv.ParseInt(f[5+i], 10, 64)
		if err != nil || n < 0 {
			return FundLine{}, false
		}
		*p = n
	}
	switch l.Status {
	case FundLineConfirmed:
		if l.NAV == 0 || l.Shares == 0 || l.Amount == 0 {
			return FundLine{}, false
		}
	case FundLineRejected:
		if l.Reason == "" {
			return FundLine{}, false
		}
	default:
		return FundLine{}, false
	}
	return l, true
}

// Holding is the fund company's count of our shares of one product at a day's end.
type Holding struct {
	ProductID string
	Shares    int64
}

// ParseHoldings reads a holdings file. Unlike confirmations, any unreadable line
// makes the file unusable (ErrStatementFormat): a balance check on part of the
// products would report gaps that are not there.
func ParseHoldings(r io.Reader) ([]Holding, error) {
	var out []Holding
	err := readWholeFile(r, "holdings", holdingsHeader, func(fields []string, no int64) error {
		if fields[0] == "" || len(fields[0]) > maxReference {
			return fmt.Errorf("%w: holdings line %d", ErrStatementFormat, no)
		}
		n, err := strconv.ParseInt(fields[1], 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: holdings line %d", ErrStatementFormat, no)
		}
		if slices.ContainsFunc(out, func(h Holding) bool { return h.ProductID == fields[0] }) {
			return fmt.Errorf("%w: holdings line %d repeats product %q", ErrStatementFormat, no, fields[0])
		}
		out = append(out, Holding{ProductID: strings.Clone(fields[0]), Shares: n})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// readWholeFile reads a file (name in errors) of header's columns that is used
// whole or not at all: any unreadable line makes it ErrStatementFormat. each takes
// every non-blank line's fields (reused between lines) and its number.
func readWholeFile(r io.Reader, name string, header []string, each func(fields []string, no int64) error) error {
	lr := &lineReader{r: bufio.NewReaderSize(r, maxLine)}
	first, _, long, err := lr.next()
	switch {
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: the %s file is empty", ErrStatementFormat, name)
	case err != nil:
		return fmt.Errorf("read %s: %w", name, err)
	case long || first != strings.Join(header, ","):
		return fmt.Errorf("%w: header %q, want %q", ErrStatementFormat, truncateRaw(first), strings.Join(header, ","))
	}
	var fields []string
	lines := 0
	for {
		text, no, long, err := lr.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s at line %d: %w", name, lr.no, err)
		}
		if text == "" && !long {
			continue
		}
		if long || lines >= maxFundLines {
			return fmt.Errorf("%w: %s line %d", ErrStatementFormat, name, no)
		}
		if fields, err = splitLine(text, fields); err != nil || len(fields) != len(header) {
			return fmt.Errorf("%w: %s line %d", ErrStatementFormat, name, no)
		}
		if err := each(fields, no); err != nil {
			return err
		}
		lines++
	}
}

// FundRecord is our side of one fund order id: the order (nil when we have none)
// and, for an item an earlier day's run carried, what that day saw.
type FundRecord struct {
	OrderID string
	Order   *models.FundOrder
	Carried *Carried
}

// FundOurs returns our side of a day: the orders our flows decided that day, the
// orders the fund company was due to decide that day and has not (for us), and the
// items the run of the day before carried; in any order, one record per order id.
type FundOurs func(ctx context.Context) ([]FundRecord, error)

// FundLookup finds our orders of ids the file has and FundOurs did not return
// (decided on another day by one side): the orders we have, by id.
type FundLookup func(ctx context.Context, ids []string) (map[string]models.FundOrder, error)

// FundJob is one fund confirmations pass.
type FundJob struct {
	ReconciliationID string
	Confirmations    io.Reader
	Ours             FundOurs
	Lookup           FundLookup
	Sink             Sink
	Day              time.Time
	CarryDays        int
	// BatchSize is how many differences one Sink call stores (0: DefaultBatchSize).
	BatchSize int
	// Listed records that the file lists ids (sorted, distinct), before any is
	// judged (nil: not recorded).
	Listed func(ctx context.Context, ids []string) error
	// ListedElsewhere answers which of ids (our records without a line in this file)
	// a file of another date listed: they were judged with that file, and are left
	// out here (nil: none).
	ListedElsewhere func(ctx context.Context, ids []string) (map[string]bool, error)
}

// ReconcileFund compares a day's confirmations with our fund orders by order id and
// stores the differences. Every order id is judged once: a file line against our
// order, our order without a line, an unreadable line as malformed, and each extra
// line of one order id as duplicate_reference. Differences are stored in batches;
// a rerun of the pass stores the same ones (the Sink is idempotent), so a crashed
// attempt simply runs again.
func ReconcileFund(ctx context.Context, job FundJob) (models.ReconciliationCounts, error) {
	var c models.ReconciliationCounts
	size := job.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	b := batcher{sink: job.Sink, size: size}
	add := func(d models.Difference) error {
		d.ReconciliationID = job.ReconciliationID
		c.AddDifference(d.Kind)
		return b.add(ctx, d)
	}
	lines, bad, err := ParseConfirmations(job.Confirmations)
	if err != nil {
		return c, err
	}
	c.StatementLines = int64(len(lines) + len(bad))
	for _, d := range bad {
		if err := add(d); err != nil {
			return c, err
		}
	}
	if job.Listed != nil {
		ids := make([]string, 0, len(lines))
		for _, l := range lines {
			ids = append(ids, l.OrderID)
		}
		slices.Sort(ids)
		if err := job.Listed(ctx, slices.Compact(ids)); err != nil {
			return c, fmt.Errorf("record the listed orders: %w", err)
		}
	}
	ours, err := job.Ours(ctx)
	if err != nil {
		return c, fmt.Errorf("our fund orders: %w", err)
	}
	inFile := make(map[string]bool, len(lines))
	for _, l := range lines {
		inFile[l.OrderID] = true
	}
	if job.ListedElsewhere != nil {
		// An item carried with its line is the file's of an earlier date, waiting
		// for our side: judged again here, whatever the listings say.
		withLine := func(o FundRecord) bool { return o.Carried != nil && o.Carried.Bank != nil }
		var unlisted []string
		for _, o := range ours {
			if !inFile[o.OrderID] && !withLine(o) {
				unlisted = append(unlisted, o.OrderID)
			}
		}
		elsewhere, err := job.ListedElsewhere(ctx, unlisted)
		if err != nil {
			return c, fmt.Errorf("our orders listed on other dates: %w", err)
		}
		ours = slices.DeleteFunc(ours, func(o FundRecord) bool { return elsewhere[o.OrderID] && !withLine(o) })
	}
	c.OurRecords = int64(len(ours))
	byID := make(map[string]*FundRecord, len(ours))
	for i := range ours {
		byID[ours[i].OrderID] = &ours[i]
	}
	// Ids of the file that are not our day's: looked up by id.
	var missing []string
	for _, l := range lines {
		if _, ok := byID[l.OrderID]; !ok && !slices.Contains(missing, l.OrderID) {
			missing = append(missing, l.OrderID)
		}
	}
	if len(missing) > 0 && job.Lookup != nil {
		found, err := job.Lookup(ctx, missing)
		if err != nil {
			return c, fmt.Errorf("look up fund orders: %w", err)
		}
		for _, id := range missing {
			if o, ok := found[id]; ok {
				rec := FundRecord{OrderID: id, Order: &o}
				byID[id] = &rec
			}
		}
	}
	// Lines in order id order (then line number), so that a rerun stores the same
	// differences in the same order.
	slices.SortStableFunc(lines, func(a, b FundLine) int { return strings.Compare(a.OrderID, b.OrderID) })
	seen := make(map[string]bool, len(lines))
	for i := range lines {
		l := &lines[i]
		if seen[l.OrderID] {
			side := fundLineSide(l, currencyOf(byID[l.OrderID]))
			if err := add(models.Difference{Kind: models.DiffDuplicateReference, Reference: l.OrderID, Line: l.No, Bank: side}); err != nil {
				return c, err
			}
			continue
		}
		seen[l.OrderID] = true
		d, matched := judgeFund(l, byID[l.OrderID], job.Day, job.CarryDays)
		if matched {
			c.Matched++
			continue
		}
		if err := add(d); err != nil {
			return c, err
		}
	}
	// Our records without a line today, in order id order.
	slices.SortFunc(ours, func(a, b FundRecord) int { return strings.Compare(a.OrderID, b.OrderID) })
	for i := range ours {
		o := &ours[i]
		if seen[o.OrderID] {
			continue
		}
		var carried *FundLine
		if o.Carried != nil && o.Carried.Bank != nil {
			carried = carriedFundLine(o)
		}
		d, matched := judgeFund(carried, o, job.Day, job.CarryDays)
		if matched {
			c.Matched++
			continue
		}
		if err := add(d); err != nil {
			return c, err
		}
	}
	if err := b.flush(ctx); err != nil {
		return c, err
	}
	return c, nil
}

// carriedFundLine is the line an earlier day's file had for a carried order, as the
// carried difference kept it (its status and amount).
func carriedFundLine(o *FundRecord) *FundLine {
	b := o.Carried.Bank
	return &FundLine{OrderID: o.OrderID, Kind: models.FundOrderKind(b.Kind), Status: b.Status, Amount: b.Amount, No: b.No, carried: true}
}

// judgeFund classifies one order id from its line (nil: the file has none) and our
// record (nil: no order of ours). A matched order answers true; any other verdict
// is the difference to store (in_transit included).
//
// The checks run in the engine's order: an order we do not have, then a fund
// company that has nothing, then a different outcome, then different quantities.
// An order one side decided and the other not yet (our flow records the fund's
// decision moments after it, possibly after midnight) is in transit until the carry
// days are over.
func judgeFund(l *FundLine, r *FundRecord, day time.Time, carryDays int) (models.Difference, bool) {
	var o *models.FundOrder
	if r != nil {
		o = r.Order
	}
	d := models.Difference{}
	if l != nil {
		d.Reference, d.Bank = l.OrderID, fundLineSide(l, currencyOf(r))
		if !l.carried {
			d.Line = l.No
		}
	}
	if r != nil {
		d.Reference = r.OrderID
		d.Ours = fundOrderSide(o)
	}
	verdictOf := func(v verdict) (models.Difference, bool) {
		if v.matched() {
			return models.Difference{}, true
		}
		d.Kind, d.Since = v.kind, v.since
		return d, false
	}
	rec := func() *Record {
		// The engine's transit needs only the carried day.
		return &Record{Reference: r.OrderID, Carried: r.Carried}
	}
	decided := o != nil && o.Status != models.FundOrderProcessing
	switch {
	case o == nil && l == nil:
		// A carried item whose order is gone: nothing to compare it with.
		return verdictOf(verdict{kind: models.DiffMissingAtBank})
	case o == nil:
		return verdictOf(verdict{kind: models.DiffMissingOnOurSide})
	case l == nil && !decided:
		return verdictOf(transit(rec(), models.DiffStatusMismatch, day, carryDays))
	case l == nil:
		return verdictOf(transit(rec(), models.DiffMissingAtBank, day, carryDays))
	case !decided:
		// The fund decided; our flow has not recorded it yet.
		return verdictOf(transit(rec(), models.DiffStatusMismatch, day, carryDays))
	}
	confirmed := o.Status == models.FundOrderConfirmed || o.Status == models.FundOrderPaid
	if confirmed != (l.Status == FundLineConfirmed) || (!confirmed && o.FailureCode != models.FailureRejectedByFund) {
		return verdictOf(verdict{kind: models.DiffStatusMismatch})
	}
	if !confirmed {
		return verdictOf(verdict{})
	}
	if ours, theirs, ok := fundQuantityGap(l, o); !ok {
		d.Ours, d.Bank = ours, theirs
		return verdictOf(verdict{kind: models.DiffAmountMismatch})
	}
	return verdictOf(verdict{})
}

// Units of the sides of a fund amount_mismatch, besides the order's currency
// (the amount): which quantity differs.
const (
	// FeeUnitPrefix + currency: the fee, minor units.
	FeeUnitPrefix = "FEE."
	// NAVUnitPrefix + product: the NAV, ten-thousandths.
	NAVUnitPrefix = "NAV."
)

// fundQuantityGap compares a confirmed order's quantities with the fund's line, in
// the order a customer feels them: the money, the shares, the fee, the NAV. It
// answers the two sides of the first that differs, in its unit, or ok. A line
// carried from an earlier day kept its amount only.
func fundQuantityGap(l *FundLine, o *models.FundOrder) (ours, theirs *models.DifferenceSide, ok bool) {
	side := func(amount int64, unit string, status string) *models.DifferenceSide {
		return &models.DifferenceSide{Kind: string(o.Kind()), Amount: amount, Currency: unit, Status: status}
	}
	cur := string(o.Currency)
	pairs := []struct {
		ours, theirs int64
		unit         string
	}{
		{o.Amount, l.Amount, cur},
		{o.Shares, l.Shares, string(models.ShareAsset(o.ProductID))},
		{o.Fee, l.Fee, FeeUnitPrefix + cur},
		{o.NAV, l.NAV, NAVUnitPrefix + o.ProductID},
	}
	if l.carried {
		pairs = pairs[:1]
	}
	for _, p := range pairs {
		if p.ours != p.theirs {
			return side(p.ours, p.unit, string(o.Status)), side(p.theirs, p.unit, l.Status), false
		}
	}
	return nil, nil, true
}

// fundLineSide is the fund company's line as a difference shows it: its kind,
// amount (money) and status.
func fundLineSide(l *FundLine, currency string) *models.DifferenceSide {
	return &models.DifferenceSide{Kind: string(l.Kind), Amount: l.Amount, Currency: currency, Status: l.Status}
}

// fundOrderSide is our order as a difference shows it.
func fundOrderSide(o *models.FundOrder) *models.DifferenceSide {
	if o == nil {
		return nil
	}
	return &models.DifferenceSide{Kind: string(o.Kind()), Amount: o.Amount, Currency: string(o.Currency), Status: string(o.Status)}
}

// currencyOf is the currency of our order, or the fund company's (CNY) when we
// have none.
func currencyOf(r *FundRecord) string {
	if r != nil && r.Order != nil && r.Order.Currency != "" {
		return string(r.Order.Currency)
	}
	return fundCurrency
}

// HoldingGaps compares the fund company's holdings with ours (the shares our
// wallets hold per product, by product) and answers a balance_gap difference,
// reference "balance/SHR.<product>", for each product where they differ (sorted
// by product): the bank side is the fund's count, the ledger side ours.
func HoldingGaps(reconciliationID string, fund []Holding, ours map[string]int64) []models.Difference {
	theirs := map[string]int64{}
	var products []string
	for _, h := range fund {
		theirs[h.ProductID] += h.Shares
		products = append(products, h.ProductID)
	}
	for p := range ours {
		products = append(products, p)
	}
	slices.Sort(products)
	products = slices.Compact(products)
	var out []models.Difference
	for _, p := range products {
		if theirs[p] == ours[p] {
			continue
		}
		asset := string(models.ShareAsset(p))
		out = append(out, models.Difference{
			ReconciliationID: reconciliationID,
			Reference:        models.BalanceGapReferencePrefix + asset,
			Kind:             models.DiffBalanceGap,
			Bank:             &models.DifferenceSide{Kind: HoldingSideKind, Amount: theirs[p], Currency: asset, Status: HoldingSideStatus},
			Ledger:           &models.DifferenceSide{Kind: models.LedgerSideKind, Amount: ours[p], Currency: asset, Status: models.LedgerBooked},
		})
	}
	return out
}

// The fund side of a holdings balance_gap.
const (
	HoldingSideKind   = "holding"
	HoldingSideStatus = "held"
)

// fundCurrency is the fund company's currency: its products are all in CNY.
const fundCurrency = "CNY"

// incomeHeader is the income file's header.
var incomeHeader = []string{"date", "product_id", "income_per_10k"}

// Income is one line of the fund company's income file: a money market product's
// income of a day per 10,000 units, in 1/10,000 of a minor unit.
type Income struct {
	Date         string
	ProductID    string
	IncomePer10k int64
}

// ParseIncome reads an income file. As for holdings, any unreadable line makes the
// file unusable (ErrStatementFormat).
func ParseIncome(r io.Reader) ([]Income, error) {
	var out []Income
	err := readWholeFile(r, "income", incomeHeader, func(fields []string, no int64) error {
		if !validFundDate(fields[0]) || !models.ValidProductID(fields[1]) {
			return fmt.Errorf("%w: income line %d", ErrStatementFormat, no)
		}
		n, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: income line %d", ErrStatementFormat, no)
		}
		out = append(out, Income{Date: strings.Clone(fields[0]), ProductID: strings.Clone(fields[1]), IncomePer10k: n})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func validFundDate(s string) bool {
	d, err := time.Parse(models.DayLayout, s)
	return err == nil && d.Format(models.DayLayout) == s
}

// The fund side of an income balance_gap, and its reference's prefix
// ("income/prd_mmf").
const (
	IncomeSideKind        = "income"
	IncomeSideStatus      = "published"
	IncomeSideMissing     = "not_in_file"
	IncomeReferencePrefix = "income/"
)

// IncomeGap compares the income the fund company's file states for the product and
// date with the income the day's yield run paid (a run that has not read it yet
// compares nothing): a balance_gap difference when they differ, or when the file
// has no line for the day the run paid (its bank side not_in_file). Amounts are incomes per 10,000 units, in
// 1/10,000 of a minor unit.
func IncomeGap(reconciliationID, productID, date string, file []Income, paid int64, currency models.Currency) (models.Difference, bool) {
	var theirs *Income
	for i := range file {
		if file[i].ProductID == productID && file[i].Date == date {
			theirs = &file[i]
		}
	}
	if theirs != nil && theirs.IncomePer10k == paid {
		return models.Difference{}, false
	}
	d := models.Difference{
		ReconciliationID: reconciliationID,
		Reference:        IncomeReferencePrefix + productID,
		Kind:             models.DiffBalanceGap,
		Ledger:           &models.DifferenceSide{Kind: models.LedgerSideKind, Amount: paid, Currency: string(currency), Status: models.LedgerBooked},
	}
	d.Bank = &models.DifferenceSide{Kind: IncomeSideKind, Currency: string(currency), Status: IncomeSideMissing}
	if theirs != nil {
		d.Bank.Amount, d.Bank.Status = theirs.IncomePer10k, IncomeSideStatus
	}
	return d, true
}
