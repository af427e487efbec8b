package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/payflow/payflow/models"
)

// FeeJournal is one ledger journal of an identity flow: its posting key and what it
// took from the merchant's settlement account.
type FeeJournal struct {
	Key    string
	Amount int64
}

// FeeJournals lists the ledger's journals of flow (verification, credit_report) by
// the object that posted them, each with what it took from a merchant settlement
// account: every journal, whatever its key, so that a second bill under another key
// shows.
func (b Books) FeeJournals(ctx context.Context, flow string) (map[string][]FeeJournal, error) {
	rows, err := b.DB.QueryContext(ctx, `SELECT j.flow_id, j.idempotency_key,
		COALESCE(SUM(CASE WHEN a.kind = 'merchant_settlement' THEN e.amount ELSE 0 END), 0)
		FROM journals j LEFT JOIN entries e ON e.journal_id = j.id LEFT JOIN accounts a ON a.id = e.account_id
		WHERE j.flow = ? GROUP BY j.id, j.flow_id, j.idempotency_key`, flow)
	if err != nil {
		return nil, fmt.Errorf("fee journals of %s: %w", flow, err)
	}
	defer rows.Close()
	out := map[string][]FeeJournal{}
	for rows.Next() {
		var id string
		var j FeeJournal
		var settlement int64
		if err := rows.Scan(&id, &j.Key, &settlement); err != nil {
			return nil, err
		}
		j.Amount = -settlement
		out[id] = append(out[id], j)
	}
	return out, rows.Err()
}

// Outage is a time the cache was down: a verification asked and ended inside it was
// answered by the bank.
type Outage struct{ From, To time.Time }

// verificationObject is a verification as the merchant API answers it.
type verificationObject struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	Result      string `json:"result"`
	FailureCode string `json:"failure_code"`
	Cached      bool   `json:"cached"`
	Fee         int64  `json:"fee"`
}

// IdentityReport counts what the run's identity requests came to.
type IdentityReport struct {
	// Verifications counts them by result and origin (match/bank, mismatch/cache)
	// or failed/<code>; Repeats those that repeated earlier elements, RepeatsCached
	// those of them answered from the cache.
	Verifications          map[string]int
	Repeats, RepeatsCached int
	// InOutage are the verifications asked and ended while the cache was down.
	InOutage int
	// Executed are the verifications the bank executed; FeeJournals the journals of
	// their fees; Billed what they took from the settlement account; BilledWrong
	// the verifications not billed exactly once with their fee.
	Executed, FeeJournals int
	Billed                int64
	BilledWrong           int
	// Bindings counts the confirmed cards by status; Topups the top-ups from them.
	Bindings map[string]int
	Topups   int
}

// Line prints the counts ("" when the run asked for none).
func (r IdentityReport) Line() string {
	if len(r.Verifications) == 0 && len(r.Bindings) == 0 {
		return ""
	}
	return fmt.Sprintf("identity: verifications %s, %d repeats of which %d answered from the cache, %d asked and ended while the cache was down; "+
		"the bank executed %d; %d fee journals billing %d, %d verifications not billed exactly once; cards bound %s, %d topped up from",
		counts(r.Verifications), r.Repeats, r.RepeatsCached, r.InOutage, r.Executed, r.FeeJournals, r.Billed, r.BilledWrong, counts(r.Bindings), r.Topups)
}

