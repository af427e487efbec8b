package models

import "time"

// Prefixes of the identity objects' ids.
const (
	PrefixVerification = "ver_"
	PrefixBoundCard    = "card_"
	PrefixCreditReport = "cr_"
	PrefixReportRead   = "crr_"
)

// Flows of the identity services.
const (
	FlowVerification Flow = "verification"
	FlowCardBinding  Flow = "card_binding"
	FlowCreditReport Flow = "credit_report"
)

// Default per-call prices of a merchant, in minor units of its default currency.
const (
	DefaultVerificationFee       = 50
	DefaultVerificationCachedFee = 10
	DefaultCreditReportFee       = 300
	DefaultCreditReportReuseFee  = 0
)

// DefaultVerificationCacheTTL is how long a bank's answer for the same elements is
// answered from the cache (PAYFLOW_VERIFICATION_CACHE_TTL).
const DefaultVerificationCacheTTL = 24 * time.Hour

// VerificationResult is the bank's answer to a verification.
type VerificationResult string

// Verification results.
const (
	VerificationMatch    VerificationResult = "match"
	VerificationMismatch VerificationResult = "mismatch"
)

// VerificationStatus is where a verification is: processing until the bank has
// answered and the fee is booked.
type VerificationStatus string

// Verification statuses.
const (
	VerificationProcessing VerificationStatus = "processing"
	VerificationSucceeded  VerificationStatus = "succeeded"
	VerificationFailed     VerificationStatus = "failed"
)

// Identity elements, as mismatched_fields names them.
const (
	FieldCardNumber = "card_number"
	FieldName       = "name"
	FieldIDNumber   = "id_number"
	FieldPhone      = "phone"
)

// CardInfo is what the bank tells of a card: never its number.
type CardInfo struct {
	Bank     string `json:"bank,omitempty"`
	CardType string `json:"card_type,omitempty"`
	Last4    string `json:"last4,omitempty"`
}

// Identity is a person's elements as a merchant sends them: personal data, which
// travels only inside encrypted flow inputs and is stored sealed.
type Identity struct {
	CardNumber string `json:"card_number"`
	Name       string `json:"name"`
	IDNumber   string `json:"id_number,omitempty"`
	Phone      string `json:"phone,omitempty"`
}

// Elements is how many elements the identity carries (2, 3 or 4).
func (i Identity) Elements() int {
	n := 2
	if i.IDNumber != "" {
		n++
	}
	if i.Phone != "" {
		n++
	}
	return n
}

// MaskedIdentity is an identity as answers, lists and logs show it.
type MaskedIdentity struct {
	CardNumber string `json:"card_number,omitempty"`
	Name       string `json:"name,omitempty"`
	IDNumber   string `json:"id_number,omitempty"`
	Phone      string `json:"phone,omitempty"`
}

// Masked answers the identity with every element masked.
func (i Identity) Masked() MaskedIdentity {
	m := MaskedIdentity{Name: MaskName(i.Name)}
	if i.CardNumber != "" {
		m.CardNumber = MaskCardNumber(i.CardNumber)
	}
	if i.IDNumber != "" {
		m.IDNumber = MaskIDNumber(i.IDNumber)
	}
	if i.Phone != "" {
		m.Phone = MaskPhone(i.Phone)
	}
	return m
}

// Verification is a bank-card verification as the merchant API shows it.
type Verification struct {
	ID               string             `json:"id"`
	Object           string             `json:"object"`
	Type             string             `json:"type"`
	Status           VerificationStatus `json:"status"`
	Result           VerificationResult `json:"result,omitempty"`
	MismatchedFields []string           `json:"mismatched_fields"`
	FailureCode      FailureCode        `json:"failure_code,omitempty"`
	Card             CardInfo           `json:"card"`
	Elements         MaskedIdentity     `json:"elements"`
	Cached           bool               `json:"cached"`
	Fee              int64              `json:"fee"`
	Currency         Currency           `json:"currency"`
	CreatedAt        time.Time          `json:"created"`
}

// VerificationAnswer is a bank's answer for a set of elements: what the cache keeps
// (keyed by an HMAC of the elements) and what a flow records.
type VerificationAnswer struct {
	Result           VerificationResult `json:"result"`
	MismatchedFields []string           `json:"mismatched_fields,omitempty"`
	Card             CardInfo           `json:"card"`
}

// VerificationInput starts a verification flow. Identity is personal data: the
// payload codec encrypts it in the history.
type VerificationInput struct {
	VerificationID string   `json:"verification_id"`
	MerchantID     string   `json:"merchant_id"`
	Identity       Identity `json:"identity"`
	Currency       Currency `json:"currency"`
	// Fee is the price of an answer from the bank, CachedFee of one from the cache.
	Fee       int64 `json:"fee"`
	CachedFee int64 `json:"cached_fee"`
	// CacheKey is the HMAC of the elements the bank's answer is cached under: the
	// flow's first step looks it up (an answer found costs CachedFee and asks no
	// bank), its last stores the bank's answer there.
	CacheKey string        `json:"cache_key"`
	CacheTTL time.Duration `json:"cache_ttl"`
}

// VerificationOutcome is how a verification flow ended.
type VerificationOutcome struct {
	Status      VerificationStatus  `json:"status"`
	Answer      *VerificationAnswer `json:"answer,omitempty"`
	FailureCode FailureCode         `json:"failure_code,omitempty"`
	Cached      bool                `json:"cached"`
	Fee         int64               `json:"fee"`
}
