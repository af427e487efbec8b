package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// EdgesOptions size the edges workload: what happens at the edges of a flow's talk
// with its bank (an operator's cancel, a deadline, a bank that refuses to cancel or
// crashes, a merchant disabled mid-flight, the stripe channel, auto routing).
type EdgesOptions struct {
	// Batch is the size of each group of slow flows per phase: payments and
	// withdrawals an operator cancels, and payouts left to their deadline.
	Batch int
	// Faults are the bank simulator's faults during the run (a JSON object);
	// each phase adds its own processing_ms and refuse_cancel.
	Faults string
	// Processing is how long the slow transfers take at the bank: longer than
	// Deadline, so that the flows reach it.
	Processing time.Duration
	// Deadline is the stack's deadline of banksim payouts
	// (PAYFLOW_BANK_DEADLINES=banksim.payout=...).
	Deadline time.Duration
	// Other drives a second merchant, disabled mid-run; OtherPayments are its
	// payments before the disable (half of them still waiting at the bank then),
	// OtherRefused those it sends after (each must be refused).
	Other                       *Driver
	OtherPayments, OtherRefused int
	// StripePayments go through the stripe channel (stripe-mock).
	StripePayments int
	// AutoPayments go through auto: AutoPayments/2 while the bank simulator is
	// down, the others while it is up.
	AutoPayments int
	// KillBank kills the bank simulator (SIGKILL); StartBank starts it again on its
	// database file and returns once it answers. Both nil: the bank is not killed.
	KillBank  func() error
	StartBank func(ctx context.Context) error
	// BankDown is how long the bank stays down.
	BankDown time.Duration
	// WalletPrefix names the wallets' references.
	WalletPrefix string
	Say          func(format string, args ...any)
}

// EdgesReport is what the edges workload did.
type EdgesReport struct {
	// Canceled counts the operators' cancels accepted by their flows, per phase
	// (the bank canceling, then refusing); TooLate those that came after the flow
	// had ended.
	Canceled [2]int
	TooLate  int
	// Deadline counts the payouts left to their deadline, per phase.
	Deadline [2]int
	// Disabled is the merchant disabled mid-run; InFlight its payments still
	// waiting at the bank then; Refused its later requests answered 403
	// merchant_disabled.
	Disabled          string
	InFlight, Refused int
	// AutoWhileDown are the auto payments sent while the bank was down.
	AutoWhileDown, Stripe int
	// BankDownFor is how long the bank was down (0: not killed); InFlightAtKill the
	// slow transfers then waiting at it.
	BankDownFor    time.Duration
	InFlightAtKill int
}

// Lines are the report's lines for Report.Extra.
func (e EdgesReport) Lines() []string {
	out := []string{
		fmt.Sprintf("edges: operator cancels accepted %d with the bank canceling, %d with it refusing (%d too late); payouts left to their deadline %d canceling, %d refusing",
			e.Canceled[0], e.Canceled[1], e.TooLate, e.Deadline[0], e.Deadline[1]),
		fmt.Sprintf("edges: merchant %s disabled with %d payments waiting at the bank, %d later requests refused 403 merchant_disabled; %d stripe payments, %d auto payments sent while the bank was down",
			e.Disabled, e.InFlight, e.Refused, e.Stripe, e.AutoWhileDown),
	}
	if e.BankDownFor > 0 {
		out = append(out, fmt.Sprintf("edges: bank simulator killed (SIGKILL) with %d slow transfers waiting at it, restarted on its database file %s later",
			e.InFlightAtKill, e.BankDownFor.Round(100*time.Millisecond)))
	}
	return out
}

// Coverage adds a problem to rep for each edge the run was to exercise and did not:
// a run that never took a path proves nothing about it.
func (e EdgesReport) Coverage(rep *Report) {
	for _, c := range []struct {
		n    int
		what string
	}{
		{rep.ByCode["payment.canceled"], "payment canceled by an operator"},
		{rep.ByCode["withdrawal.canceled"], "withdrawal canceled by an operator"},
		{rep.ByCode["withdrawal.expired"], "payout canceled at its deadline (withdrawal failed expired)"},
		{rep.ByCode["payment.merchant_disabled"], "payment of a disabled merchant given back"},
		{rep.CanceledAtBank, "transfer canceled at the bank"},
		{rep.Reversed, "charge given back after the bank refused a cancel or the merchant was disabled"},
		{rep.Attention, "flow seen needing attention"},
		{rep.Channels["stripe"], "flow through stripe"},
		{e.Refused, "request of a disabled merchant refused"},
	} {
		if c.n == 0 {
			rep.problem("the run exercised no %s", c.what)
		}
	}
}

