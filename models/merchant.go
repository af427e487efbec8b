package models

import "time"

// DefaultWithdrawalDelay is a new merchant's withdrawal delay, MaxWithdrawalDelay the
// longest one may set.
const (
	DefaultWithdrawalDelay = 24 * time.Hour
	MaxWithdrawalDelay     = 30 * 24 * time.Hour
)

// MerchantStatus says whether a merchant may move money.
type MerchantStatus string

// Merchant statuses.
const (
	MerchantActive   MerchantStatus = "active"
	MerchantDisabled MerchantStatus = "disabled"
)

// Merchant is a payflow customer: a business whose backend calls the API.
type Merchant struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	FeeBps          int64    `json:"fee_bps"`
	ReviewThreshold int64    `json:"review_threshold"`
	DefaultCurrency Currency `json:"default_currency"`
	// WithdrawalLimitPerTransaction is the most one withdrawal may move, and
	// WithdrawalLimitDaily the most a wallet's withdrawals may move in one UTC day
	// (those not failed or canceled), in minor units; nil: no limit.
	WithdrawalLimitPerTransaction *int64 `json:"withdrawal_limit_per_transaction,omitempty"`
	WithdrawalLimitDaily          *int64 `json:"withdrawal_limit_daily,omitempty"`
	// WithdrawalDelaySeconds is how long money topped up by card into a wallet stays
	// out of what the wallet may withdraw (0: withdrawable at once).
	WithdrawalDelaySeconds int64 `json:"withdrawal_delay"`
	// NoPasswordLimit is the largest wallet code payment that needs no confirmation
	// by the wallet's owner (minor units; DefaultNoPasswordLimit when created with 0).
	NoPasswordLimit int64 `json:"no_password_limit"`
	// Prices are the merchant's per-call prices of the identity services.
	Prices
	// NotifyURL is where webhooks of the merchant's objects created without a
	// notify_url go ("" for none).
	NotifyURL string         `json:"notify_url,omitempty"`
	Status    MerchantStatus `json:"status"`
	// OldSecretExpiresAt is, while a secret rotation overlaps, when the previous
	// secret stops being accepted.
	OldSecretExpiresAt *time.Time `json:"old_secret_expires_at,omitempty"`
	// WebhookSigning says which secret signs the merchant's webhooks (read only).
	WebhookSigning WebhookSigning `json:"webhook_signing"`
	CreatedAt      time.Time      `json:"created"`
}

// WebhookSigning is the secret a merchant's webhooks are signed with.
type WebhookSigning string

// The secrets a merchant's webhooks may be signed with.
const (
	// WebhookSigningWebhookSecret: its own webhook signing secret (whsec_...), what
	// every merchant created since webhook secrets has.
	WebhookSigningWebhookSecret WebhookSigning = "webhook_secret"
	// WebhookSigningAPISecret: its API secret, for a merchant created before webhook
	// secrets, until an operator first rotates its webhook secret.
	WebhookSigningAPISecret WebhookSigning = "api_secret"
)

// MerchantUpdate is a change of a merchant's settings after onboarding: a nil field
// keeps its value. A withdrawal limit changes when its Set flag is on, to its value
// (nil: no limit).
type MerchantUpdate struct {
	FeeBps                 *int64
	ReviewThreshold        *int64
	WithdrawalDelaySeconds *int64
	NoPasswordLimit        *int64
	VerificationFee        *int64
	VerificationCachedFee  *int64
	CreditReportFee        *int64
	CreditReportReuseFee   *int64
	// NotifyURL "" removes it.
	NotifyURL *string

	SetWithdrawalLimitPerTransaction bool
	WithdrawalLimitPerTransaction    *int64
	SetWithdrawalLimitDaily          bool
	WithdrawalLimitDaily             *int64
}

// Empty says the update changes nothing.
func (u MerchantUpdate) Empty() bool {
	return u.FeeBps == nil && u.ReviewThreshold == nil && u.WithdrawalDelaySeconds == nil && u.NotifyURL == nil && u.NoPasswordLimit == nil &&
		u.VerificationFee == nil && u.VerificationCachedFee == nil && u.CreditReportFee == nil && u.CreditReportReuseFee == nil &&
		!u.SetWithdrawalLimitPerTransaction && !u.SetWithdrawalLimitDaily
}

// Apply answers m with the update's settings.
func (u MerchantUpdate) Apply(m Merchant) Merchant {
	if u.FeeBps != nil {
		m.FeeBps = *u.FeeBps
	}
	if u.ReviewThreshold != nil {
		m.ReviewThreshold = *u.ReviewThreshold
	}
	if u.WithdrawalDelaySeconds != nil {
		m.WithdrawalDelaySeconds = *u.WithdrawalDelaySeconds
	}
	if u.NoPasswordLimit != nil {
		m.NoPasswordLimit = *u.NoPasswordLimit
	}
	if u.NotifyURL != nil {
		m.NotifyURL = *u.NotifyURL
	}
	for _, f := range []struct {
		v   *int64
		dst *int64
	}{{u.VerificationFee, &m.VerificationFee}, {u.VerificationCachedFee, &m.VerificationCachedFee},
		{u.CreditReportFee, &m.CreditReportFee}, {u.CreditReportReuseFee, &m.CreditReportReuseFee}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if u.SetWithdrawalLimitPerTransaction {
		m.WithdrawalLimitPerTransaction = u.WithdrawalLimitPerTransaction
	}
	if u.SetWithdrawalLimitDaily {
		m.WithdrawalLimitDaily = u.WithdrawalLimitDaily
	}
	return m
}

// Prices are a merchant's per-call prices of the identity services, in minor units of
// its default currency: each booked once, from its settlement account to fees.
type Prices struct {
	// VerificationFee is a verification the bank answered, VerificationCachedFee one
	// answered from the cache.
	VerificationFee       int64 `json:"verification_fee"`
	VerificationCachedFee int64 `json:"verification_cached_fee"`
	// CreditReportFee is a report the bureau was queried for, CreditReportReuseFee
	// one answered with a report the merchant already had.
	CreditReportFee      int64 `json:"credit_report_fee"`
	CreditReportReuseFee int64 `json:"credit_report_reuse_fee"`
}

// DefaultPrices are a new merchant's prices unless set.
func DefaultPrices() Prices {
	return Prices{
		VerificationFee: DefaultVerificationFee, VerificationCachedFee: DefaultVerificationCachedFee,
		CreditReportFee: DefaultCreditReportFee, CreditReportReuseFee: DefaultCreditReportReuseFee,
	}
}
