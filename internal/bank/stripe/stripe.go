// Package stripe is the channel adapter of Stripe, on the official client
// (github.com/stripe/stripe-go): charges on the Charges API with a card token as the
// source, refunds on the Refunds API, payouts on the Payouts API, and the day's
// statement from the balance transactions.
//
// How it keeps the contract of package bank:
//   - Our reference is Stripe's Idempotency-Key and the object's metadata
//     "reference", so a repeated request within Stripe's 24 hours of key retention
//     returns the first answer, and a later query finds the object by reference.
//   - stripe-go's own retries are off: the activity retries, querying first, and a
//     library that retries a timed-out charge behind its back would hide an unknown
//     outcome from the one place that handles it.
//   - Answers map as: a card error (HTTP 402) is a failed transfer, not an error;
//     connection refused, 429 (Stripe: not processed), 401 and 403 are
//     ErrUnavailable; a timeout, a reset, a 5xx, a 409 (a request with the same key
//     is still running) or an unreadable answer is ErrUnknownOutcome; any other
//     4xx (invalid_request_error, idempotency_error) is ErrInvalid.
//   - Amounts are ISO 4217 minor units on payflow's side and Stripe's unit on
//     Stripe's, which differ for some currencies (ISK 1 is 100 at Stripe, MGA 1.00
//     is 1): requests are converted to Stripe's unit and answers back (currency.go),
//     and an amount Stripe cannot take exactly is ErrInvalid before any call.
//   - Query answers ErrNotFound only when Stripe's strongly consistent list API,
//     read from the reference's creation time on, has no object with the
//     reference: the search API, tried first, lags behind writes (Stripe: up to a
//     minute, an hour in outages), so its "no result" proves nothing. A reference
//     of no kind payflow sends (see resolve) is ErrUnknownOutcome, never not found.
//   - Cancel confirms canceled only for a payout it canceled while pending (or one
//     canceled before); a reference Stripe has not seen is ErrNotCancelable, since
//     Stripe cannot refuse a reference in advance.
package stripe

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v82"

	"github.com/payflow/payflow/internal/bank"
)

// Name is the channel name of Stripe.
const Name = "stripe"

// DefaultBaseURL is Stripe's API; locally, stripe-mock serves the same API.
const DefaultBaseURL = "https://api.stripe.com"

// metaReference is the metadata key that holds our reference on every object.
const metaReference = "reference"

// MetadataReference is metaReference for readers of Stripe's objects outside the
// adapter: the webhook route finds the reference an event is about under it.
const MetadataReference = metaReference

// Defaults of Options.
const (
	defaultTimeout   = 10 * time.Second
	defaultPageSize  = 100
	defaultScanLimit = 10_000
)

// Options configure the adapter.
type Options struct {
	// BaseURL is the API's address; "" is DefaultBaseURL.
	BaseURL string
	// APIKey is the secret key (sk_live_..., sk_test_...). Never logged.
	APIKey string
	// Timeout bounds each HTTP call; a call that takes longer has an unknown outcome.
	Timeout time.Duration
	// PageSize is the page size of list calls (statements, query scans), 1-100.
	PageSize int64
	// ScanLimit bounds how many objects one Query reads from the list API to
	// prove that Stripe never saw a reference; past it the query answers
	// ErrUnknownOutcome (never ErrNotFound).
	ScanLimit int
	// ClockSkew is how much earlier than our reference's creation time (our
	// clock) Stripe may have stamped an object (its clock); 0 is 10 minutes.
	ClockSkew time.Duration
}

// Channel talks to Stripe.
type Channel struct {
	sc *stripego.Client
	// api and key make the calls stripe-go's client gets wrong (see cancelPayout).
	api       stripego.Backend
	key       string
	pageSize  int64
	scanLimit int
	skew      time.Duration
}

// New returns the adapter. An empty API key is an error: Stripe would refuse every
// call, which would look like an outage at run time.
func New(o Options) (*Channel, error) {
	if strings.TrimSpace(o.APIKey) == "" {
		return nil, errors.New("stripe: an API key is required")
	}
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.PageSize <= 0 || o.PageSize > 100 {
		o.PageSize = defaultPageSize
	}
	if o.ScanLimit <= 0 {
		o.ScanLimit = defaultScanLimit
	}
	if o.ClockSkew <= 0 {
		o.ClockSkew = 10 * time.Minute
	}
	backends := stripego.NewBackendsWithConfig(&stripego.BackendConfig{
		HTTPClient: &http.Client{
			Timeout: o.Timeout,
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				MaxIdleConns:        256,
				MaxIdleConnsPerHost: 256,
				IdleConnTimeout:     90 * time.Second,
				TLSHandshakeTimeout: 10 * time.Second,
			},
		},
		// Temporal's activity retry, querying first, owns retries.
		MaxNetworkRetries: stripego.Int64(0),
		// The activity logs what it handles, once; the library would log every
		// decline and timeout a second time, on stderr.
		LeveledLogger: &stripego.LeveledLogger{Level: stripego.LevelNull},
		URL:           stripego.String(o.BaseURL),
	})
	return &Channel{
		sc:        stripego.NewClient(o.APIKey, stripego.WithBackends(backends)),
		api:       backends.API,
		key:       o.APIKey,
		pageSize:  o.PageSize,
		scanLimit: o.ScanLimit,
		skew:      o.ClockSkew,
	}, nil
}

// Name implements bank.Channel.
func (c *Channel) Name() string { return Name }

// unreadable is the error of an answer that does not say what happened.
func unreadable(op, why string) error {
	return fmt.Errorf("%s: unreadable answer (%s): %w", op, why, bank.ErrUnknownOutcome)
}