// Edges runs the edges workload through d (the run's merchant) and o.Other, recording
// every flow in tr with every outcome it may legitimately end with:
//
//   - phase 1, the bank canceling: Batch card payments (tok_processing) and Batch
//     withdrawals (ba_processing) that an operator cancels through the ops API while
//     they wait at the bank (payments end failed canceled, withdrawals canceled; a
//     payout the bank executed first would stand), and Batch payouts left to their
//     deadline (failed expired, the hold released; succeeded if the bank had
//     executed first). The bank simulator is killed while they wait and restarted
//     on its database file; auto payments sent meanwhile fail over to stripe.
//   - phase 2, the bank refusing to cancel (refuse_cancel): the same groups. The
//     payments end failed canceled with their charge given back (rev_...); the
//     withdrawals and the payouts past their deadline move to needs_attention
//     (watched through the ops API, hold kept) and succeed when the bank completes.
//   - throughout: the other merchant pays, is disabled while half its payments
//     wait at the bank (they end failed merchant_disabled, their charge given back)
//     and its later payments are refused; payments through stripe.
func Edges(ctx context.Context, d *Driver, tr *Tracker, o EdgesOptions) (EdgesReport, error) {
	say := o.Say
	if say == nil {
		say = func(string, ...any) {}
	}
	var rep EdgesReport
	slow := o.Processing.Milliseconds()
	phaseFaults := func(refuse bool) string {
		f := map[string]any{}
		if o.Faults != "" {
			if err := json.Unmarshal([]byte(o.Faults), &f); err != nil {
				return o.Faults
			}
		}
		f["processing_ms"], f["refuse_cancel"] = slow, refuse
		b, _ := json.Marshal(f)
		return string(b)
	}
	if err := d.SetBankFaults(ctx, phaseFaults(false)); err != nil {
		return rep, err
	}
	say("phase 1: bank faults %s", phaseFaults(false))

	// One wallet per withdrawal, so that a wallet's held amount is its one
	// withdrawal's.
	wallets, err := fundWallets(ctx, d, tr, o.WalletPrefix, 4*o.Batch)
	if err != nil {
		return rep, err
	}
	say("funded %d wallets", len(wallets))

	side := NewChains(tr, 8)
	// Stripe payments, spread over the run.
	rep.Stripe = o.StripePayments
	side.Go(func() error {
		for i := 0; i < o.StripePayments; i++ {
			p, err := tr.Start(ctx, d, "payment", "/v1/payments", map[string]any{
				"amount": 3000 + i, "currency": "CNY", "channel": "stripe", "source": map[string]any{"type": "card", "token": "tok_visa"},
			}, "succeeded", "")
			if err != nil {
				return err
			}
			if _, err := tr.Wait(ctx, d, p, "payment"); err != nil {
				return err
			}
			if err := sleep(ctx, time.Second); err != nil {
				return err
			}
		}
		return nil
	})
	auto := func(i int) error {
		p, err := tr.Start(ctx, d, "payment", "/v1/payments", map[string]any{
			"amount": 4000 + i, "currency": "CNY", "channel": "auto", "source": map[string]any{"type": "card", "token": "tok_success"},
		}, "succeeded", "")
		if err != nil {
			return err
		}
		_, err = tr.Wait(ctx, d, p, "payment")
		return err
	}
	for i := o.AutoPayments / 2; i < o.AutoPayments; i++ {
		side.Go(func() error { return auto(i) })
	}

	// The other merchant pays; half its payments wait at the bank when it is
	// disabled.
	var otherFlows []Object
	if o.Other != nil {
		rep.Disabled = o.Other.Merchant
		for i := 0; i < o.OtherPayments; i++ {
			tok := "tok_success"
			if i%2 == 1 {
				tok = "tok_processing"
			}
			p, err := tr.Start(ctx, o.Other, "payment", "/v1/payments", map[string]any{
				"amount": 5000 + i, "currency": "CNY", "source": map[string]any{"type": "card", "token": tok},
			}, "succeeded", "")
			if err != nil {
				return rep, err
			}
			otherFlows = append(otherFlows, p)
		}
	}

	g := newGroups(ctx, d, tr, wallets)
	g.start(o.Batch, 0)
	if err := g.err(); err != nil {
		return rep, err
	}
	rep.Canceled[0], rep.Deadline[0] = 0, o.Batch
	cancels := g.cancelAll(ctx, d, tr, 0)

	if o.Other != nil {
		if err := disable(ctx, o, tr, otherFlows, &rep); err != nil {
			return rep, err
		}
		say("merchant %s disabled with %d payments waiting at the bank; %d later payments refused", rep.Disabled, rep.InFlight, rep.Refused)
	}

	if o.KillBank != nil && o.StartBank != nil {
		// Once every slow transfer of the phase is at the bank: they must survive
		// the crash (complete, cancel or answer) from the bank's database file.
		if err := g.waitAtBank(ctx, d); err != nil {
			return rep, err
		}
		rep.InFlightAtKill = len(g.refs)
		if err := o.KillBank(); err != nil {
			return rep, err
		}
		down := time.Now()
		say("killed the bank simulator (SIGKILL) with %d slow transfers waiting at it", rep.InFlightAtKill)
		for i := 0; i < o.AutoPayments/2; i++ {
			rep.AutoWhileDown++
			side.Go(func() error { return auto(i) })
		}
		if err := sleep(ctx, o.BankDown); err != nil {
			return rep, err
		}
		if err := o.StartBank(ctx); err != nil {
			return rep, err
		}
		// Faults live in the simulator's memory: set them again at once.
		if err := d.SetBankFaults(ctx, phaseFaults(false)); err != nil {
			return rep, err
		}
		rep.BankDownFor = time.Since(down)
		say("restarted the bank simulator on its database file after %s; faults set again", rep.BankDownFor.Round(100*time.Millisecond))
	}
	rep.Canceled[0], rep.TooLate = cancels.wait()
	g.wait()
	say("phase 1 ended: %d operator cancels accepted, %d payouts past their deadline", rep.Canceled[0], rep.Deadline[0])

	// Phase 2: the bank refuses every cancel until its slow transfers completed.
	if err := d.SetBankFaults(ctx, phaseFaults(true)); err != nil {
		return rep, err
	}
	say("phase 2: bank faults %s", phaseFaults(true))
	g2 := newGroups(ctx, d, tr, wallets[2*o.Batch:])
	g2.start(o.Batch, 1)
	if err := g2.err(); err != nil {
		return rep, err
	}
	rep.Deadline[1] = o.Batch
	cancels2 := g2.cancelAll(ctx, d, tr, 1)
	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watchAttention(watchCtx, d, tr)
	}()
	var late int
	rep.Canceled[1], late = cancels2.wait()
	rep.TooLate += late
	g2.wait()
	stopWatch()
	<-watched
	if err := d.SetBankFaults(ctx, phaseFaults(false)); err != nil {
		return rep, err
	}
	say("phase 2 ended: %d operator cancels accepted, %d payouts past their deadline", rep.Canceled[1], rep.Deadline[1])

	for _, p := range otherFlows {
		if _, err := tr.Wait(ctx, o.Other, p, "payment"); err != nil {
			tr.Fail(err)
		}
	}
	side.Wait()
	return rep, nil
}

