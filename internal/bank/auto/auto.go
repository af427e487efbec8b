// Package auto is the "auto" channel: it routes a charge or a payout to a real
// channel by rules (currency, amount, merchant) and fails over to the next channel
// of the route when one is down, never charging twice.
//
// Failover follows the channel contract of package bank: only ErrUnavailable (the
// channel refused before acting) moves on to the next channel, with the same
// reference. ErrUnknownOutcome stops at once: the channel may have acted, and the
// caller's next attempt queries before charging again; that query asks every
// channel, and "never seen" is answered only when every channel proves it.
package auto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// Name is the channel name of the router.
const Name = models.ChannelAuto

// Route is one routing rule. A request matches when every set field matches; the
// first matching route of the configuration applies.
type Route struct {
	// Currency is an ISO 4217 code; "" matches any.
	Currency models.Currency `json:"currency,omitempty"`
	// MinAmount and MaxAmount bound the amount in minor units, inclusive; 0 is
	// no bound.
	MinAmount int64 `json:"min_amount,omitempty"`
	MaxAmount int64 `json:"max_amount,omitempty"`
	// Merchant is a merchant id; "" matches any.
	Merchant string `json:"merchant,omitempty"`
	// Channels are tried in this order.
	Channels []string `json:"channels"`
}

func (r Route) matches(merchant string, amount int64, currency models.Currency) bool {
	return (r.Currency == "" || r.Currency == currency) &&
		(r.MinAmount == 0 || amount >= r.MinAmount) &&
		(r.MaxAmount == 0 || amount <= r.MaxAmount) &&
		(r.Merchant == "" || r.Merchant == merchant)
}

// DefaultRoutes is the configuration when none is given: every request to banksim,
// then to stripe.
const DefaultRoutes = `[{"channels":["banksim","stripe"]}]`

// ParseRoutes reads routes from JSON (PAYFLOW_AUTO_ROUTES), refusing unknown
// fields, empty channel lists and impossible bounds: a typo must stop the process
// at start, not misroute payments.
func ParseRoutes(s string) ([]Route, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	var routes []Route
	if err := dec.Decode(&routes); err != nil {
		return nil, fmt.Errorf("auto routes: %w", err)
	}
	if dec.More() {
		return nil, errors.New("auto routes: trailing data after the JSON array")
	}
	if len(routes) == 0 {
		return nil, errors.New("auto routes: at least one route is required")
	}
	for i, r := range routes {
		switch {
		case len(r.Channels) == 0:
			return nil, fmt.Errorf("auto routes: route %d has no channels", i)
		case r.Currency != "" && !r.Currency.Valid():
			return nil, fmt.Errorf("auto routes: route %d: %q is not a supported currency", i, r.Currency)
		case r.MinAmount < 0 || r.MaxAmount < 0 || r.MaxAmount != 0 && r.MinAmount > r.MaxAmount:
			return nil, fmt.Errorf("auto routes: route %d: amount bounds %d..%d", i, r.MinAmount, r.MaxAmount)
		}
		for _, c := range r.Channels {
			if c == Name {
				return nil, fmt.Errorf("auto routes: route %d routes to %q itself", i, Name)
			}
		}
	}
	return routes, nil
}

// Channel routes requests to real channels.
type Channel struct {
	routes []Route
	byName map[string]bank.Channel
	// order is every routed channel, in order of first appearance in the routes:
	// the fixed order in which Query asks them.
	order []bank.Channel
}

// Lookup finds a channel by name (a *bank.Registry's Get).
type Lookup func(name string) (bank.Channel, error)

// New returns the router over the channels its routes name, found with lookup. A
// route naming a channel that does not exist is an error.
func New(routes []Route, lookup Lookup) (*Channel, error) {
	c := &Channel{routes: routes, byName: map[string]bank.Channel{}}
	for i, r := range routes {
		for _, name := range r.Channels {
			if _, ok := c.byName[name]; ok {
				continue
			}
			ch, err := lookup(name)
			if err != nil {
				return nil, fmt.Errorf("auto route %d: %w", i, err)
			}
			c.byName[name] = ch
			c.order = append(c.order, ch)
		}
	}
	return c, nil
}

// Name implements bank.Channel.
func (c *Channel) Name() string { return Name }

