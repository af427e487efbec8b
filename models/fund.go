package models

import (
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"
)

// The fund marketplace: a wallet's money buys a fund product's shares (a
// subscription) and its shares are sold back for money (a redemption), each
// confirmed by the fund company at the NAV of the order's trade date.
//
// Units, as the fund company's API gives them: a NAV is int64 ten-thousandths of the
// currency's major unit per share (1.0234 = 10234), shares are int64 hundredths of a
// share (1000.50 = 100050), money is minor units.

// Prefixes of the fund orders' ids.
const (
	PrefixSubscription = "sub_"
	PrefixRedemption   = "red_"
)

// Flows of the fund marketplace.
const (
	FlowSubscription Flow = "subscription"
	FlowRedemption   Flow = "redemption"
)

// FundOrderKind is a subscription or a redemption.
type FundOrderKind string

// Fund order kinds, as the fund company names them.
const (
	FundSubscription FundOrderKind = "subscription"
	FundRedemption   FundOrderKind = "redemption"
)

// Flow is the flow of an order of the kind.
func (k FundOrderKind) Flow() Flow {
	if k == FundRedemption {
		return FlowRedemption
	}
	return FlowSubscription
}

// FundOrderStatus is where a fund order is: processing (held, at the fund company)
// until confirmed or failed; a confirmed redemption becomes paid when its money
// arrives in the wallet.
type FundOrderStatus string

// Fund order statuses.
const (
	FundOrderProcessing FundOrderStatus = "processing"
	FundOrderConfirmed  FundOrderStatus = "confirmed"
	FundOrderPaid       FundOrderStatus = "paid"
	FundOrderFailed     FundOrderStatus = "failed"
)

// Failure codes of fund orders.
const (
	// FailureRejectedByFund: the fund company refused or rejected the order.
	FailureRejectedByFund FailureCode = "rejected_by_fund"
	// FailureInsufficientShares: the wallet's free shares no longer covered a
	// redemption when its flow held them.
	FailureInsufficientShares FailureCode = "insufficient_shares"
)

// Event types of fund orders: their outcomes, sent to the order's notify_url.
const (
	EventSubscriptionConfirmed EventType = "subscription.confirmed"
	EventSubscriptionFailed    EventType = "subscription.failed"
	EventRedemptionPaid        EventType = "redemption.paid"
	EventRedemptionFailed      EventType = "redemption.failed"
)

func init() {
	eventObjectPrefix[EventSubscriptionConfirmed] = PrefixSubscription
	eventObjectPrefix[EventSubscriptionFailed] = PrefixSubscription
	eventObjectPrefix[EventRedemptionPaid] = PrefixRedemption
	eventObjectPrefix[EventRedemptionFailed] = PrefixRedemption
}

// Risk levels of products and of wallets' assessments.
const (
	MinRiskLevel = 1
	MaxRiskLevel = 5
)

// RiskProfile is the risk level a wallet's owner was assessed at: a product of a
// higher risk level is refused (risk_mismatch).
type RiskProfile struct {
	AccountID  string    `json:"account_id"`
	Level      int       `json:"level"`
	AssessedAt time.Time `json:"assessed_at"`
}

// Product is a fund product, as GET /v1/products lists it.
type Product struct {
	ID                 string   `json:"id"`
	Object             string   `json:"object"`
	Name               string   `json:"name"`
	Kind               string   `json:"kind"`
	RiskLevel          int      `json:"risk_level"`
	Currency           Currency `json:"currency"`
	MinAmount          int64    `json:"min_amount"`
	Cutoff             string   `json:"cutoff"`
	ConfirmDays        int      `json:"confirm_days"`
	SettleDays         int      `json:"settle_days"`
	SubscriptionFeeBps int64    `json:"subscription_fee_bps"`
	RedemptionFeeBps   int64    `json:"redemption_fee_bps"`
	NAV                int64    `json:"nav"`
	NAVDate            string   `json:"nav_date"`
}

// FundOrder is a subscription or a redemption as the API answers it. A
// subscription's Amount is the money paid in (held, then settled), its Shares what
// the confirmation bought; a redemption's Shares are the shares sold (held, then
// settled), its Amount the money it pays, net of Fee, once confirmed.
type FundOrder struct {
	ID                  string          `json:"id"`
	Object              string          `json:"object"`
	AccountID           string          `json:"account_id"`
	ProductID           string          `json:"product_id"`
	Status              FundOrderStatus `json:"status"`
	Currency            Currency        `json:"currency"`
	Amount              int64           `json:"amount"`
	Shares              int64           `json:"shares"`
	NAV                 int64           `json:"nav"`
	Fee                 int64           `json:"fee"`
	TradeDate           string          `json:"trade_date"`
	ExpectedConfirmDate string          `json:"expected_confirm_date"`
	ExpectedSettleDate  string          `json:"expected_settle_date,omitempty"`
	FailureCode         FailureCode     `json:"failure_code,omitempty"`
	CreatedAt           time.Time       `json:"created"`
	ConfirmedAt         *time.Time      `json:"confirmed_at,omitempty"`
	PaidAt              *time.Time      `json:"paid_at,omitempty"`
}

