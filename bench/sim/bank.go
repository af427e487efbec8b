package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/bank/stripe"
	"github.com/payflow/payflow/models"
)

// Step is what a model bank does with one request for a reference, in order of the
// requests: the n-th request of a reference at a channel takes its script's n-th
// step (and "ok" after the script).
type Step struct {
	// Do is ok (executes, answers), decline (refused as a business failure),
	// refuse (refused before acting: nothing executed), timeout (executes, the
	// answer is lost), inflight (the request is lost on its way and arrives After
	// later, or never when After is 0: the bank has not seen it meanwhile),
	// processing (accepted; decided After later as Final).
	Do    string `json:"do"`
	After Dur    `json:"after,omitempty"`
	// Final is how a processing transfer ends: succeeded or failed.
	Final string `json:"final,omitempty"`
}

// transfer is the model bank's state of one reference.
type transfer struct {
	kind     bank.Kind
	amount   int64
	currency models.Currency
	status   models.BankStatus
	// decideAt and final: a processing transfer becomes final at decideAt.
	decideAt time.Time
	final    models.BankStatus
	// executedAt is when money moved (a succeeded transfer).
	executedAt time.Time
}

// pending is a request on its way: it arrives (and executes) at arrive.
type pending struct {
	arrive time.Time
	req    bank.Transfer
}

// Execution is one reference executed by a bank (money moved or refused for good).
type Execution struct {
	Channel   string
	Reference string
	Kind      bank.Kind
	Amount    int64
	Currency  models.Currency
	Status    models.BankStatus
}

// modelBank is a bank channel in every state a real one can be in: a reference never
// seen, on its way (sent, not yet arrived), processing, executed, executed late after
// a timeout, refused, canceled (a tombstone: never executes afterwards), cancelable or
// not. It follows the channel contract of package bank, and its clock is the
// simulation's.
type modelBank struct {
	name string
	now  func() time.Time
	// script is the steps of each reference's requests.
	script func(reference string) []Step
	// cancelable says whether a transfer of a kind in a state can be canceled.
	cancelable func(reference string, kind bank.Kind, processing bool) bool
	// queryFails makes the n-th query of a reference fail (no answer).
	queryFails func(reference string, n int) bool
	// outage is the channel's outage at a time ("" for none) and when it ends;
	// lost says whether a request sent in a dark outage never arrives.
	outage func(now time.Time) (mode string, until time.Time)
	lost   func(reference string, n int) bool

	mu        sync.Mutex
	transfers map[string]*transfer
	inflight  map[string][]pending
	requests  map[string]int
	queries   map[string]int
	// executions counts how often each reference executed here.
	executions map[string]int
}

func newModelBank(name string, now func() time.Time) *modelBank {
	return &modelBank{
		name: name, now: now,
		script:     func(string) []Step { return nil },
		cancelable: func(string, bank.Kind, bool) bool { return true },
		queryFails: func(string, int) bool { return false },
		outage:     func(time.Time) (string, time.Time) { return "", time.Time{} },
		lost:       func(string, int) bool { return false },
		transfers:  map[string]*transfer{}, inflight: map[string][]pending{},
		requests: map[string]int{}, queries: map[string]int{}, executions: map[string]int{},
	}
}

func (b *modelBank) Name() string { return b.name }

// settle applies what time has done to a reference: requests that arrived execute,
// and a processing transfer whose time came is decided.
func (b *modelBank) settle(ref string) {
	now := b.now()
	var left []pending
	for _, p := range b.inflight[ref] {
		if p.arrive.IsZero() || p.arrive.After(now) {
			left = append(left, p)
			continue
		}
		if _, seen := b.transfers[ref]; !seen {
			b.execute(ref, p.req, models.BankSucceeded, p.arrive)
		}
	}
	b.inflight[ref] = left
	if t := b.transfers[ref]; t != nil && t.status == models.BankProcessing && !t.decideAt.After(now) {
		t.status = t.final
		if t.status == models.BankSucceeded {
			t.executedAt = t.decideAt
		}
	}
}

