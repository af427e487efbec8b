package chaos

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/payflow/payflow/models"
)

// Books reads payflow's ledger tables directly: what the run's checks need that no
// API shows (journals by the flow that posted them, the merchant's settlement
// balance). The SQL is plain enough for MariaDB and SQLite.
type Books struct {
	DB *sql.DB
}

// JournalsByFlowID counts the ledger's journals by the id of the object whose flow
// posted them (journals.flow_id: pay_..., re_..., top_..., wd_...).
func (b Books) JournalsByFlowID(ctx context.Context) (map[string]int, error) {
	rows, err := b.DB.QueryContext(ctx, `SELECT flow_id, COUNT(*) FROM journals GROUP BY flow_id`)
	if err != nil {
		return nil, fmt.Errorf("journals by flow: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// SettlementBalance is the balance of the merchant's settlement accounts in currency.
func (b Books) SettlementBalance(ctx context.Context, merchantID, currency string) (int64, error) {
	var n int64
	err := b.DB.QueryRowContext(ctx, `SELECT COALESCE(SUM(balance), 0) FROM accounts
		WHERE kind = 'merchant_settlement' AND merchant_id = ? AND currency = ?`, merchantID, currency).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("settlement balance of %s: %w", merchantID, err)
	}
	return n, nil
}

// ClearingKey names the entries of one flow on one bank clearing account.
type ClearingKey struct{ Channel, Currency, FlowID string }

// ClearingByFlow sums the ledger's entries on the bank clearing accounts by channel,
// currency and the flow that posted them. A clearing account carries the negative of
// the money its bank holds for payflow: a charge booked to it is -amount, a payout or
// refund +amount.
func (b Books) ClearingByFlow(ctx context.Context) (map[ClearingKey]int64, error) {
	rows, err := b.DB.QueryContext(ctx, `SELECT a.channel, a.currency, j.flow_id, SUM(e.amount)
		FROM entries e JOIN accounts a ON a.id = e.account_id JOIN journals j ON j.id = e.journal_id
		WHERE a.kind = 'bank_clearing' GROUP BY a.channel, a.currency, j.flow_id`)
	if err != nil {
		return nil, fmt.Errorf("clearing entries by flow: %w", err)
	}
	defer rows.Close()
	out := map[ClearingKey]int64{}
	for rows.Next() {
		var k ClearingKey
		var n int64
		if err := rows.Scan(&k.Channel, &k.Currency, &k.FlowID, &n); err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, rows.Err()
}

// Party is another merchant of the run: the driver that reads its objects and the
// receiver of its webhooks.
type Party struct {
	Driver   *Driver
	Receiver *Receiver
}

// BankChannel is the channel the bank simulator is: the only one whose own record
// (executions, transfers, statements) the run can read.
const BankChannel = "banksim"

// VerifyOptions say what to check a finished run against.
type VerifyOptions struct {
	Books      Books
	MerchantID string
	// Receiver, when set, must have received every flow's event.
	Receiver *Receiver
	// Others are the run's other merchants (flows with Flow.Merchant set), by id.
	Others map[string]Party
	// Since is when the run began: the bank's statements are read from its UTC
	// day to now (zero: today's only).
	Since time.Time
	// Wait bounds how long flows and webhooks may still take.
	Wait time.Duration
	// Say reports progress ("" format is never passed).
	Say func(format string, args ...any)
	// VerificationFee and VerificationCachedFee are the merchant's prices of a
	// verification the bank answered and of one the cache did (both 0: the
	// defaults).
	VerificationFee, VerificationCachedFee int64
	// CacheOutages are the times the run had the cache down.
	CacheOutages []Outage
}

// Report is what a run proved, in counts, and every problem found (none: nothing was
// lost or doubled).
type Report struct {
	Flows    int
	ByKind   map[string]int
	ByStatus map[string]int
	// ByCode counts the failure codes of the flows that ended with one.
	ByCode       map[string]int
	Wallets      int
	BankExecuted int
	// ExecutedTwice are references the bank executed more than once; JournalsWrong
	// flows with another number of journals than their outcome needs.
	ExecutedTwice, JournalsWrong int
	Journals                     int
	LedgerJournals               int64
	LedgerEntries                int64
	LedgerOK                     bool
	Settlement                   int64
	Events                       int
	Deliveries                   int
	Redelivered                  int
	Retried                      int64
	// Channels counts the flows by the real channel that moved their money; Auto
	// those that asked for auto.
	Channels, Auto map[string]int
	// CanceledAtBank are flows that did not succeed whose transfer the bank
	// accepted and then canceled; Reversed those whose charge the bank executed and
	// then gave back (rev_...); Attention the flows seen in stage needs_attention.
	CanceledAtBank, Reversed, Attention int
	// Movements are the bank's statement lines; BankNet and ClearingNet, per
	// currency, the money they moved (charges in, payouts and refunds out) and the
	// negative of the ledger's entries on the bank's clearing account.
	Movements   int
	BankNet     map[string]int64
	ClearingNet map[string]int64
	// Settlements are the settlement balances of the run's other merchants.
	Settlements map[string]int64
	// Identity is what the identity services' requests came to.
	Identity IdentityReport
	// Extra are lines the caller adds (what the run did beside the flows).
	Extra    []string
	Problems []string
}

// OK reports whether the run lost or doubled nothing.
func (r Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// String prints the counts.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "flows %d %s, final statuses %s, failure codes %s, wallets %d\n", r.Flows, counts(r.ByKind), counts(r.ByStatus), counts(r.ByCode), r.Wallets)
	fmt.Fprintf(&b, "bank: %d references executed, %d more than once; ledger: %d journals of the run's flows, %d flows with a wrong number; check ok=%v (%d journals, %d entries)\n",
		r.BankExecuted, r.ExecutedTwice, r.Journals, r.JournalsWrong, r.LedgerOK, r.LedgerJournals, r.LedgerEntries)
	fmt.Fprintf(&b, "settlement balance %d = payments - refunds - verification fees; webhooks: %d events delivered with a valid signature in %d POSTs (%d sent again after a refusal or crash); %d creating requests retried\n",
		r.Settlement, r.Events, r.Deliveries, r.Redelivered, r.Retried)
	fmt.Fprintf(&b, "channels %s", counts(r.Channels))
	if len(r.Auto) > 0 {
		fmt.Fprintf(&b, " (auto went to %s)", counts(r.Auto))
	}
	fmt.Fprintf(&b, "; banksim statement: %d lines, net %s = the ledger's banksim clearing %s; %d flows canceled at the bank, %d charges given back, %d flows seen needing attention",
		r.Movements, money(r.BankNet), money(r.ClearingNet), r.CanceledAtBank, r.Reversed, r.Attention)
	if len(r.Settlements) > 0 {
		fmt.Fprintf(&b, "; other merchants' settlement %s", money(r.Settlements))
	}
	b.WriteString("\n")
	if l := r.Identity.Line(); l != "" {
		b.WriteString(l + "\n")
	}
	for _, e := range r.Extra {
		b.WriteString(e + "\n")
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(&b, "%d PROBLEMS:\n", len(r.Problems))
		for i, p := range r.Problems {
			if i == 50 {
				fmt.Fprintf(&b, "  ... and %d more\n", len(r.Problems)-50)
				break
			}
			fmt.Fprintf(&b, "  - %s\n", p)
		}
	}
	return b.String()
}

func money(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%d", k, m[k])
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// Verify waits (up to o.Wait) for every flow of tr to end and proves the run:
//   - each object ended as its token says, or as one of the other outcomes its flow
//     may legitimately end with (Flow.Also);
//   - the bank executed no reference twice and every succeeded one once; a flow
//     that did not succeed moved no money there: the bank never executed it, or its
//     own record says failed or canceled, or it executed a charge and then gave the
//     whole of it back (rev_...); a succeeded charge was never given back; a flow
//     that went to another channel never reached the bank simulator;
//   - every succeeded flow posted exactly one journal and no other flow any;
//   - per channel, currency and flow, the ledger's clearing entries are what the
//     flow's outcome moved, no clearing account belongs to a router (auto), and for
//     the bank simulator they equal what its statements say it moved;
//   - the ledger check is ok; every wallet holds the sum of its succeeded top-ups
//     less its succeeded withdrawals, nothing held; each merchant's settlement
//     balance is its succeeded payments less its refunds and verification fees;
//   - a flow that had to need attention was seen in stage needs_attention with its
//     hold kept;
//   - every flow's event reached its merchant's receiver with a valid signature;
//   - the identity services' requests ended and were billed exactly once, and the
//     cards bound are active (verifyIdentity);
//   - Temporal lists none of the merchants' flows as open (but the flows of the
//     active cards, which stay open until a card is removed).
func Verify(ctx context.Context, d *Driver, tr *Tracker, o VerifyOptions) Report {
	say := o.Say
	if say == nil {
		say = func(string, ...any) {}
	}
	rep := Report{ByKind: map[string]int{}, ByStatus: map[string]int{}, ByCode: map[string]int{}, Channels: map[string]int{}, Auto: map[string]int{}, Retried: d.Retried.Load(),
		BankNet: map[string]int64{}, ClearingNet: map[string]int64{}}
	for _, p := range o.Others {
		rep.Retried += p.Driver.Retried.Load()
	}
	for _, err := range tr.Errs() {
		rep.problem("flow did not start or end: %v", err)
	}
	party := func(f Flow) Party {
		if p, ok := o.Others[f.Merchant]; ok && f.Merchant != "" && f.Merchant != o.MerchantID {
			return p
		}
		return Party{Driver: d, Receiver: o.Receiver}
	}
	wctx, cancel := context.WithTimeout(ctx, o.Wait)
	defer cancel()
	flows := tr.Flows()
	rep.Flows = len(flows)
	final := map[string]Object{}
	for _, f := range flows {
		got, err := party(f).Driver.WaitFinal(wctx, f.Path, Pending...)
		if err != nil {
			rep.problem("%s %s never ended: %v", f.Kind, f.ID, err)
			continue
		}
		final[f.ID] = got
		rep.ByKind[f.Kind]++
		rep.ByStatus[f.Kind+"."+got.Status]++
		if got.FailureCode != "" {
			rep.ByCode[f.Kind+"."+got.FailureCode]++
		}
		if !f.Accepts(Outcome{got.Status, got.FailureCode}) {
			rep.problem("%s %s ended %s %q, it may only end %s", f.Kind, f.ID, got.Status, got.FailureCode, f.Legitimate())
		}
	}
	say("every flow ended; asking the bank what it did with each reference")

	journals, err := o.Books.JournalsByFlowID(ctx)
	if err != nil {
		rep.problem("%v", err)
	}
	ours := map[string]bool{}
	wallets := map[string]int64{}
	for _, w := range tr.Wallets() {
		wallets[w] = 0
	}
	settlement := map[string]int64{}
	// clearing is what each flow's outcome must have booked on its channel's
	// clearing account.
	clearing := map[ClearingKey]int64{}
	for _, f := range flows {
		ours[f.ID] = true
		got, ok := final[f.ID]
		if !ok {
			continue
		}
		succeeded := got.Status == "succeeded" || got.Status == "partially_refunded" || got.Status == "refunded"
		channel := got.Channel
		if channel == "" {
			channel = f.Channel
		}
		if channel == "" {
			channel = BankChannel
		}
		rep.Channels[channel]++
		if f.Channel == "auto" {
			rep.Auto[channel]++
		}
		n := verifyAtBank(ctx, &rep, d, f, got, channel, succeeded)
		rep.BankExecuted += n
		j := journals[f.ID]
		rep.Journals += j
		switch {
		case succeeded && j != 1:
			rep.JournalsWrong++
			rep.problem("%s %s succeeded with %d ledger journals (want 1)", f.Kind, f.ID, j)
		case !succeeded && j != 0:
			rep.JournalsWrong++
			rep.problem("%s %s ended %s with %d ledger journals (want 0)", f.Kind, f.ID, got.Status, j)
		}
		switch a := tr.AttentionOf(f.ID); {
		case a.Seen && a.HoldLost > 0:
			rep.problem("%s %s needed attention but its wallet did not hold its amount (%d of %d times read)", f.Kind, f.ID, a.HoldLost, a.Checks)
		case f.Attention && !a.Seen:
			rep.problem("%s %s was never seen in stage needs_attention (the bank refused to cancel it at its deadline)", f.Kind, f.ID)
		case f.Attention && a.Checks == 0:
			rep.problem("%s %s was seen needing attention, but its hold was never read while it was open", f.Kind, f.ID)
		}
		if tr.AttentionOf(f.ID).Seen {
			rep.Attention++
		}
		if !succeeded {
			continue
		}
		currency := got.Currency
		if currency == "" {
			currency = "CNY"
		}
		key := ClearingKey{Channel: channel, Currency: currency, FlowID: f.ID}
		switch f.Kind {
		case "payment":
			settlement[f.Merchant] += got.Amount
			clearing[key] -= got.Amount
		case "refund":
			settlement[f.Merchant] -= got.Amount
			clearing[key] += got.Amount
		case "topup":
			wallets[f.Account] += got.Amount
			clearing[key] -= got.Amount
		case "withdrawal":
			wallets[f.Account] -= got.Amount
			clearing[key] += got.Amount
		}
	}
	say("checking the verifications' bills and the bound cards")
	fees, identityIDs := verifyIdentity(ctx, wctx, &rep, d, tr, o)
	for id := range identityIDs {
		ours[id] = true
	}
	settlement[""] -= fees
	for id, n := range journals {
		if !ours[id] {
			rep.problem("%d ledger journals of %q, which no flow of the run is", n, id)
		}
	}
	say("comparing the ledger's clearing accounts with the flows and with the bank's statements")
	verifyClearing(ctx, &rep, d, o, clearing)

	lc, err := d.LedgerCheck(ctx)
	if err != nil {
		rep.problem("%v", err)
	}
	rep.LedgerOK, rep.LedgerJournals, rep.LedgerEntries = lc.OK, lc.Journals, lc.Entries
	if !lc.OK {
		rep.problem("ledger check not ok: %+v", lc)
	}
	rep.Wallets = len(wallets)
	for id, want := range wallets {
		bal, avail, err := d.Balance(ctx, id)
		if err != nil {
			rep.problem("%v", err)
			continue
		}
		if bal != want || avail != want {
			rep.problem("wallet %s: balance %d, available %d; its flows reported %d", id, bal, avail, want)
		}
	}
	rep.Settlement, err = o.Books.SettlementBalance(ctx, o.MerchantID, "CNY")
	if err != nil {
		rep.problem("%v", err)
	} else if rep.Settlement != settlement[""]+settlement[o.MerchantID] {
		rep.problem("settlement balance %d; the payments and refunds (less the verifications' fees) reported %d", rep.Settlement, settlement[""]+settlement[o.MerchantID])
	}
	for _, id := range sortedKeys(o.Others) {
		got, err := o.Books.SettlementBalance(ctx, id, "CNY")
		if err != nil {
			rep.problem("%v", err)
			continue
		}
		if rep.Settlements == nil {
			rep.Settlements = map[string]int64{}
		}
		rep.Settlements[id] = got
		if got != settlement[id] {
			rep.problem("merchant %s: settlement balance %d; its payments and refunds reported %d", id, got, settlement[id])
		}
	}

	if o.Receiver != nil {
		say("checking that every flow's webhook arrived signed")
		verifyWebhooks(wctx, &rep, flowsOf(flows, func(f Flow) bool { return party(f).Receiver == o.Receiver }), final, o.Receiver)
	}
	for _, id := range sortedKeys(o.Others) {
		if p := o.Others[id]; p.Receiver != nil {
			verifyWebhooks(wctx, &rep, flowsOf(flows, func(f Flow) bool { return f.Merchant == id }), final, p.Receiver)
		}
	}
	// Temporal agrees: none of the merchants' flows (webhook deliveries included) is
	// still open (its visibility lags the flows by a moment).
	// A bound card's flow stays open while the card is active.
	cards := activeCardFlows(tr.Bindings())
	for _, id := range append([]string{o.MerchantID}, sortedKeys(o.Others)...) {
		// The last list read is kept: the call that meets the deadline reads none.
		var seen []string
		for {
			open, err := d.OpenFlows(wctx, id)
			open = slices.DeleteFunc(open, func(f string) bool { return cards[f] })
			if err == nil && len(open) == 0 {
				break
			}
			if err == nil {
				seen = open
			}
			if wctx.Err() != nil {
				rep.problem("flows still open in Temporal: %v (last read: %v)", seen, err)
				break
			}
			time.Sleep(time.Second)
		}
	}
	return rep
}

// verifyAtBank checks what the bank simulator did with a flow's reference and
// returns how often it executed it.
func verifyAtBank(ctx context.Context, rep *Report, d *Driver, f Flow, got Object, channel string, succeeded bool) int {
	n, err := d.Executions(ctx, f.BankRef)
	if err != nil {
		rep.problem("%v", err)
		return 0
	}
	if n > 1 {
		rep.ExecutedTwice++
		rep.problem("the bank executed %s %s %d times", f.Kind, f.BankRef, n)
	}
	charge := f.Kind == "payment" || f.Kind == "topup"
	reversal := models.ReversalReference(f.BankRef)
	switch {
	case models.IsQRProvider(channel):
		// The simulator plays the wallet providers too: its executions count the
		// provider's trade. What the provider did is checked at the provider.
		if f.Kind == "payment" {
			verifyAtProvider(ctx, rep, d, f, got, channel, succeeded)
		}
		return n
	case channel != BankChannel:
		// The bank simulator is not the channel that moved the money: it must
		// never have executed the reference (one real channel at a time).
		if n != 0 {
			rep.problem("%s %s went to %s but the bank simulator executed it %d times too", f.Kind, f.BankRef, channel, n)
		}
		return n
	case succeeded:
		if n != 1 {
			rep.problem("%s %s succeeded but the bank executed it %d times", f.Kind, f.BankRef, n)
		}
		if charge {
			if r, err := d.Executions(ctx, reversal); err != nil {
				rep.problem("%v", err)
			} else if r != 0 {
				rep.problem("%s %s succeeded but the bank also executed its reversal %s", f.Kind, f.BankRef, reversal)
			}
		}
		return n
	case n == 0:
		return n
	}
	// The bank accepted the reference of a flow that did not succeed: its own
	// record must say that no money moved, or that the money went back.
	t, err := d.Transfer(ctx, f.BankRef)
	if err != nil {
		rep.problem("%v", err)
		return n
	}
	switch {
	case t.Status == "failed":
	case t.Status == "canceled":
		rep.CanceledAtBank++
	case t.Status == "succeeded" && charge:
		r, err := d.Executions(ctx, reversal)
		if err != nil {
			rep.problem("%v", err)
			return n
		}
		rt, err := d.Transfer(ctx, reversal)
		if err != nil {
			rep.problem("%v", err)
			return n
		}
		if r != 1 || rt.Status != "succeeded" || rt.Amount != t.Amount {
			state := fmt.Sprintf("%s %d of %d", rt.Status, rt.Amount, t.Amount)
			if !rt.Found {
				state = "never seen by the bank"
			}
			rep.problem("%s %s ended %s %q but the bank executed its charge and did not give it back (reversal %s executed %d times, %s)",
				f.Kind, f.BankRef, got.Status, got.FailureCode, reversal, r, state)
			return n
		}
		rep.Reversed++
	case t.Status == "succeeded":
		rep.problem("%s %s ended %s %q but the bank executed its %s: money moved for a flow that did not succeed", f.Kind, f.BankRef, got.Status, got.FailureCode, t.Kind)
	default:
		rep.problem("%s %s ended %s %q while the bank's transfer is %q: the bank may still move the money", f.Kind, f.BankRef, got.Status, got.FailureCode, t.Status)
	}
	return n
}

// verifyClearing compares the ledger's clearing entries with what the flows' outcomes
// moved (want), on every channel, and with what the bank simulator's statements say
// it moved, on its channel.
func verifyClearing(ctx context.Context, rep *Report, d *Driver, o VerifyOptions, want map[ClearingKey]int64) {
	booked, err := o.Books.ClearingByFlow(ctx)
	if err != nil {
		rep.problem("%v", err)
		return
	}
	for _, k := range sortedKeys(booked) {
		if k.Channel == "" || k.Channel == "auto" {
			rep.problem("%d booked on a clearing account of channel %q by %s: money is cleared at the bank that moved it", booked[k], k.Channel, k.FlowID)
		}
	}
	for _, k := range sortedKeys(union(booked, want)) {
		if booked[k] != want[k] {
			rep.problem("%s booked %d on bank_clearing/%s/%s; its outcome moved %d there", k.FlowID, booked[k], k.Channel, k.Currency, want[k])
		}
	}
	since := o.Since
	if since.IsZero() {
		since = time.Now()
	}
	lines, err := d.Statement(ctx, BankChannel, since, time.Now())
	if err != nil {
		rep.problem("%v", err)
		return
	}
	rep.Movements = len(lines)
	moved := map[ClearingKey]int64{}
	for _, m := range lines {
		if v := m.Signed(); v != 0 {
			moved[ClearingKey{Channel: BankChannel, Currency: m.Currency, FlowID: m.FlowID()}] += v
			rep.BankNet[m.Currency] += v
		}
	}
	ledger := map[ClearingKey]int64{}
	for k, v := range booked {
		if k.Channel == BankChannel {
			ledger[k] = -v
			rep.ClearingNet[k.Currency] -= v
		}
	}
	for _, k := range sortedKeys(union(moved, ledger)) {
		if moved[k] != ledger[k] {
			rep.problem("the bank's statements say it moved %d %s for %s; the ledger's banksim clearing entries of it say %d", moved[k], k.Currency, k.FlowID, ledger[k])
		}
	}
	for _, c := range sortedKeys(union(rep.BankNet, rep.ClearingNet)) {
		if rep.BankNet[c] != rep.ClearingNet[c] {
			rep.problem("%s: the bank moved %d in all, the ledger's banksim clearing account says %d", c, rep.BankNet[c], rep.ClearingNet[c])
		}
	}
}

func union[K comparable, V any](a, b map[K]V) map[K]V {
	out := make(map[K]V, len(a)+len(b))
	for k, v := range b {
		out[k] = v
	}
	for k, v := range a {
		out[k] = v
	}
	return out
}

func sortedKeys[K comparable, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	return keys
}

func flowsOf(flows []Flow, keep func(Flow) bool) []Flow {
	var out []Flow
	for _, f := range flows {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}

// eventType is the event a flow's outcome sends: a payment that was later refunded
// sent payment.succeeded when its own flow ended.
func eventType(kind, status string) string {
	switch status {
	case "partially_refunded", "refunded":
		status = "succeeded"
	}
	return kind + "." + status
}

// verifyWebhooks waits until every ended flow's event was accepted once with a valid
// signature, then counts.
func verifyWebhooks(ctx context.Context, rep *Report, flows []Flow, final map[string]Object, rcv *Receiver) {
	missing := func() []string {
		got := rcv.Deliveries()
		var out []string
		for _, f := range flows {
			o, ok := final[f.ID]
			if !ok {
				continue
			}
			want := eventType(f.Kind, o.Status)
			found := false
			for _, d := range got[f.ID] {
				found = found || (d.Type == want && d.Accepted)
			}
			if !found {
				out = append(out, fmt.Sprintf("%s %s (%s)", f.Kind, f.ID, want))
			}
		}
		return out
	}
	for {
		m := missing()
		if len(m) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			rep.problem("%d webhooks never delivered with a valid signature, e.g. %s", len(m), strings.Join(m[:min(len(m), 5)], ", "))
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
	ours := map[string]bool{}
	for _, f := range flows {
		ours[f.ID] = true
	}
	for obj, ds := range rcv.Deliveries() {
		if !ours[obj] {
			rep.problem("webhook about %q, which no flow of the run is", obj)
		}
		types := map[string]bool{}
		for _, d := range ds {
			rep.Events++
			rep.Deliveries += d.Attempts
			rep.Redelivered += d.Attempts - 1
			if d.Invalid > 0 {
				rep.problem("event %s: %d of %d POSTs had no valid signature", d.EventID, d.Invalid, d.Attempts)
			}
			if d.Different > 0 {
				rep.problem("event %s: %d POSTs sent other bytes than the first", d.EventID, d.Different)
			}
			if types[d.Type] {
				rep.problem("%s got two %s events", obj, d.Type)
			}
			types[d.Type] = true
		}
	}
}
