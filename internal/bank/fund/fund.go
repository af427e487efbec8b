// Package fund is payflow's client of the fund company, as the bank simulator
// (banksim/, under /fund/) serves it: the products with their NAVs, the trading
// calendar, the money market fund's daily income, and subscription and
// redemption orders, confirmed at the trade date's NAV and called back signed.
//
// Integers only, as on the wire: money is int64 minor units (fen), shares are
// int64 hundredths of a share, a NAV is int64 ten-thousandths (1.0234 = 10234)
// and the money market income per 10,000 units is int64 1/10000 of a fen
// (0.5123 CNY = 512300). Dates are civil dates in Asia/Shanghai, "YYYY-MM-DD".
//
// Every order carries payflow's order id, the fund company's idempotency key:
// it is executed at most once and a repeat answers the same order, which makes
// ErrUnavailable safe to retry with the same Order. Nothing here logs.
package fund

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payflow/payflow/internal/bank/simhttp"
)

// Errors of the client.
var (
	// ErrUnavailable is a failure worth retrying as it is: the fund company
	// could not be reached, did not answer in time, answered 5xx (503 while
	// down) or an answer we could not read.
	ErrUnavailable = errors.New("fund company unavailable")
	// ErrRejected is a 4xx: the request breaks the contract (a trade date that
	// is no trading day, an amount below the product's minimum, an order id
	// reused for another order) and will fail again.
	ErrRejected = errors.New("fund company rejected the request")
	// ErrNotFound is an order, a product or a NAV the fund company does not
	// have (a NAV of a day not over yet, or of no trading day); it is also
	// ErrRejected.
	ErrNotFound = errors.New("fund company has no such thing")
)

// Product ids of the simulator.
const (
	ProductMoneyMarket = "prd_mmf"
	ProductBond        = "prd_bond"
	ProductEquity      = "prd_equity"
)

// Order kinds.
const (
	KindSubscription = "subscription"
	KindRedemption   = "redemption"
)

// Order statuses: accepted until the trade date's NAV exists, then confirmed
// or rejected; a confirmed redemption is paid later.
const (
	StatusAccepted  = "accepted"
	StatusConfirmed = "confirmed"
	StatusRejected  = "rejected"
	StatusPaid      = "paid"
)

// Reasons of a rejected order.
const (
	ReasonRejected           = "rejected_by_fund"
	ReasonProductClosed      = "product_closed"
	ReasonInsufficientShares = "insufficient_shares"
)

// Callback types.
const (
	CallbackConfirmed = "fund_order.confirmed"
	CallbackRejected  = "fund_order.rejected"
	CallbackPaid      = "fund_order.paid"
)

// DefaultTimeout bounds a call of a client made without an http.Client.
const DefaultTimeout = 10 * time.Second

const (
	maxAnswer         = 4 << 20
	errorCodeNotFound = "not_found"
	dateLayout        = "2006-01-02"
)

// Client talks to the fund company at one base URL.
type Client struct {
	baseURL string
	client  *http.Client
}

// New returns the client of the fund company at baseURL (the simulator's base
// URL: the client adds /fund/...). httpClient's Timeout bounds each call (a
// call that times out is ErrUnavailable); nil means DefaultTimeout.
func New(baseURL string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), client: httpClient}
}

// Product is a fund product.
type Product struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Kind is money_market, bond or equity.
	Kind      string `json:"kind"`
	RiskLevel int    `json:"risk_level"` // 1 (lowest) to 5
	Currency  string `json:"currency"`
	// MinAmount is the smallest subscription, minor units.
	MinAmount int64 `json:"min_amount"`
	// Cutoff is "HH:MM" Asia/Shanghai: an order after it trades the next trading day.
	Cutoff      string `json:"cutoff"`
	ConfirmDays int    `json:"confirm_days"` // T+n confirmation
	SettleDays  int    `json:"settle_days"`  // T+n payment of a redemption
	// Fees in basis points of the amount (subscription) or of the gross value (redemption).
	SubscriptionFeeBps int64 `json:"subscription_fee_bps"`
	RedemptionFeeBps   int64 `json:"redemption_fee_bps"`
	// NAV (ten-thousandths) of NAVDate, the latest published.
	NAV     int64  `json:"nav"`
	NAVDate string `json:"nav_date"`
}