// fundWallets opens n wallets and tops each up with 50000.
func fundWallets(ctx context.Context, d *Driver, tr *Tracker, prefix string, n int) ([]string, error) {
	out := make([]string, n)
	chains := NewChains(tr, 16)
	var failed atomic.Bool
	for i := range out {
		chains.Go(func() error {
			r, _, err := d.Create(ctx, "/v1/accounts", map[string]any{"currency": "CNY", "reference": fmt.Sprintf("%s-%d", prefix, i)}, 201)
			if err != nil {
				failed.Store(true)
				return err
			}
			var acct Object
			if err := r.JSON(&acct); err != nil {
				failed.Store(true)
				return err
			}
			tr.AddWallet(acct.ID)
			top, err := tr.Start(ctx, d, "topup", "/v1/topups", map[string]any{
				"account_id": acct.ID, "amount": 50000, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"},
			}, "succeeded", "")
			if err != nil {
				failed.Store(true)
				return err
			}
			if _, err := tr.Wait(ctx, d, top, "topup"); err != nil {
				failed.Store(true)
				return err
			}
			out[i] = acct.ID
			return nil
		})
	}
	chains.Wait()
	if failed.Load() {
		return nil, fmt.Errorf("funding the wallets failed (see the run's problems)")
	}
	return out, nil
}

// groups are one phase's slow flows: payments and withdrawals an operator cancels,
// and payouts left to their deadline.
type groups struct {
	ctx     context.Context
	d       *Driver
	tr      *Tracker
	wallets []string
	// cancel are the objects an operator cancels; refs every slow reference.
	cancel []Object
	refs   []string
	chains *Chains
	mu     sync.Mutex
	errs   []error
}

