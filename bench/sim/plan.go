package main

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"time"
)

// Dur is a duration that reads as one in the printed schedule ("1h30m0s").
type Dur time.Duration

// D is the duration.
func (d Dur) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as text.
func (d Dur) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads the duration from text.
func (d *Dur) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Dur(v)
	return err
}

// Kinds of flow a schedule holds.
const (
	kindPayment       = "payment"
	kindWalletPayment = "wallet_payment"
	kindTopup         = "topup"
	kindWithdrawal    = "withdrawal"
	kindRefund        = "refund"
)

const (
	simName    = "banksim"
	stripeName = "stripe"
	autoName   = "auto"
)

// FlowPlan is one flow of a schedule and everything that happens to it.
type FlowPlan struct {
	Kind    string `json:"kind"`
	Channel string `json:"channel,omitempty"`
	// Route is the order in which auto tries the real channels.
	Route  []string `json:"route,omitempty"`
	Amount int64    `json:"amount"`
	Start  Dur      `json:"start"`
	// Unstarted: the API stored the object and died before starting its flow.
	Unstarted bool `json:"unstarted,omitempty"`
	Deadline  Dur  `json:"deadline"`
	// Script is what each channel does with the flow's requests; Reversal with the
	// requests of the reversal of its charge.
	Script   map[string][]Step `json:"script,omitempty"`
	Reversal []Step            `json:"reversal,omitempty"`
	// NoCancel lists channels that cannot cancel this flow's transfer.
	NoCancel []string `json:"no_cancel,omitempty"`
	// Cancel and Retry are an operator's acts (0: none).
	Cancel Dur `json:"cancel,omitempty"`
	Retry  Dur `json:"retry,omitempty"`
	// Decision is an operator's answer to a withdrawal over the review threshold
	// (approve or reject at DecideAt; none lets the approval expire).
	Decision string `json:"decision,omitempty"`
	DecideAt Dur    `json:"decide_at,omitempty"`
}

// Callback is a bank callback that reaches the flow: genuine (the bank's state at
// that moment, possibly late, duplicated or out of order) or forged (a status and a
// channel that are not the bank's).
type Callback struct {
	At      Dur    `json:"at"`
	Flow    int    `json:"flow"`
	Forged  bool   `json:"forged,omitempty"`
	Status  string `json:"status,omitempty"`
	Channel string `json:"channel,omitempty"`
}

// Outage is a time when a channel misbehaves for every request: refuse (down: each
// request refused before processing, queries unanswered), slow (each request lost on
// its way and arriving when the outage ends; queries answer, so "not found" while a
// request is on its way), dark (requests lost on their way, arriving when the outage
// ends or never; queries unanswered).
type Outage struct {
	Channel string `json:"channel"`
	From    Dur    `json:"from"`
	For     Dur    `json:"for"`
	Mode    string `json:"mode"`
}

// Plan is one schedule: the flows, the faults and the acts of one seed.
type Plan struct {
	Seed  uint64     `json:"seed"`
	Flows []FlowPlan `json:"flows"`
	// CrashPerMille of activity attempts crash after their effect committed (the
	// worker dies before the server hears of it), on attempts 1 to 3.
	CrashPerMille int `json:"crash_per_mille,omitempty"`
	// QueryFailPerMille of bank queries get no answer.
	QueryFailPerMille int `json:"query_fail_per_mille,omitempty"`
	// DisableAt disables the merchant (0: never); DisableOnCrash disables it right
	// when a payment's posting crashed after committing (its retry runs after).
	DisableAt      Dur        `json:"disable_at,omitempty"`
	DisableOnCrash bool       `json:"disable_on_crash,omitempty"`
	Callbacks      []Callback `json:"callbacks,omitempty"`
	Outages        []Outage   `json:"outages,omitempty"`
}

// reviewThreshold is the merchant's: withdrawals over it wait for an operator.
const reviewThreshold = 100000

// approvalTimeout is how long a withdrawal waits for an operator.
const approvalTimeout = time.Hour

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func between(r *rand.Rand, lo, hi time.Duration) Dur {
	return Dur(lo + time.Duration(r.Int64N(int64(hi-lo)+1)))
}

// drawStep is one bank behaviour; business declines only where allowed.
func drawStep(r *rand.Rand, declines bool) Step {
	switch n := r.IntN(100); {
	case n < 35:
		return Step{Do: "ok"}
	case n < 45 && declines:
		return Step{Do: "decline"}
	case n < 45:
		return Step{Do: "ok"}
	case n < 60:
		return Step{Do: "refuse"}
	case n < 70:
		return Step{Do: "timeout"}
	case n < 85:
		s := Step{Do: "inflight"}
		if r.IntN(3) > 0 {
			s.After = between(r, 10*time.Second, 3*time.Hour)
		}
		return s
	default:
		final := "succeeded"
		if declines && r.IntN(5) == 0 {
			final = "failed"
		}
		return Step{Do: "processing", After: between(r, time.Minute, 30*time.Hour), Final: final}
	}
}

func drawScript(r *rand.Rand, declines bool) []Step {
	steps := make([]Step, r.IntN(4))
	for i := range steps {
		steps[i] = drawStep(r, declines)
	}
	return steps
}