func (b *modelBank) execute(ref string, r bank.Transfer, status models.BankStatus, at time.Time) *transfer {
	t := &transfer{kind: r.Kind, amount: r.Amount, currency: r.Currency, status: status}
	if status == models.BankSucceeded {
		t.executedAt = at
	}
	b.transfers[ref] = t
	b.executions[ref]++
	return t
}

func (b *modelBank) answer(ref string, t *transfer) bank.Transfer {
	out := bank.Transfer{Reference: ref, Channel: b.name, Kind: t.kind, Amount: t.amount, Currency: t.currency, Status: t.status}
	if t.status == models.BankFailed {
		out.FailureCode = models.FailureCardDeclined
		if t.kind != bank.KindCharge {
			out.FailureCode = models.FailureAccountClosed
		}
	}
	return out
}

// request is a charge, refund or payout of reference.
func (b *modelBank) request(r bank.Transfer) (bank.Transfer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ref := r.Reference
	b.settle(ref)
	if t := b.transfers[ref]; t != nil {
		// The reference is the bank's idempotency key: the first answer stands.
		return b.answer(ref, t), nil
	}
	now := b.now()
	switch mode, until := b.outage(now); mode {
	case "refuse":
		return bank.Transfer{}, fmt.Errorf("%s: down, refused before processing: %w", b.name, bank.ErrUnavailable)
	case "slow", "dark":
		p := pending{req: r, arrive: until}
		if mode == "dark" && b.lost(ref, len(b.inflight[ref])) {
			p.arrive = time.Time{}
		}
		b.inflight[ref] = append(b.inflight[ref], p)
		return bank.Transfer{}, fmt.Errorf("%s: no answer, the request is on its way: %w", b.name, bank.ErrUnknownOutcome)
	}
	n := b.requests[ref]
	b.requests[ref]++
	step := Step{Do: "ok"}
	if s := b.script(ref); n < len(s) {
		step = s[n]
	}
	switch step.Do {
	case "refuse":
		return bank.Transfer{}, fmt.Errorf("%s: refused before processing: %w", b.name, bank.ErrUnavailable)
	case "decline":
		return b.answer(ref, b.execute(ref, r, models.BankFailed, now)), nil
	case "timeout":
		b.execute(ref, r, models.BankSucceeded, now)
		return bank.Transfer{}, fmt.Errorf("%s: timeout after acting: %w", b.name, bank.ErrUnknownOutcome)
	case "inflight":
		p := pending{req: r}
		if step.After > 0 {
			p.arrive = now.Add(step.After.D())
		}
		b.inflight[ref] = append(b.inflight[ref], p)
		return bank.Transfer{}, fmt.Errorf("%s: timeout, request on its way: %w", b.name, bank.ErrUnknownOutcome)
	case "processing":
		t := b.execute(ref, r, models.BankProcessing, now)
		t.decideAt = now.Add(step.After.D())
		t.final = models.BankStatus(step.Final)
		b.settle(ref)
		return b.answer(ref, t), nil
	default:
		return b.answer(ref, b.execute(ref, r, models.BankSucceeded, now)), nil
	}
}

func (b *modelBank) Charge(_ context.Context, r bank.ChargeRequest) (bank.Transfer, error) {
	return b.request(bank.Transfer{Reference: r.Reference, Kind: bank.KindCharge, Amount: r.Amount, Currency: r.Currency})
}

func (b *modelBank) Payout(_ context.Context, r bank.PayoutRequest) (bank.Transfer, error) {
	return b.request(bank.Transfer{Reference: r.Reference, Kind: bank.KindPayout, Amount: r.Amount, Currency: r.Currency})
}

func (b *modelBank) Refund(_ context.Context, r bank.RefundRequest) (bank.Transfer, error) {
	b.mu.Lock()
	b.settle(r.ChargeReference)
	c := b.transfers[r.ChargeReference]
	b.mu.Unlock()
	if c == nil || c.status != models.BankSucceeded || c.kind != bank.KindCharge {
		// A refund of a charge this bank does not hold: refused as invalid, before
		// anything moves.
		return bank.Transfer{}, fmt.Errorf("%s: no charge %s to refund: %w", b.name, r.ChargeReference, bank.ErrInvalid)
	}
	return b.request(bank.Transfer{Reference: r.Reference, Kind: bank.KindRefund, Amount: r.Amount, Currency: r.Currency})
}