func newGroups(ctx context.Context, d *Driver, tr *Tracker, wallets []string) *groups {
	return &groups{ctx: ctx, d: d, tr: tr, wallets: wallets, chains: NewChains(tr, 64)}
}

func (g *groups) fail(err error) {
	g.mu.Lock()
	g.errs = append(g.errs, err)
	g.mu.Unlock()
}

func (g *groups) err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.errs) > 0 {
		return g.errs[0]
	}
	return nil
}

// start creates the phase's flows (phase 0: the bank cancels; 1: it refuses), each
// recorded with the outcomes it may end with, and waits for them in the background.
func (g *groups) start(n, phase int) {
	refusing := phase == 1
	for i := 0; i < n; i++ {
		// An operator's cancel of a card payment: failed canceled whatever the bank
		// did (a charge it executed anyway is given back; Verify reads which).
		p, err := g.tr.Start(g.ctx, g.d, "payment", "/v1/payments", map[string]any{
			"amount": 6000 + 100*phase + i, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_processing"},
		}, "failed", "canceled")
		if err != nil {
			g.fail(err)
			return
		}
		g.add(p, "payment", true)

		// An operator's cancel of a payout: canceled when the bank cancels it; a
		// payout the bank executed first stands. While the bank refuses, the cancel
		// is asked again at the deadline, refused again: the flow needs attention,
		// keeps its hold, and succeeds when the bank completes.
		want, code, also := "canceled", "canceled", []Outcome{{"succeeded", ""}}
		if refusing {
			want, code, also = "succeeded", "", nil
		}
		w, err := g.payout(g.wallets[2*i], want, code, also, refusing)
		if err != nil {
			g.fail(err)
			return
		}
		g.add(w, "withdrawal", true)

		// A payout left to its deadline: failed expired when the bank cancels it
		// (succeeded if it had executed first); while the bank refuses, it needs
		// attention and succeeds when the bank completes.
		want, code, also = "failed", "expired", []Outcome{{"succeeded", ""}}
		if refusing {
			want, code, also = "succeeded", "", nil
		}
		w, err = g.payout(g.wallets[2*i+1], want, code, also, refusing)
		if err != nil {
			g.fail(err)
			return
		}
		g.add(w, "withdrawal", false)
	}
}

func (g *groups) payout(wallet, want, code string, also []Outcome, attention bool) (Object, error) {
	w, err := g.tr.Start(g.ctx, g.d, "withdrawal", "/v1/withdrawals", map[string]any{
		"account_id": wallet, "amount": 20000, "currency": "CNY", "destination": map[string]any{"bank_account": "ba_processing"},
	}, want, code)
	if err != nil {
		return w, err
	}
	g.tr.Update(w.ID, func(f *Flow) { f.Also, f.Attention = also, attention })
	return w, nil
}

// add records a slow flow of the group and waits for it in the background.
func (g *groups) add(o Object, kind string, cancel bool) {
	g.mu.Lock()
	g.refs = append(g.refs, o.ID)
	if cancel {
		g.cancel = append(g.cancel, o)
	}
	g.mu.Unlock()
	g.chains.Go(func() error {
		_, err := g.tr.Wait(g.ctx, g.d, o, kind)
		return err
	})
}

// waitAtBank waits until the bank has a record of every slow reference of the group
// (a transfer, or the tombstone of a cancel that came first).
func (g *groups) waitAtBank(ctx context.Context, d *Driver) error {
	for _, ref := range g.refs {
		for {
			t, err := d.Transfer(ctx, ref)
			if err != nil {
				return fmt.Errorf("%s never reached the bank: %w", ref, err)
			}
			if t.Found {
				break
			}
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return fmt.Errorf("%s never reached the bank: %w", ref, err)
			}
		}
	}
	return nil
}

func (g *groups) wait() { g.chains.Wait() }

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// pendingCancels are operators' cancels under way.
type pendingCancels struct {
	wg             sync.WaitGroup
	accepted, late atomic.Int32
}

func (p *pendingCancels) wait() (accepted, late int) {
	p.wg.Wait()
	return int(p.accepted.Load()), int(p.late.Load())
}

