package chaos

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
)

// Outcome is a final status and its failure code ("" for none).
type Outcome struct{ Status, Code string }

func (o Outcome) String() string {
	if o.Code == "" {
		return o.Status
	}
	return o.Status + " " + o.Code
}

// Flow is one money flow a run started, and what it must end as.
type Flow struct {
	// Kind is payment, refund, topup or withdrawal.
	Kind string
	ID   string
	// Path is where the object is read (/v1/payments/pay_...).
	Path string
	// Want is the final status (and WantCode the failure code) the flow must end
	// with, from its test token.
	Want, WantCode string
	// Also are the other outcomes the flow may legitimately end with, when the
	// outcome depends on a race the run does not control (an operator's cancel
	// against the bank's completion): the bank's own record then tells which
	// happened, and Verify checks that it agrees (see Verify).
	Also   []Outcome
	Amount int64
	// Account is the wallet a top-up or withdrawal moves money in or out of.
	Account string
	// Replica is the API replica that answered its creation.
	Replica int
	// BankRef is the reference the bank knows it by: the object's id.
	BankRef string
	// Merchant is the merchant whose flow it is: "" for the run's own merchant,
	// else another one (Driver.Merchant; VerifyOptions.Others).
	Merchant string
	// Channel is the channel the flow asked for: "" (the default, banksim),
	// stripe or auto.
	Channel string
	// Attention: the flow must have been seen in stage needs_attention through
	// the ops API, with its hold kept, before it ended (Tracker.SawAttention).
	Attention bool
}

// Accepts reports whether the flow may end as o.
func (f Flow) Accepts(o Outcome) bool {
	if o == (Outcome{f.Want, f.WantCode}) {
		return true
	}
	for _, a := range f.Also {
		if a == o {
			return true
		}
	}
	return false
}

// Legitimate lists the outcomes the flow may end with, for messages.
func (f Flow) Legitimate() string {
	parts := []string{Outcome{f.Want, f.WantCode}.String()}
	for _, a := range f.Also {
		parts = append(parts, a.String())
	}
	return strings.Join(parts, " or ")
}

// Attention is what the run saw of a flow in stage needs_attention.
type Attention struct {
	// Seen: the ops API listed the flow in stage needs_attention.
	Seen bool
	// Checks count the times its wallet was read while the flow was there and
	// still open; HoldLost those when the wallet did not hold the withdrawal's
	// amount.
	Checks, HoldLost int
}

// paths are where each kind of object is read.
var paths = map[string]string{
	"payment": "/v1/payments/", "topup": "/v1/topups/", "withdrawal": "/v1/withdrawals/", "refund": "/v1/refunds/",
}

// Tracker collects the flows of a run, safely from many goroutines.
type Tracker struct {
	mu        sync.Mutex
	flows     []Flow
	wallets   []string
	errs      []error
	attention map[string]*Attention
	// verifications and bindings are the identity services' requests (identity.go).
	verifications []Verification
	bindings      []Binding

	// Created and Finished count the flows created and seen ended so far.
	Created, Finished atomic.Int32
	// Paid is the amount of the payments seen succeeded so far: what the merchant's
	// settlement account has at least received, less the refunds (at most 30 % of
	// it), before the identity services' fees are taken from it.
	Paid atomic.Int64
}

// Add records a started flow.
func (tr *Tracker) Add(f Flow) {
	tr.mu.Lock()
	tr.flows = append(tr.flows, f)
	tr.mu.Unlock()
	tr.Created.Add(1)
}

// Expect changes what a flow's object must end as (a payment with a refund ends
// partially_refunded).
func (tr *Tracker) Expect(id, want string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i := range tr.flows {
		if tr.flows[i].ID == id {
			tr.flows[i].Want = want
		}
	}
}

// Update changes a recorded flow (what it may end as, once the run learned more).
func (tr *Tracker) Update(id string, change func(f *Flow)) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i := range tr.flows {
		if tr.flows[i].ID == id {
			change(&tr.flows[i])
		}
	}
}