func (b *modelBank) Query(_ context.Context, ref string) (bank.Transfer, error) {
	if b.name == stripeName {
		// The Stripe adapter finds a reference only when it can tell its kind and
		// time: ask it as the adapter would.
		if err := stripe.Resolvable(ref); err != nil {
			return bank.Transfer{}, err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queries[ref]++
	if mode, _ := b.outage(b.now()); mode == "refuse" || mode == "dark" || b.queryFails(ref, b.queries[ref]) {
		return bank.Transfer{}, fmt.Errorf("%s: query timed out: %w", b.name, bank.ErrUnknownOutcome)
	}
	b.settle(ref)
	t := b.transfers[ref]
	if t == nil {
		// Not found, though a request may be on its way.
		return bank.Transfer{}, fmt.Errorf("%s: %w", b.name, bank.ErrNotFound)
	}
	return b.answer(ref, t), nil
}

func (b *modelBank) Cancel(_ context.Context, ref string) (bank.Transfer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch mode, _ := b.outage(b.now()); mode {
	case "refuse":
		return bank.Transfer{}, fmt.Errorf("%s: down: %w", b.name, bank.ErrUnavailable)
	case "slow", "dark":
		return bank.Transfer{}, fmt.Errorf("%s: no answer to the cancel: %w", b.name, bank.ErrUnknownOutcome)
	}
	b.settle(ref)
	t := b.transfers[ref]
	switch {
	case t == nil:
		if !b.cancelable(ref, "", false) {
			return bank.Transfer{}, fmt.Errorf("%s: %w", b.name, bank.ErrNotCancelable)
		}
		// A tombstone: the reference never executes here, even if it arrives.
		b.transfers[ref] = &transfer{status: models.BankCanceled}
		return bank.Transfer{Reference: ref, Channel: b.name, Status: models.BankCanceled}, nil
	case t.status == models.BankProcessing:
		if !b.cancelable(ref, t.kind, true) {
			return bank.Transfer{}, fmt.Errorf("%s: %w", b.name, bank.ErrNotCancelable)
		}
		t.status = models.BankCanceled
		return b.answer(ref, t), nil
	default:
		return b.answer(ref, t), nil
	}
}

func (b *modelBank) Statement(context.Context, time.Time) (io.ReadCloser, error) {
	return nil, errors.New("the model bank has no statement")
}

// mayStillMove reports whether the bank may still move money for ref: a request of
// it is on its way, or it is processing.
func (b *modelBank) mayStillMove(ref string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.settle(ref)
	t := b.transfers[ref]
	if t != nil {
		return t.status == models.BankProcessing
	}
	return len(b.inflight[ref]) > 0
}

// executed lists the references this bank executed (succeeded or failed), sorted.
func (b *modelBank) executed() []Execution {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Execution
	for ref, t := range b.transfers {
		b.settle(ref)
		if t.status == models.BankSucceeded || t.status == models.BankFailed {
			out = append(out, Execution{Channel: b.name, Reference: ref, Kind: t.kind, Amount: t.amount, Currency: t.currency, Status: t.status})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Reference < out[j].Reference })
	return out
}

// state is the bank's view of ref, for genuine callbacks.
func (b *modelBank) state(ref string) (models.BankStatus, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.settle(ref)
	if t := b.transfers[ref]; t != nil {
		return t.status, true
	}
	return "", false
}

// seed records a transfer that executed before the simulation (the charge of a
// payment a refund gives back).
func (b *modelBank) seed(ref string, kind bank.Kind, amount int64, currency models.Currency) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.execute(ref, bank.Transfer{Kind: kind, Amount: amount, Currency: currency}, models.BankSucceeded, b.now())
}