// Calendar is the fund company's trading days and holidays between two dates.
type Calendar struct {
	From        string   `json:"from"`
	To          string   `json:"to"`
	TradingDays []string `json:"trading_days"`
	Holidays    []string `json:"holidays"`
}

// Order is an order to place. OrderID is payflow's id and the idempotency
// key. A subscription gives Amount (minor units), a redemption Shares
// (hundredths). TradeDate must be a trading day; CallbackURL, when set,
// receives the signed callbacks (ParseCallback).
type Order struct {
	OrderID     string
	Kind        string
	ProductID   string
	Amount      int64
	Shares      int64
	TradeDate   string
	CallbackURL string
}

// OrderState is the fund company's answer about an order. A confirmed
// subscription has NAV, Fee and Shares (Amount is what was paid in); a
// confirmed redemption has NAV, Fee and Amount (net of Fee, paid out when
// paid). A rejected one has Reason.
type OrderState struct {
	OrderID     string     `json:"order_id"`
	Kind        string     `json:"kind"`
	ProductID   string     `json:"product_id"`
	Status      string     `json:"status"`
	TradeDate   string     `json:"trade_date"`
	NAV         int64      `json:"nav"`
	Shares      int64      `json:"shares"`
	Amount      int64      `json:"amount"`
	Fee         int64      `json:"fee"`
	ConfirmedAt *time.Time `json:"confirmed_at"`
	PaidAt      *time.Time `json:"paid_at"`
	Reason      string     `json:"reason"`
}

