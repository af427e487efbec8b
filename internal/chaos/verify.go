package chaos

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"
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

// VerifyOptions say what to check a finished run against.
type VerifyOptions struct {
	Books      Books
	MerchantID string
	// Receiver, when set, must have received every flow's event.
	Receiver *Receiver
	// Wait bounds how long flows and webhooks may still take.
	Wait time.Duration
	// Say reports progress ("" format is never passed).
	Say func(format string, args ...any)
}

// Report is what a run proved, in counts, and every problem found (none: nothing was
// lost or doubled).
type Report struct {
	Flows        int
	ByKind       map[string]int
	ByStatus     map[string]int
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
	Problems                     []string
}

// OK reports whether the run lost or doubled nothing.
func (r Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// String prints the counts.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "flows %d %s, final statuses %s, wallets %d\n", r.Flows, counts(r.ByKind), counts(r.ByStatus), r.Wallets)
	fmt.Fprintf(&b, "bank: %d references executed, %d more than once; ledger: %d journals of the run's flows, %d flows with a wrong number; check ok=%v (%d journals, %d entries)\n",
		r.BankExecuted, r.ExecutedTwice, r.Journals, r.JournalsWrong, r.LedgerOK, r.LedgerJournals, r.LedgerEntries)
	fmt.Fprintf(&b, "settlement balance %d = payments - refunds; webhooks: %d events delivered with a valid signature in %d POSTs (%d sent again after a refusal or crash); %d creating requests retried\n",
		r.Settlement, r.Events, r.Deliveries, r.Redelivered, r.Retried)
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

// Verify waits (up to o.Wait) for every flow of tr to end and proves the run: each
// object ended as its token says; the bank executed no reference twice and every
// succeeded one once; every succeeded flow posted exactly one journal and no failed
// flow any; the ledger check is ok; every wallet holds the sum of its succeeded
// top-ups less its succeeded withdrawals, nothing held; the merchant's settlement
// balance is its succeeded payments less its refunds; every flow's event reached the
// receiver with a valid signature; and Temporal lists none of the merchant's flows
// as open.
func Verify(ctx context.Context, d *Driver, tr *Tracker, o VerifyOptions) Report {
	say := o.Say
	if say == nil {
		say = func(string, ...any) {}
	}
	rep := Report{ByKind: map[string]int{}, ByStatus: map[string]int{}, Retried: d.Retried.Load()}
	for _, err := range tr.Errs() {
		rep.problem("flow did not start or end: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, o.Wait)
	defer cancel()
	flows := tr.Flows()
	rep.Flows = len(flows)
	final := map[string]Object{}
	for _, f := range flows {
		got, err := d.WaitFinal(wctx, f.Path, Pending...)
		if err != nil {
			rep.problem("%s %s never ended: %v", f.Kind, f.ID, err)
			continue
		}
		final[f.ID] = got
		rep.ByKind[f.Kind]++
		rep.ByStatus[f.Kind+"."+got.Status]++
		if got.Status != f.Want || got.FailureCode != f.WantCode {
			rep.problem("%s %s ended %s %q, its token says %s %q", f.Kind, f.ID, got.Status, got.FailureCode, f.Want, f.WantCode)
		}
	}
	say("every flow ended; asking the bank how often it executed each reference")

	journals, err := o.Books.JournalsByFlowID(ctx)
	if err != nil {
		rep.problem("%v", err)
	}
	ours := map[string]bool{}
	wallets := map[string]int64{}
	for _, w := range tr.Wallets() {
		wallets[w] = 0
	}
	var settlement int64
	for _, f := range flows {
		ours[f.ID] = true
		got, ok := final[f.ID]
		if !ok {
			continue
		}
		n, err := d.Executions(ctx, f.BankRef)
		if err != nil {
			rep.problem("%v", err)
			continue
		}
		succeeded := got.Status == "succeeded" || got.Status == "partially_refunded" || got.Status == "refunded"
		if n > 1 {
			rep.ExecutedTwice++
			rep.problem("the bank executed %s %s %d times", f.Kind, f.BankRef, n)
		}
		if got.Status == "canceled" && n != 0 {
			rep.problem("%s %s was canceled but the bank executed it %d times", f.Kind, f.BankRef, n)
		}
		if succeeded && n != 1 {
			rep.problem("%s %s succeeded but the bank executed it %d times", f.Kind, f.BankRef, n)
		}
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
		if !succeeded {
			continue
		}
		switch f.Kind {
		case "payment":
			settlement += got.Amount
		case "refund":
			settlement -= got.Amount
		case "topup":
			wallets[f.Account] += got.Amount
		case "withdrawal":
			wallets[f.Account] -= got.Amount
		}
	}
	for id, n := range journals {
		if !ours[id] {
			rep.problem("%d ledger journals of %q, which no flow of the run is", n, id)
		}
	}

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
	} else if rep.Settlement != settlement {
		rep.problem("settlement balance %d; the payments and refunds reported %d", rep.Settlement, settlement)
	}

	if o.Receiver != nil {
		say("checking that every flow's webhook arrived signed")
		verifyWebhooks(wctx, &rep, flows, final, o.Receiver)
	}
	// Temporal agrees: none of the merchant's flows (webhook deliveries included) is
	// still open (its visibility lags the flows by a moment).
	for {
		open, err := d.OpenFlows(wctx, o.MerchantID)
		if err == nil && len(open) == 0 {
			break
		}
		if wctx.Err() != nil {
			rep.problem("flows still open in Temporal: %v %v", open, err)
			break
		}
		time.Sleep(time.Second)
	}
	return rep
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
