package models

import "time"

// BoundCardStatus is where a card's binding to a wallet is.
type BoundCardStatus string

// Bound card statuses: pending_otp until the customer types the bank's code, then
// active (a source and destination of the wallet's money) until removed.
const (
	BoundCardPendingOTP BoundCardStatus = "pending_otp"
	BoundCardActive     BoundCardStatus = "active"
	BoundCardFailed     BoundCardStatus = "failed"
	BoundCardRemoved    BoundCardStatus = "removed"
)

// Failure codes of identity flows.
const (
	FailureVerificationFailed  FailureCode = "verification_failed"
	FailureUnsupportedCard     FailureCode = "unsupported_card"
	FailureOTPAttemptsExceeded FailureCode = "otp_attempts_exceeded"
	FailureOTPExpired          FailureCode = "otp_expired"
	FailureNoRecord            FailureCode = "no_record"
	FailureBureauUnavailable   FailureCode = "bureau_unavailable"
	FailureCardRemoved         FailureCode = "card_removed"
)

// Binding limits: three wrong codes or five minutes end a binding.
const (
	OTPAttempts = 3
	OTPWindow   = 5 * time.Minute
)

// SourceBoundCard is a card bound to the payment's or top-up's wallet.
const SourceBoundCard SourceType = "bound_card"

// BoundCardChannel is the channel of the bank that keeps bound cards' agreements.
const BoundCardChannel = "banksim"

// BoundCard is a card bound to a wallet, as the merchant API shows it.
type BoundCard struct {
	ID           string          `json:"id"`
	Object       string          `json:"object"`
	AccountID    string          `json:"account_id"`
	Status       BoundCardStatus `json:"status"`
	FailureCode  FailureCode     `json:"failure_code,omitempty"`
	CardNumber   string          `json:"card_number"`
	Name         string          `json:"name"`
	IDNumber     string          `json:"id_number"`
	Phone        string          `json:"phone"`
	Card         CardInfo        `json:"card"`
	AttemptsLeft int             `json:"attempts_left,omitempty"`
	CreatedAt    time.Time       `json:"created"`
}

// CardBindingInput starts a card binding flow; Identity is personal data, encrypted
// in the history by the payload codec.
type CardBindingInput struct {
	CardID     string        `json:"card_id"`
	MerchantID string        `json:"merchant_id"`
	AccountID  string        `json:"account_id"`
	Identity   Identity      `json:"identity"`
	OTPWindow  time.Duration `json:"otp_window"`
}

// ConfirmCard is a customer's one-time code for a binding (the confirm Update).
type ConfirmCard struct {
	OTP string `json:"otp"`
}

// ConfirmCardResult answers a confirm Update: the binding's status after the code,
// and how many tries are left when it was wrong.
type ConfirmCardResult struct {
	Status       BoundCardStatus `json:"status"`
	Correct      bool            `json:"correct"`
	AttemptsLeft int             `json:"attempts_left"`
	FailureCode  FailureCode     `json:"failure_code,omitempty"`
}

// CardBindingResult is how a binding flow ended (active cards end when removed).
type CardBindingResult struct {
	Status      BoundCardStatus `json:"status"`
	FailureCode FailureCode     `json:"failure_code,omitempty"`
}

// BindingState is a binding's state at the bank.
type BindingState struct {
	Status           string    `json:"status"`
	Reason           string    `json:"reason,omitempty"`
	AgreementNo      string    `json:"agreement_no,omitempty"`
	OTPExpiresAt     time.Time `json:"otp_expires_at,omitzero"`
	Card             CardInfo  `json:"card"`
	MismatchedFields []string  `json:"mismatched_fields,omitempty"`
}