// SawAttention records that the ops API listed flow id in stage needs_attention;
// checked says that its wallet was read while the flow was still open, and holdKept
// whether the wallet then held the flow's amount.
func (tr *Tracker) SawAttention(id string, checked, holdKept bool) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.attention == nil {
		tr.attention = map[string]*Attention{}
	}
	a := tr.attention[id]
	if a == nil {
		a = &Attention{}
		tr.attention[id] = a
	}
	a.Seen = true
	if checked {
		a.Checks++
		if !holdKept {
			a.HoldLost++
		}
	}
}

// AttentionOf is what the run saw of flow id in stage needs_attention.
func (tr *Tracker) AttentionOf(id string) Attention {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if a := tr.attention[id]; a != nil {
		return *a
	}
	return Attention{}
}

// AddWallet records a wallet the run created.
func (tr *Tracker) AddWallet(id string) {
	tr.mu.Lock()
	tr.wallets = append(tr.wallets, id)
	tr.mu.Unlock()
}

// Fail records a flow that could not be started or did not end.
func (tr *Tracker) Fail(err error) {
	tr.mu.Lock()
	tr.errs = append(tr.errs, err)
	tr.mu.Unlock()
}

// Flows are the flows started so far.
func (tr *Tracker) Flows() []Flow {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]Flow(nil), tr.flows...)
}

// Wallets are the wallets created so far.
func (tr *Tracker) Wallets() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.wallets...)
}

// Errs are the failures recorded so far.
func (tr *Tracker) Errs() []error {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]error(nil), tr.errs...)
}

// Start creates one flow of kind through d (retrying through crashes), records it
// with what it must end as, and returns its object.
func (tr *Tracker) Start(ctx context.Context, d *Driver, kind, target string, body map[string]any, want, wantCode string) (Object, error) {
	return tr.StartOn(ctx, d, kind, target, body, want, wantCode, "")
}

// StartOn is Start for a flow whose channel the request does not name (an in-store
// payment's wallet provider, named by its code or by the app that will open it): it
// is recorded with channel from the start, so that nothing takes it for banksim's.
func (tr *Tracker) StartOn(ctx context.Context, d *Driver, kind, target string, body map[string]any, want, wantCode, channel string) (Object, error) {
	r, replica, err := d.Create(ctx, target, body, 202)
	if err != nil {
		return Object{}, err
	}
	var o Object
	if err := r.JSON(&o); err != nil {
		return o, err
	}
	f := Flow{Kind: kind, ID: o.ID, Path: paths[kind] + o.ID, Want: want, WantCode: wantCode, Amount: o.Amount, Replica: replica, BankRef: o.ID, Merchant: d.Merchant}
	if acct, ok := body["account_id"].(string); ok {
		f.Account = acct
	}
	if ch, ok := body["channel"].(string); ok {
		f.Channel = ch
	}
	if channel != "" {
		f.Channel = channel
	}
	tr.Add(f)
	return o, nil
}

// Has reports whether a flow with id was recorded.
func (tr *Tracker) Has(id string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for _, f := range tr.flows {
		if f.ID == id {
			return true
		}
	}
	return false
}

// Wait waits for a flow's object to leave the pending statuses.
func (tr *Tracker) Wait(ctx context.Context, d *Driver, o Object, kind string) (Object, error) {
	got, err := d.WaitFinal(ctx, paths[kind]+o.ID, Pending...)
	if err == nil {
		tr.Finished.Add(1)
		if kind == "payment" && got.Status == "succeeded" {
			tr.Paid.Add(got.Amount)
		}
	}
	return got, err
}

// Chains runs chains of requests (a payment then its refund, a wallet's top-ups then
// its withdrawals) concurrently, at most n at a time, recording each chain's error in
// the tracker.
type Chains struct {
	tr  *Tracker
	sem chan struct{}
	wg  sync.WaitGroup
}

// NewChains returns Chains of at most n at a time.
func NewChains(tr *Tracker, n int) *Chains {
	return &Chains{tr: tr, sem: make(chan struct{}, n)}
}

// Go runs fn once a slot is free.
func (c *Chains) Go(fn func() error) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.sem <- struct{}{}
		defer func() { <-c.sem }()
		if err := fn(); err != nil {
			c.tr.Fail(err)
		}
	}()
}

// Wait waits for every chain started.
func (c *Chains) Wait() { c.wg.Wait() }
