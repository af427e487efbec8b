// Package bank is payflow's channel layer: one adapter per bank behind one interface,
// so that adding a real bank is one new package that implements Channel.
//
// The contract every adapter keeps:
//   - Our reference (the payment, refund or withdrawal id) is the bank's idempotency
//     key. Charging twice with one reference never moves money twice.
//   - Errors say what the caller may do next. ErrUnavailable: the bank refused before
//     acting (connection refused, an explicit "not processed" answer): safe to retry
//     or fail over. ErrUnknownOutcome: the bank may have acted (timeout, reset, a 5xx
//     after the request was sent): the caller must Query before anything else.
//     ErrNotFound from Query: the bank never saw the reference, the only answer that
//     makes a new attempt with the same reference safe. ErrInvalid: the bank refused
//     the request as malformed; retrying cannot help.
//   - "Not found" from a bank that may still be processing a request of ours is not
//     proof that nothing will happen: only a refusal before execution or a confirmed
//     Cancel (status canceled) proves that a reference will never execute there, and
//     only then may it be sent to another channel.
//   - A business outcome (declined, account closed) is not an error: it is a Transfer
//     with status failed and a failure code.
package bank

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/payflow/payflow/models"
)

// Kind is the kind of a movement at the bank.
type Kind string

// Movement kinds.
const (
	KindCharge Kind = "charge"
	KindRefund Kind = "refund"
	KindPayout Kind = "payout"
)

// Errors of the channel contract (see the package documentation).
var (
	ErrUnavailable    = errors.New("bank unavailable, request not processed")
	ErrUnknownOutcome = errors.New("bank outcome unknown")
	ErrNotFound       = errors.New("bank has no transfer with this reference")
	ErrInvalid        = errors.New("bank refused the request as invalid")
	ErrUnknownChannel = errors.New("unknown channel")
	// ErrNotCancelable: the bank cannot stop the transfer (it is already on its way,
	// or the bank has no cancel for it): it may still execute.
	ErrNotCancelable = errors.New("bank cannot cancel this transfer")
)

// Transfer is the bank's view of one movement.
type Transfer struct {
	Reference   string
	Channel     string
	Kind        Kind
	Amount      int64
	Currency    models.Currency
	Status      models.BankStatus
	FailureCode models.FailureCode
	BankID      string
}

// ChargeRequest charges a card token.
type ChargeRequest struct {
	Reference string
	// MerchantID is whose payment this is; a router may choose a channel by it.
	MerchantID  string
	Amount      int64
	Currency    models.Currency
	Token       string
	CallbackURL string
}

// RefundRequest refunds part or all of an earlier charge.
type RefundRequest struct {
	Reference       string
	ChargeReference string
	Amount          int64
	Currency        models.Currency
	CallbackURL     string
}

// PayoutRequest sends money to a bank account.
type PayoutRequest struct {
	Reference string
	// MerchantID is whose withdrawal this is; a router may choose a channel by it.
	MerchantID  string
	Amount      int64
	Currency    models.Currency
	BankAccount string
	CallbackURL string
}

// Channel is a bank adapter. Every method returns the contract's errors (wrapped).
type Channel interface {
	// Name is the channel's name (banksim, stripe), stored with every payment.
	Name() string
	// Charge charges a card; ErrUnavailable, ErrUnknownOutcome, ErrInvalid.
	Charge(ctx context.Context, r ChargeRequest) (Transfer, error)
	// Refund refunds a charge; ErrUnavailable, ErrUnknownOutcome, ErrInvalid.
	Refund(ctx context.Context, r RefundRequest) (Transfer, error)
	// Payout pays out to a bank account; ErrUnavailable, ErrUnknownOutcome, ErrInvalid.
	Payout(ctx context.Context, r PayoutRequest) (Transfer, error)
	// Query returns the transfer with our reference; ErrNotFound, ErrUnavailable,
	// ErrUnknownOutcome (the query itself failed).
	Query(ctx context.Context, reference string) (Transfer, error)
	// Cancel asks the bank to stop the transfer with our reference for good. It
	// answers the transfer with status canceled when the bank confirms that the
	// reference will never execute (for a reference it had not seen, the bank then
	// refuses it forever), the final transfer when it had already executed (a cancel
	// never undoes an executed transfer), ErrNotCancelable when the bank cannot stop
	// it (it may still execute), or ErrUnavailable, ErrUnknownOutcome.
	Cancel(ctx context.Context, reference string) (Transfer, error)
	// Statement opens the bank's statement of one UTC day as CSV with the header
	// reference,kind,amount,currency,status,time; ErrUnavailable.
	Statement(ctx context.Context, day time.Time) (io.ReadCloser, error)
}

// TradeRequest opens a wallet provider's trade: our reference (the payment id, the
// provider's out_trade_no and idempotency key), the amount, and where the provider
// notifies.
type TradeRequest struct {
	Reference   string
	MerchantID  string
	Amount      int64
	Currency    models.Currency
	CallbackURL string
}

// TradeChannel is a wallet provider's channel, besides charging payment codes: a
// trade the customer pays on the provider's checkout page (a QR payment) is opened
// there, and closed when it was not paid in time.
type TradeChannel interface {
	// CreateTrade opens the trade of our reference (again: the same trade) and
	// answers the URL of its checkout page; ErrUnavailable, ErrUnknownOutcome,
	// ErrInvalid.
	CreateTrade(ctx context.Context, r TradeRequest) (checkoutURL string, err error)
	// CloseTrade ends the trade of our reference for good if it is not paid: the
	// transfer canceled; a paid trade answers its final transfer (succeeded: the
	// customer paid before the close). ErrNotFound, ErrUnavailable, ErrUnknownOutcome.
	CloseTrade(ctx context.Context, reference string) (Transfer, error)
}

// DayBalance is our balance at a bank in one currency over one UTC day, in minor
// units: Opening at the day's start, Closing at its end. A bank that reports only
// the day's movement answers it as Closing with Opening 0.
type DayBalance struct {
	Currency string
	Opening  int64
	Closing  int64
}

// Movement is how much the day added to our balance at the bank (negative when
// more went out than came in).
func (b DayBalance) Movement() int64 { return b.Closing - b.Opening }

// Balancer is a channel that reports our balance at the bank per day, which lets
// reconciliation compare it with the ledger's clearing account. It is optional: a
// channel without it gets no balance check.
type Balancer interface {
	// Balances returns the balances of one UTC day, one per currency the bank
	// moved money in for us (sorted by currency); ErrUnavailable.
	Balances(ctx context.Context, day time.Time) ([]DayBalance, error)
}

// Registry holds the configured channels by name.
type Registry struct {
	channels map[string]Channel
}

// NewRegistry returns a registry of the given channels.
func NewRegistry(channels ...Channel) *Registry {
	r := &Registry{channels: map[string]Channel{}}
	for _, c := range channels {
		r.channels[c.Name()] = c
	}
	return r
}

// Add registers a channel (the auto router is added after the channels it routes).
func (r *Registry) Add(c Channel) { r.channels[c.Name()] = c }

// Get returns a channel, or ErrUnknownChannel.
func (r *Registry) Get(name string) (Channel, error) {
	c, ok := r.channels[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownChannel, name)
	}
	return c, nil
}

// Names lists the registered channels, sorted.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.channels))
	for n := range r.channels {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