// cancelAll has an operator cancel each of the group's cancel objects as soon as its
// flow waits at the bank. A flow that ended first (too late) may only end as its
// token says.
func (g *groups) cancelAll(ctx context.Context, d *Driver, tr *Tracker, phase int) *pendingCancels {
	p := &pendingCancels{}
	for _, o := range g.cancel {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			res, err := d.CancelFlow(ctx, o.ID, fmt.Sprintf("chaos run: phase %d cancel", phase+1))
			switch {
			case err != nil:
				tr.Fail(err)
			case res == CancelTooLate:
				p.late.Add(1)
				tr.Update(o.ID, func(f *Flow) { f.Want, f.WantCode, f.Also, f.Attention = "succeeded", "", nil, false })
			default:
				p.accepted.Add(1)
			}
		}()
	}
	return p
}

// disable disables the other merchant once its tok_success payments ended and its
// tok_processing ones wait at the bank; a payment still processing after the disable
// had not posted, and may only end failed merchant_disabled (its charge given back).
// Its later payment requests must be refused with 403 merchant_disabled.
func disable(ctx context.Context, o EdgesOptions, tr *Tracker, payments []Object, rep *EdgesReport) error {
	other := o.Other
	for i, p := range payments {
		if i%2 == 0 {
			if _, err := other.WaitFinal(ctx, "/v1/payments/"+p.ID, Pending...); err != nil {
				return err
			}
		} else {
			for {
				n, err := other.Executions(ctx, p.ID)
				if err == nil && n > 0 {
					break
				}
				if err := sleep(ctx, 200*time.Millisecond); err != nil {
					return err
				}
			}
		}
	}
	if err := other.SetMerchantStatus(ctx, other.Merchant, true); err != nil {
		return err
	}
	for _, p := range payments {
		r, err := other.Client(0).Get(ctx, "/v1/payments/"+p.ID)
		if err != nil {
			return err
		}
		var got Object
		if err := r.JSON(&got); err != nil {
			return err
		}
		if got.Status == "processing" {
			rep.InFlight++
			tr.Update(p.ID, func(f *Flow) { f.Want, f.WantCode = "failed", "merchant_disabled" })
		}
	}
	for i := 0; i < o.OtherRefused; i++ {
		r, err := other.Client(0).Post(ctx, "/v1/payments", map[string]any{
			"amount": 7000 + i, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"},
		}, fmt.Sprintf("%sdisabled-%d", other.KeyPrefix, i))
		switch {
		case err != nil:
			return err
		case r.Status == http.StatusForbidden && strings.Contains(string(r.Body), "merchant_disabled"):
			rep.Refused++
		default:
			tr.Fail(fmt.Errorf("merchant %s is disabled, yet a payment request was answered HTTP %d: %s", other.Merchant, r.Status, r.Body))
		}
	}
	// Nothing was created for the refused requests: the merchant's payments are
	// exactly the run's.
	r, err := other.Client(0).Get(ctx, "/v1/payments?limit=100")
	if err != nil {
		return err
	}
	var page struct{ Data []Object }
	if err := r.JSON(&page); err != nil {
		return fmt.Errorf("list %s's payments: HTTP %d: %w", other.Merchant, r.Status, err)
	}
	if len(page.Data) != len(payments) {
		ids := make([]string, len(page.Data))
		for i, p := range page.Data {
			ids[i] = p.ID
		}
		sort.Strings(ids)
		tr.Fail(fmt.Errorf("merchant %s (disabled) has %d payments, the run made %d: %v", other.Merchant, len(page.Data), len(payments), ids))
	}
	return nil
}

// watchAttention lists the run's withdrawals in stage needs_attention through the ops
// API until ctx ends, and records each with whether its wallet still held its amount.
// The listing lags the flows (visibility), so the hold is judged only when the
// withdrawal is still processing after the balance was read: its hold is released
// or settled in the transaction that ends it.
func watchAttention(ctx context.Context, d *Driver, tr *Tracker) {
	merchant := d.Merchant
	if merchant == "" {
		merchant = d.Client(0).MerchantID
	}
	for ctx.Err() == nil {
		ids, err := d.FlowsAtStage(ctx, merchant, "withdrawal", "needs_attention")
		if err == nil {
			flows := map[string]Flow{}
			for _, f := range tr.Flows() {
				flows[f.ID] = f
			}
			for _, id := range ids {
				f, ok := flows[id]
				if !ok {
					continue
				}
				bal, avail, err := d.Balance(ctx, f.Account)
				if err != nil {
					continue
				}
				r, err := d.Client(0).Get(ctx, f.Path)
				var now Object
				if err != nil || r.Status != http.StatusOK || r.JSON(&now) != nil {
					continue
				}
				tr.SawAttention(id, now.Status == "processing", bal-avail >= f.Amount)
			}
		}
		_ = sleep(ctx, 500*time.Millisecond)
	}
}
