package chaos

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/payflow/payflow/banksim"
)

// Forger sends false bank callbacks to the API throughout a run, each of a kind
// (ForgedKinds) whose answer the API's callback routes fix: a banksim-signed callback
// claiming a wrong status for one of the run's banksim transfers (delivered, 200: a
// hint that only wakes the flow, which asks its bank), the same bytes sent again (an
// event id delivered once: 200, not signalled again), a Stripe-signed event naming a
// banksim transfer (404: the reference is on another channel), a banksim-signed
// callback on the Stripe route (401), a banksim-signed callback naming a stripe
// transfer (404), and a Stripe-signed event claiming a stripe payment failed (200).
// An answer other than the kind's is a problem; none of them may decide a flow or move
// money, which the run's proofs catch (every flow ends as its token says, the bank's
// statements equal the ledger).
type Forger struct {
	// APIURL is the API's base URL.
	APIURL string
	// BanksimSecret signs banksim callbacks (PAYFLOW_BANKSIM_CALLBACK_SECRET);
	// StripeSecret Stripe events (PAYFLOW_STRIPE_WEBHOOK_SECRET; "" when the run
	// mounts no Stripe route, whose kinds are then skipped).
	BanksimSecret, StripeSecret string
	// Every is the pause between two false callbacks.
	Every time.Duration
	// Waiting, when set, lists the objects whose flows wait at their bank now (the
	// ops API's stage waiting_bank): the lies name those first, since a flow only
	// acts on a callback while it waits (read about once a second).
	Waiting func(ctx context.Context) ([]string, error)
	// HTTP sends them (a client with a timeout when nil).
	HTTP *http.Client

	mu         sync.Mutex
	n          int
	sent       map[string]int
	unanswered int
	// waiting are the objects last listed waiting at the bank; atWaiting counts the
	// lies about one of them.
	waiting   map[string]bool
	atWaiting int
	problems  []string
	last      *forged
}

// Kinds of false callback, with the answer each must get.
const (
	ForgedLie           = "banksim lie"
	ForgedReplay        = "replay"
	ForgedStripeBanksim = "stripe-signed about banksim"
	ForgedBanksimRoute  = "banksim-signed on the stripe route"
	ForgedBanksimStripe = "banksim-signed about stripe"
	ForgedStripeLie     = "stripe lie"
)

// ForgedKinds are the kinds in the order the forger cycles through them.
var ForgedKinds = []string{ForgedLie, ForgedReplay, ForgedStripeBanksim, ForgedBanksimRoute, ForgedBanksimStripe, ForgedStripeLie}

type forged struct {
	kind, route, header, sigHeader string
	body                           []byte
	want                           int
	about                          string
}

// Run sends false callbacks about tr's flows every f.Every until ctx ends.
func (f *Forger) Run(ctx context.Context, tr *Tracker) {
	if f.HTTP == nil {
		f.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	every := f.Every
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	var listed time.Time
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		if f.Waiting != nil && time.Since(listed) > time.Second {
			listed = time.Now()
			if ids, err := f.Waiting(ctx); err == nil {
				w := make(map[string]bool, len(ids))
				for _, id := range ids {
					w[id] = true
				}
				f.mu.Lock()
				f.waiting = w
				f.mu.Unlock()
			}
		}
		if c := f.next(tr.Flows(), ForgedKinds[i%len(ForgedKinds)]); c != nil {
			f.send(ctx, c)
		}
	}
}

// recent picks one of the last flows that match keep (those most likely in flight).
func recent(flows []Flow, keep func(Flow) bool) (Flow, bool) {
	var pick []Flow
	for i := len(flows) - 1; i >= 0 && len(pick) < 40; i-- {
		if keep(flows[i]) {
			pick = append(pick, flows[i])
		}
	}
	if len(pick) == 0 {
		return Flow{}, false
	}
	return pick[rand.IntN(len(pick))], true
}

func atBanksim(f Flow) bool { return f.Channel == "" || f.Channel == BankChannel }
func atStripe(f Flow) bool  { return f.Channel == "stripe" }

// kindOf is the bank's kind of a flow's transfer.
func kindOf(f Flow) string {
	switch f.Kind {
	case "withdrawal":
		return "payout"
	case "refund":
		return "refund"
	}
	return "charge"
}