// Draw makes the schedule of a seed.
func Draw(seed uint64) Plan {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p := Plan{Seed: seed}
	n := 1 + r.IntN(5)
	for i := 0; i < n; i++ {
		f := FlowPlan{
			Kind:     pick(r, kindPayment, kindPayment, kindTopup, kindWithdrawal, kindWithdrawal, kindRefund, kindWalletPayment),
			Amount:   100 + r.Int64N(200000),
			Start:    between(r, 0, 10*time.Minute),
			Deadline: pick(r, Dur(10*time.Minute), Dur(time.Hour), Dur(6*time.Hour), Dur(24*time.Hour)),
		}
		f.Unstarted = r.IntN(10) == 0
		if f.Kind == kindWalletPayment {
			p.Flows = append(p.Flows, f)
			continue
		}
		f.Channel = pick(r, simName, simName, stripeName, autoName, autoName)
		if f.Kind == kindRefund && f.Channel == autoName {
			f.Channel = simName
		}
		chans := []string{f.Channel}
		if f.Channel == autoName {
			f.Route = []string{simName, stripeName}
			if r.IntN(2) == 0 {
				f.Route = []string{stripeName, simName}
			}
			chans = f.Route
		}
		f.Script = map[string][]Step{}
		for _, c := range chans {
			if s := drawScript(r, true); len(s) > 0 {
				f.Script[c] = s
			}
			if r.IntN(3) == 0 {
				f.NoCancel = append(f.NoCancel, c)
			}
		}
		if f.Kind == kindPayment || f.Kind == kindTopup {
			f.Reversal = drawScript(r, false)
		}
		if r.IntN(4) == 0 {
			f.Cancel = between(r, time.Second, 2*time.Hour)
		}
		if r.IntN(5) == 0 {
			f.Retry = between(r, time.Second, 3*time.Hour)
		}
		if f.Kind == kindWithdrawal && f.Amount > reviewThreshold {
			f.Decision = pick(r, "approve", "approve", "approve", "reject", "")
			if f.Decision != "" {
				f.DecideAt = between(r, time.Second, 50*time.Minute)
			}
		}
		p.Flows = append(p.Flows, f)
	}
	for k := pick(r, 0, 0, 1, 2); k > 0; k-- {
		p.Outages = append(p.Outages, Outage{
			Channel: pick(r, simName, stripeName), From: between(r, 0, 30*time.Minute),
			For: between(r, 3*time.Minute, 3*time.Hour), Mode: pick(r, "refuse", "slow", "dark"),
		})
	}
	p.CrashPerMille = pick(r, 0, 50, 150, 300)
	p.QueryFailPerMille = pick(r, 0, 0, 100)
	if r.IntN(6) == 0 {
		p.DisableAt = between(r, time.Second, 2*time.Hour)
	}
	p.DisableOnCrash = r.IntN(6) == 0
	for i, f := range p.Flows {
		if f.Channel == "" {
			continue
		}
		// Callbacks come while the flow may wait on its bank: from seconds after its
		// start to a few hours.
		for k := 1 + r.IntN(4); k > 0; k-- {
			cb := Callback{At: f.Start + between(r, 5*time.Second, 4*time.Hour), Flow: i}
			if r.IntN(2) == 0 {
				cb.Forged = true
				cb.Status = pick(r, "succeeded", "failed", "processing", "canceled")
				cb.Channel = pick(r, simName, stripeName)
			}
			p.Callbacks = append(p.Callbacks, cb)
		}
	}
	return p
}

// Shrinks lists smaller schedules than p, each one simplification away: a flow
// removed, an act removed, a fault removed, a script step made "ok". The search for
// the shortest failing schedule tries them in this order.
func (p Plan) Shrinks() []Plan {
	var out []Plan
	clone := func() Plan {
		b, _ := json.Marshal(p)
		var c Plan
		_ = json.Unmarshal(b, &c)
		return c
	}
	for i := range p.Flows {
		c := clone()
		c.Flows = slices.Delete(c.Flows, i, i+1)
		var cbs []Callback
		for _, cb := range c.Callbacks {
			switch {
			case cb.Flow == i:
			case cb.Flow > i:
				cb.Flow--
				cbs = append(cbs, cb)
			default:
				cbs = append(cbs, cb)
			}
		}
		c.Callbacks = cbs
		out = append(out, c)
	}
	for i := range p.Callbacks {
		c := clone()
		c.Callbacks = slices.Delete(c.Callbacks, i, i+1)
		out = append(out, c)
	}
	for i := range p.Outages {
		c := clone()
		c.Outages = slices.Delete(c.Outages, i, i+1)
		out = append(out, c)
	}
	if p.CrashPerMille > 0 {
		c := clone()
		c.CrashPerMille = 0
		out = append(out, c)
	}
	if p.QueryFailPerMille > 0 {
		c := clone()
		c.QueryFailPerMille = 0
		out = append(out, c)
	}
	if p.DisableAt > 0 {
		c := clone()
		c.DisableAt = 0
		out = append(out, c)
	}
	if p.DisableOnCrash {
		c := clone()
		c.DisableOnCrash = false
		out = append(out, c)
	}
	for i, f := range p.Flows {
		if f.Cancel > 0 {
			c := clone()
			c.Flows[i].Cancel = 0
			out = append(out, c)
		}
		if f.Retry > 0 {
			c := clone()
			c.Flows[i].Retry = 0
			out = append(out, c)
		}
		if f.Unstarted {
			c := clone()
			c.Flows[i].Unstarted = false
			out = append(out, c)
		}
		if len(f.NoCancel) > 0 {
			c := clone()
			c.Flows[i].NoCancel = nil
			out = append(out, c)
		}
		chans := make([]string, 0, len(f.Script))
		for ch := range f.Script {
			chans = append(chans, ch)
		}
		slices.Sort(chans)
		for _, ch := range chans {
			for j := range f.Script[ch] {
				c := clone()
				c.Flows[i].Script[ch] = slices.Delete(c.Flows[i].Script[ch], j, j+1)
				out = append(out, c)
			}
		}
		for j := range f.Reversal {
			c := clone()
			c.Flows[i].Reversal = slices.Delete(c.Flows[i].Reversal, j, j+1)
			out = append(out, c)
		}
	}
	return out
}