// route returns the channels of the first route that matches.
func (c *Channel) route(op, merchant string, amount int64, currency models.Currency) ([]bank.Channel, error) {
	for _, r := range c.routes {
		if r.matches(merchant, amount, currency) {
			out := make([]bank.Channel, len(r.Channels))
			for i, name := range r.Channels {
				out[i] = c.byName[name]
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("%s: no auto route for merchant %q, %d %s: %w", op, merchant, amount, currency, bank.ErrInvalid)
}

// Charge implements bank.Channel: the route's channels in order, with the same
// reference, moving on only when a channel refused before acting.
func (c *Channel) Charge(ctx context.Context, r bank.ChargeRequest) (bank.Transfer, error) {
	return c.failover(ctx, "auto charge "+r.Reference, r.MerchantID, r.Amount, r.Currency,
		func(ch bank.Channel) (bank.Transfer, error) { return ch.Charge(ctx, r) })
}

// Payout implements bank.Channel, routed and failed over as Charge.
func (c *Channel) Payout(ctx context.Context, r bank.PayoutRequest) (bank.Transfer, error) {
	return c.failover(ctx, "auto payout "+r.Reference, r.MerchantID, r.Amount, r.Currency,
		func(ch bank.Channel) (bank.Transfer, error) { return ch.Payout(ctx, r) })
}

// failover calls each channel of the route of merchant, amount and currency in
// turn until one does not answer ErrUnavailable. Its answer (a transfer, a business
// failure, or any other error) is final.
func (c *Channel) failover(ctx context.Context, op, merchant string, amount int64, currency models.Currency,
	call func(bank.Channel) (bank.Transfer, error)) (bank.Transfer, error) {
	chans, err := c.route(op, merchant, amount, currency)
	if err != nil {
		return bank.Transfer{}, err
	}
	var refused []string
	for _, ch := range chans {
		if err := ctx.Err(); err != nil {
			// Nothing was sent to this channel or any later one.
			return bank.Transfer{}, fmt.Errorf("%s: %w (%v); refused by %s", op, bank.ErrUnavailable, err, strings.Join(refused, "; "))
		}
		t, err := call(ch)
		switch {
		case err == nil:
			if t.Channel == "" {
				t.Channel = ch.Name()
			}
			return t, nil
		case errors.Is(err, bank.ErrUnavailable):
			refused = append(refused, fmt.Sprintf("%s: %v", ch.Name(), err))
		default:
			// Unknown outcome (never fail over: the channel may have acted) or
			// a refusal that another channel would repeat.
			return bank.Transfer{}, fmt.Errorf("%s via %s: %w", op, ch.Name(), err)
		}
	}
	return bank.Transfer{}, fmt.Errorf("%s: every channel refused (%s): %w", op, strings.Join(refused, "; "), bank.ErrUnavailable)
}

// Query implements bank.Channel: every routed channel, in a fixed order; the first
// that knows the reference answers. ErrNotFound only when every channel says it
// never saw it; when one could not answer and none knew it, the outcome is unknown.
func (c *Channel) Query(ctx context.Context, reference string) (bank.Transfer, error) {
	_, t, err := c.locate(ctx, reference)
	return t, err
}

func (c *Channel) locate(ctx context.Context, reference string) (bank.Channel, bank.Transfer, error) {
	var failed []string
	for _, ch := range c.order {
		t, err := ch.Query(ctx, reference)
		switch {
		case err == nil:
			if t.Channel == "" {
				t.Channel = ch.Name()
			}
			return ch, t, nil
		case errors.Is(err, bank.ErrNotFound):
		default:
			failed = append(failed, fmt.Sprintf("%s: %v", ch.Name(), err))
		}
	}
	if len(failed) > 0 {
		return nil, bank.Transfer{}, fmt.Errorf("auto query %s: not found where asked, and no answer from %s: %w",
			reference, strings.Join(failed, "; "), bank.ErrUnknownOutcome)
	}
	return nil, bank.Transfer{}, fmt.Errorf("auto query %s: no channel has it: %w", reference, bank.ErrNotFound)
}

// Route returns, in order, the names of the channels a request of this merchant,
// amount and currency goes to. The flows route with it themselves (one channel at a
// time, moving on only when a channel proved it will not execute the reference), so
// that an unknown outcome pins a flow to the channel that may have acted.
func (c *Channel) Route(merchant string, amount int64, currency models.Currency) ([]string, error) {
	chans, err := c.route("route", merchant, amount, currency)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(chans))
	for i, ch := range chans {
		names[i] = ch.Name()
	}
	return names, nil
}

// Cancel implements bank.Channel for flows started before the flows routed
// themselves: the channel that has the reference cancels it; a reference no channel
// has is canceled at every routed channel, and is canceled only when each of them
// confirms.
func (c *Channel) Cancel(ctx context.Context, reference string) (bank.Transfer, error) {
	ch, _, err := c.locate(ctx, reference)
	switch {
	case err == nil:
		t, err := ch.Cancel(ctx, reference)
		if err == nil && t.Channel == "" {
			t.Channel = ch.Name()
		}
		return t, err
	case !errors.Is(err, bank.ErrNotFound):
		return bank.Transfer{}, err
	}
	var last bank.Transfer
	for _, ch := range c.order {
		t, err := ch.Cancel(ctx, reference)
		if err != nil {
			return bank.Transfer{}, fmt.Errorf("auto cancel %s via %s: %w", reference, ch.Name(), err)
		}
		if t.Status != models.BankCanceled {
			// It arrived there meanwhile: that channel's answer is the transfer's.
			if t.Channel == "" {
				t.Channel = ch.Name()
			}
			return t, nil
		}
		last = t
	}
	last.Channel = Name
	return last, nil
}

// Refund implements bank.Channel: the channel that took the charge refunds it.
func (c *Channel) Refund(ctx context.Context, r bank.RefundRequest) (bank.Transfer, error) {
	op := "auto refund " + r.Reference
	ch, _, err := c.locate(ctx, r.ChargeReference)
	switch {
	case errors.Is(err, bank.ErrNotFound):
		return bank.Transfer{}, fmt.Errorf("%s: charge %s is unknown to every channel: %w", op, r.ChargeReference, bank.ErrInvalid)
	case err != nil:
		// Nothing was sent for the refund: safe to retry.
		return bank.Transfer{}, fmt.Errorf("%s: locate charge %s: %w (%v)", op, r.ChargeReference, bank.ErrUnavailable, err)
	}
	t, err := ch.Refund(ctx, r)
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("%s via %s: %w", op, ch.Name(), err)
	}
	if t.Channel == "" {
		t.Channel = ch.Name()
	}
	return t, nil
}

// Statement implements bank.Channel: the router has no statement of its own;
// reconciliation runs per real channel.
func (c *Channel) Statement(context.Context, time.Time) (io.ReadCloser, error) {
	names := make([]string, len(c.order))
	for i, ch := range c.order {
		names[i] = ch.Name()
	}
	return nil, fmt.Errorf("auto has no statement: reconcile each real channel (%s): %w", strings.Join(names, ", "), bank.ErrInvalid)
}