// next builds one false callback of kind about one of the flows (nil when none fits).
func (f *Forger) next(flows []Flow, kind string) *forged {
	f.mu.Lock()
	f.n++
	n := f.n
	last := f.last
	waiting := f.waiting
	f.mu.Unlock()
	stripeRoute := f.StripeSecret != ""
	switch kind {
	case ForgedLie:
		fl, ok := recent(flows, func(f Flow) bool { return atBanksim(f) && waiting[f.ID] })
		if ok {
			f.mu.Lock()
			f.atWaiting++
			f.mu.Unlock()
		} else if fl, ok = recent(flows, atBanksim); !ok {
			return nil
		}
		return f.banksim(kind, "/v1/callbacks/banksim", fl, lie(fl, n), n, http.StatusOK)
	case ForgedReplay:
		if last == nil {
			return nil
		}
		c := *last
		c.kind = kind
		return &c
	case ForgedStripeBanksim:
		fl, ok := recent(flows, atBanksim)
		if !ok || !stripeRoute {
			return nil
		}
		return f.stripe(kind, fl, "succeeded", n, http.StatusNotFound)
	case ForgedBanksimRoute:
		fl, ok := recent(flows, atBanksim)
		if !ok {
			return nil
		}
		want := http.StatusUnauthorized
		if !stripeRoute {
			want = http.StatusNotFound
		}
		return f.banksim(kind, "/v1/callbacks/stripe", fl, "succeeded", n, want)
	case ForgedBanksimStripe:
		fl, ok := recent(flows, atStripe)
		if !ok {
			return nil
		}
		return f.banksim(kind, "/v1/callbacks/banksim", fl, "failed", n, http.StatusNotFound)
	case ForgedStripeLie:
		fl, ok := recent(flows, atStripe)
		if !ok || !stripeRoute {
			return nil
		}
		return f.stripe(kind, fl, "failed", n, http.StatusOK)
	}
	return nil
}

// lie is a status the bank's own record of the flow's transfer does not have yet:
// a charge claimed succeeded or canceled, a payout or refund failed or canceled.
func lie(f Flow, n int) string {
	if n%3 == 0 {
		return "canceled"
	}
	if kindOf(f) == "charge" {
		return "succeeded"
	}
	return "failed"
}

func (f *Forger) banksim(kind, route string, fl Flow, status string, n, want int) *forged {
	code := ""
	if status == "failed" {
		code = "account_closed"
	}
	body, _ := json.Marshal(map[string]any{
		"reference": fl.BankRef, "kind": kindOf(fl), "amount": fl.Amount, "currency": "CNY",
		"status": status, "failure_code": code, "bank_id": fmt.Sprintf("sim_forged_%d", n),
		"created_at": time.Now().UTC(), "event_id": fmt.Sprintf("evt_forged_%d", n),
	})
	return &forged{
		kind: kind, route: route, body: body, want: want, about: fl.BankRef,
		sigHeader: banksim.SignatureHeader, header: banksim.SignCallback(f.BanksimSecret, time.Now().Unix(), body),
	}
}

func (f *Forger) stripe(kind string, fl Flow, status string, n, want int) *forged {
	object := map[string]string{"charge": "charge", "payout": "payout", "refund": "refund"}[kindOf(fl)]
	body, _ := json.Marshal(map[string]any{
		"id": fmt.Sprintf("evt_forged_stripe_%d", n), "object": "event", "type": object + "." + status,
		"created": time.Now().Unix(), "livemode": false, "pending_webhooks": 1, "api_version": "2025-01-27.acacia",
		"data": map[string]any{"object": map[string]any{
			"id": fmt.Sprintf("%s_forged_%d", object[:2], n), "object": object, "status": status,
			"amount": fl.Amount, "currency": "cny", "metadata": map[string]string{"reference": fl.BankRef},
		}},
	})
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: f.StripeSecret})
	return &forged{kind: kind, route: "/v1/callbacks/stripe", body: body, want: want, about: fl.BankRef,
		sigHeader: "Stripe-Signature", header: signed.Header}
}

func (f *Forger) send(ctx context.Context, c *forged) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.APIURL+c.route, bytes.NewReader(c.body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(c.sigHeader, c.header)
	resp, err := f.HTTP.Do(req)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sent == nil {
		f.sent = map[string]int{}
	}
	if err != nil || resp.StatusCode == http.StatusServiceUnavailable {
		// The API is down or restarting, or could not signal the flow: nothing
		// was decided either way.
		if err == nil {
			resp.Body.Close()
		}
		if ctx.Err() == nil {
			f.unanswered++
		}
		return
	}
	resp.Body.Close()
	f.sent[c.kind]++
	if resp.StatusCode != c.want {
		f.problems = append(f.problems, fmt.Sprintf("false callback (%s) about %s on %s answered HTTP %d, want %d", c.kind, c.about, c.route, resp.StatusCode, c.want))
	}
	if c.kind == ForgedLie {
		f.last = c
	}
}

// Problems are the false callbacks that got another answer than their kind's.
func (f *Forger) Problems() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.problems...)
}

// Summary is one line: how many false callbacks of each kind were answered.
func (f *Forger) Summary() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	total := 0
	var parts []string
	for _, k := range ForgedKinds {
		total += f.sent[k]
		parts = append(parts, fmt.Sprintf("%d %s", f.sent[k], k))
	}
	return fmt.Sprintf("false callbacks: %d answered (%s; %d lies about flows listed waiting at the bank), %d with another answer than their kind's; %d unanswered (API down or restarting)",
		total, strings.Join(parts, ", "), f.atWaiting, len(f.problems), f.unanswered)
}