// Kind is the order's kind, from its id.
func (o FundOrder) Kind() FundOrderKind {
	if strings.HasPrefix(o.ID, PrefixRedemption) {
		return FundRedemption
	}
	return FundSubscription
}

// Position is a wallet's holding of one product.
type Position struct {
	ProductID   string   `json:"product_id"`
	Shares      int64    `json:"shares"`
	HeldShares  int64    `json:"held_shares"`
	NAV         int64    `json:"nav"`
	NAVDate     string   `json:"nav_date"`
	Currency    Currency `json:"currency"`
	MarketValue int64    `json:"market_value"`
}

// FundOrderInput starts a fund order's flow: everything the flow needs.
type FundOrderInput struct {
	OrderID    string        `json:"order_id"`
	Kind       FundOrderKind `json:"kind"`
	MerchantID string        `json:"merchant_id"`
	AccountID  string        `json:"account_id"`
	ProductID  string        `json:"product_id"`
	Currency   Currency      `json:"currency"`
	// Amount (a subscription, minor units) or Shares (a redemption, hundredths).
	Amount    int64  `json:"amount,omitempty"`
	Shares    int64  `json:"shares,omitempty"`
	TradeDate string `json:"trade_date"`
	NotifyURL string `json:"notify_url,omitempty"`
	// Poll is how long the flow waits for the fund company's callback before it
	// asks (then doubling, up to an hour).
	Poll time.Duration `json:"poll"`
	// CreatedAt is when the order was stored (the flow sweeper's mark); not part of
	// the flow's input.
	CreatedAt time.Time `json:"-"`
}

// FundOrderResult is how a fund order's flow ended.
type FundOrderResult struct {
	Status      FundOrderStatus `json:"status"`
	FailureCode FailureCode     `json:"failure_code,omitempty"`
	Shares      int64           `json:"shares,omitempty"`
	Amount      int64           `json:"amount,omitempty"`
	NAV         int64           `json:"nav,omitempty"`
	Fee         int64           `json:"fee,omitempty"`
}

// FundOrderState is the fund company's word on an order.
type FundOrderState struct {
	Status string `json:"status"`
	NAV    int64  `json:"nav"`
	Shares int64  `json:"shares"`
	Amount int64  `json:"amount"`
	Fee    int64  `json:"fee"`
	Reason string `json:"reason,omitempty"`
}

// ShareAssetPrefix starts the asset code of a product's shares in the ledger.
const ShareAssetPrefix = "SHR."

// ShareAsset is the ledger's asset code of a product's shares (SHR.prd_bond): two
// decimals, the hundredths of a share.
func ShareAsset(productID string) Currency { return Currency(ShareAssetPrefix + productID) }

// ShareProduct is the product whose shares the asset code counts, and whether c is
// a share asset code at all.
func (c Currency) ShareProduct() (string, bool) {
	p, ok := strings.CutPrefix(string(c), ShareAssetPrefix)
	return p, ok && ValidProductID(p)
}

// ValidAsset reports whether the ledger may hold c: a supported currency or a
// product's shares.
func (c Currency) ValidAsset() bool {
	_, share := c.ShareProduct()
	return share || c.Valid()
}

// ValidProductID: 1-24 lowercase letters, digits and underscores (prd_bond).
func ValidProductID(p string) bool {
	if p == "" || len(p) > 24 {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// NAVScale is the denominator of a NAV (ten-thousandths).
const NAVScale = 10_000

// ErrFundMath is an input the fund arithmetic refuses (negative, or a NAV of 0).
var ErrFundMath = errors.New("invalid fund amount")

// MarketValue is what shares (hundredths) are worth at nav (ten-thousandths) in
// minor units of a two-decimal currency, rounded down: shares/100 × nav/10^4 major
// units = shares × nav / 10^4 minor units. The product is taken in 128 bits.
func MarketValue(shares, nav int64) (int64, error) {
	if shares < 0 || nav < 0 {
		return 0, fmt.Errorf("%w: shares %d at nav %d", ErrFundMath, shares, nav)
	}
	hi, lo := bits.Mul64(uint64(shares), uint64(nav))
	if hi >= NAVScale {
		return 0, ErrOverflow
	}
	q, _ := bits.Div64(hi, lo, NAVScale)
	if q > uint64(MaxAmount) {
		return 0, ErrOverflow
	}
	return int64(q), nil
}