// Products lists the fund company's products. ErrUnavailable.
func (c *Client) Products(ctx context.Context) ([]Product, error) {
	var out []Product
	if err := c.call(ctx, http.MethodGet, "/fund/v1/products", nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Calendar lists the trading days and holidays from from to to (at most 366
// days). ErrUnavailable, ErrRejected.
func (c *Client) Calendar(ctx context.Context, from, to string) (Calendar, error) {
	if err := checkDates(from, to); err != nil {
		return Calendar{}, err
	}
	var out Calendar
	err := c.call(ctx, http.MethodGet, "/fund/calendar?"+url.Values{"from": {from}, "to": {to}}.Encode(), nil, &out)
	return out, err
}

// NAV is product's NAV (ten-thousandths) of date: ErrNotFound when the fund
// company has none, because date is no trading day or is not over yet.
// ErrUnavailable, ErrRejected, ErrNotFound.
func (c *Client) NAV(ctx context.Context, product, date string) (int64, error) {
	if err := checkDates(date); err != nil {
		return 0, err
	}
	var out []struct {
		Date string `json:"date"`
		NAV  int64  `json:"nav"`
	}
	path := "/fund/v1/products/" + url.PathEscape(product) + "/navs?" + url.Values{"from": {date}, "to": {date}}.Encode()
	if err := c.call(ctx, http.MethodGet, path, nil, &out); err != nil {
		return 0, err
	}
	if len(out) == 0 {
		return 0, fmt.Errorf("NAV of %s on %s: %w (%w)", product, date, ErrNotFound, ErrRejected)
	}
	if len(out) != 1 || out[0].Date != date || out[0].NAV <= 0 {
		return 0, fmt.Errorf("NAV of %s on %s: unexpected answer: %w", product, date, ErrUnavailable)
	}
	return out[0].NAV, nil
}

// Income is the money market fund's income per 10,000 units of calendar day
// date, in 1/10000 of a minor unit (0.5123 CNY = 512300): ErrNotFound until
// the day is over. ErrUnavailable, ErrRejected, ErrNotFound.
func (c *Client) Income(ctx context.Context, date string) (int64, error) {
	if err := checkDates(date); err != nil {
		return 0, err
	}
	var out []struct {
		Date         string `json:"date"`
		IncomePer10k int64  `json:"income_per_10k"`
	}
	path := "/fund/v1/products/" + ProductMoneyMarket + "/income?" + url.Values{"from": {date}, "to": {date}}.Encode()
	if err := c.call(ctx, http.MethodGet, path, nil, &out); err != nil {
		return 0, err
	}
	if len(out) == 0 {
		return 0, fmt.Errorf("income of %s: %w (%w)", date, ErrNotFound, ErrRejected)
	}
	if len(out) != 1 || out[0].Date != date || out[0].IncomePer10k < 0 {
		return 0, fmt.Errorf("income of %s: unexpected answer: %w", date, ErrUnavailable)
	}
	return out[0].IncomePer10k, nil
}

// PlaceOrder places o and returns its status: accepted for a new order, the
// current one for a repeat of the same order. An order id already used for a
// different order is ErrRejected. ErrUnavailable, ErrRejected.
func (c *Client) PlaceOrder(ctx context.Context, o Order) (string, error) {
	body := map[string]any{"order_id": o.OrderID, "kind": o.Kind, "product_id": o.ProductID,
		"trade_date": o.TradeDate, "callback_url": o.CallbackURL}
	// Only the quantity of the kind goes.
	if (o.Kind == KindRedemption && o.Amount != 0) || (o.Kind != KindRedemption && o.Shares != 0) {
		return "", fmt.Errorf("order %s: a subscription gives Amount, a redemption Shares: %w", o.OrderID, ErrRejected)
	}
	if o.Kind == KindRedemption {
		body["shares"] = o.Shares
	} else {
		body["amount"] = o.Amount
	}
	var out struct {
		OrderID string `json:"order_id"`
		Status  string `json:"status"`
	}
	if err := c.call(ctx, http.MethodPost, "/fund/v1/orders", body, &out); err != nil {
		return "", fmt.Errorf("order %s: %w", o.OrderID, err)
	}
	if out.OrderID != o.OrderID || !knownStatus(out.Status) {
		return "", fmt.Errorf("order %s: unexpected answer %q %q: %w", o.OrderID, out.OrderID, out.Status, ErrUnavailable)
	}
	return out.Status, nil
}

// Order queries an order. ErrUnavailable, ErrRejected, ErrNotFound.
func (c *Client) Order(ctx context.Context, id string) (OrderState, error) {
	var out OrderState
	if err := c.call(ctx, http.MethodGet, "/fund/v1/orders/"+url.PathEscape(id), nil, &out); err != nil {
		return OrderState{}, fmt.Errorf("order %s: %w", id, err)
	}
	if out.OrderID != id || !knownStatus(out.Status) {
		return OrderState{}, fmt.Errorf("order %s: unexpected answer %q %q: %w", id, out.OrderID, out.Status, ErrUnavailable)
	}
	return out, nil
}

func knownStatus(s string) bool {
	switch s {
	case StatusAccepted, StatusConfirmed, StatusRejected, StatusPaid:
		return true
	}
	return false
}

// checkDates refuses what is not a YYYY-MM-DD date before sending anything.
func checkDates(dates ...string) error {
	for _, d := range dates {
		if _, err := time.Parse(dateLayout, d); err != nil {
			return fmt.Errorf("date %q is not YYYY-MM-DD: %w", d, ErrRejected)
		}
	}
	return nil
}

// call sends body (nil for none) and decodes a 200 or 202 answer into out.
// Errors name the method and route, never the body.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	return simhttp.Caller{BaseURL: c.baseURL, Client: c.client, MaxAnswer: maxAnswer,
		Errors: simhttp.Errors{Unavailable: ErrUnavailable, Rejected: ErrRejected, NotFound: ErrNotFound},
	}.Call(ctx, method, path, method+" "+path, body, out)
}