// verifyIdentity proves the run's verifications and bindings and returns the fees the
// verifications billed (which came out of the settlement account) and their ids:
//   - every verification ended: succeeded with the result its elements must get,
//     or failed with a failure code;
//   - each was billed exactly once: one journal, under verification/<id>/fee,
//     taking its fee from the settlement account (the price of the bank's answer,
//     or of the cache's, 0 and no journal when it failed), and its fee is the one
//     its origin costs;
//   - the bank executed each verification answered from the cache never, each
//     other at most once (exactly once when it succeeded);
//   - none asked and ended while the cache was down came from the cache;
//   - every card the run confirmed is active, and the bank executed its binding
//     once.
func verifyIdentity(ctx, wctx context.Context, rep *Report, d *Driver, tr *Tracker, o VerifyOptions) (fees int64, ids map[string]bool) {
	ir := &rep.Identity
	ir.Verifications, ir.Bindings = map[string]int{}, map[string]int{}
	ids = map[string]bool{}
	vs := tr.Verifications()
	bs := tr.Bindings()
	if len(vs) == 0 && len(bs) == 0 {
		return 0, ids
	}
	fee, cachedFee := o.VerificationFee, o.VerificationCachedFee
	if fee == 0 && cachedFee == 0 {
		fee, cachedFee = models.DefaultVerificationFee, models.DefaultVerificationCachedFee
	}
	journals, err := o.Books.FeeJournals(ctx, string(models.FlowVerification))
	if err != nil {
		rep.problem("%v", err)
	}
	for _, v := range vs {
		ids[v.ID] = true
		var got verificationObject
		_, err := d.WaitFinal(wctx, "/v1/verifications/"+v.ID, "processing")
		if err == nil {
			// WaitFinal read the common fields; the verification's own are read again.
			err = d.readJSON(ctx, "/v1/verifications/"+v.ID, &got)
		}
		if err != nil {
			rep.problem("verification %s (%s) never ended: %v", v.ID, v.Case, err)
			continue
		}
		ir.Verifications[identityCase(got.Status, got.Result, got.FailureCode, got.Cached)]++
		if v.Repeat {
			ir.Repeats++
			if got.Cached {
				ir.RepeatsCached++
			}
		}
		want := int64(0)
		switch {
		case got.Status == "succeeded" && got.Result != v.Want:
			rep.problem("verification %s (%s) answered %s, its elements must get %s", v.ID, v.Case, got.Result, v.Want)
		case got.Status == "failed" && got.FailureCode == "":
			rep.problem("verification %s (%s) failed without a failure code", v.ID, v.Case)
		case got.Status != "succeeded" && got.Status != "failed":
			rep.problem("verification %s (%s) ended %q", v.ID, v.Case, got.Status)
		}
		switch {
		case got.Status == "succeeded" && got.Cached:
			want = cachedFee
		case got.Status == "succeeded":
			want = fee
		}
		if got.Fee != want {
			rep.problem("verification %s (%s) ended %s (cached %v) with fee %d; that costs %d", v.ID, v.Case, got.Status, got.Cached, got.Fee, want)
		}
		verifyBilled(rep, v, journals[v.ID], want)
		fees += got.Fee
		n, err := d.Executions(ctx, v.ID)
		if err != nil {
			rep.problem("%v", err)
		}
		ir.Executed += n
		switch {
		case got.Cached && n != 0:
			rep.problem("verification %s (%s) was answered from the cache but the bank executed it %d times", v.ID, v.Case, n)
		case n > 1:
			rep.problem("the bank executed verification %s (%s) %d times", v.ID, v.Case, n)
		case got.Status == "succeeded" && !got.Cached && n != 1:
			rep.problem("verification %s (%s) was answered by the bank, which executed it %d times", v.ID, v.Case, n)
		}
		for _, out := range o.CacheOutages {
			if !v.Started.Before(out.From) && !v.Ended.IsZero() && !v.Ended.After(out.To) {
				ir.InOutage++
				if got.Cached {
					rep.problem("verification %s (%s) was asked and ended while the cache was down, yet answered from the cache", v.ID, v.Case)
				}
			}
		}
	}
	for _, b := range bs {
		ids[b.CardID] = true
		var c Object
		if err := d.readJSON(ctx, "/v1/accounts/"+b.AccountID+"/cards/"+b.CardID, &c); err != nil {
			rep.problem("card %s: %v", b.CardID, err)
			continue
		}
		ir.Bindings[c.Status]++
		if b.Topup != "" {
			ir.Topups++
		}
		if c.Status != "active" {
			rep.problem("card %s was confirmed but is %s %s", b.CardID, c.Status, c.FailureCode)
		}
		n, err := d.Executions(ctx, b.CardID)
		if err != nil {
			rep.problem("%v", err)
		} else if n != 1 {
			rep.problem("the bank executed the binding of card %s %d times (want 1)", b.CardID, n)
		}
	}
	return fees, ids
}

// verifyBilled checks one verification's fee journals: exactly one, under its
// posting key, of want; none when want is 0.
func verifyBilled(rep *Report, v Verification, js []FeeJournal, want int64) {
	ir := &rep.Identity
	ir.FeeJournals += len(js)
	var billed int64
	for _, j := range js {
		billed += j.Amount
	}
	ir.Billed += billed
	key := string(models.FlowVerification) + "/" + v.ID + "/fee"
	switch {
	case want == 0 && len(js) == 0:
		return
	case want == 0:
		rep.problem("verification %s (%s) costs nothing but was billed %d in %d journals", v.ID, v.Case, billed, len(js))
	case len(js) != 1:
		keys := make([]string, len(js))
		for i, j := range js {
			keys[i] = fmt.Sprintf("%s %d", j.Key, j.Amount)
		}
		sort.Strings(keys)
		rep.problem("verification %s (%s) was billed %d times (want once, %d): %s", v.ID, v.Case, len(js), want, strings.Join(keys, ", "))
	case js[0].Key != key || js[0].Amount != want:
		rep.problem("verification %s (%s) was billed %d under %q; want %d under %q", v.ID, v.Case, js[0].Amount, js[0].Key, want, key)
	default:
		return
	}
	ir.BilledWrong++
}

// readJSON reads one of the merchant's objects, through crashes (a replica
// restarting) and rate limits, until ctx ends.
func (d *Driver) readJSON(ctx context.Context, target string, v any) error {
	var last string
	for {
		r, err := d.Client(d.NextReplica()).Get(ctx, target)
		switch {
		case err != nil:
			last = err.Error()
		case r.Status == http.StatusOK:
			return json.Unmarshal(r.Body, v)
		case r.Status < 500 && r.Status != http.StatusTooManyRequests:
			return fmt.Errorf("GET %s: HTTP %d: %s", target, r.Status, r.Body)
		default:
			last = fmt.Sprintf("HTTP %d: %s", r.Status, r.Body)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("GET %s: %s", target, last)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// activeCardFlows are the open flows of the run's active cards ("card_binding <id>
// active", as OpenFlows lists them): a bound card's flow stays open until the card is
// removed.
func activeCardFlows(bs []Binding) map[string]bool {
	out := map[string]bool{}
	for _, b := range bs {
		out[string(models.FlowCardBinding)+" "+b.CardID+" active"] = true
	}
	return out
}
