package models

import "time"

// WithdrawalStatus is the lifecycle state of a withdrawal.
type WithdrawalStatus string

// Withdrawal statuses of the API (api/openapi.yaml).
const (
	WithdrawalProcessing      WithdrawalStatus = "processing"
	WithdrawalPendingApproval WithdrawalStatus = "pending_approval"
	WithdrawalSucceeded       WithdrawalStatus = "succeeded"
	WithdrawalFailed          WithdrawalStatus = "failed"
	WithdrawalCanceled        WithdrawalStatus = "canceled"
)

// Withdrawal pays money out of a customer wallet to a bank account.
type Withdrawal struct {
	ID          string           `json:"id"`
	Object      string           `json:"object"`
	MerchantID  string           `json:"merchant_id"`
	AccountID   string           `json:"account_id"`
	Amount      int64            `json:"amount"`
	Currency    Currency         `json:"currency"`
	Destination Destination      `json:"destination"`
	Channel     string           `json:"channel"`
	Status      WithdrawalStatus `json:"status"`
	FailureCode FailureCode      `json:"failure_code,omitempty"`
	Reason      string           `json:"reason,omitempty"`
	NotifyURL   string           `json:"notify_url,omitempty"`
	WorkflowID  string           `json:"workflow_id"`
	CreatedAt   time.Time        `json:"created"`
	UpdatedAt   time.Time        `json:"updated"`
}

// Destination is where a withdrawal sends money.
type Destination struct {
	BankAccount string `json:"bank_account,omitempty"`
	// BoundCard is a card bound to the withdrawal's wallet (the bank pays it
	// through the card's agreement).
	BoundCard string `json:"bound_card,omitempty"`
}

// WithdrawalInput starts a withdrawal workflow.
type WithdrawalInput struct {
	WithdrawalID string   `json:"withdrawal_id"`
	MerchantID   string   `json:"merchant_id"`
	AccountID    string   `json:"account_id"`
	Amount       int64    `json:"amount"`
	Currency     Currency `json:"currency"`
	BankAccount  string   `json:"bank_account"`
	Channel      string   `json:"channel"`
	NotifyURL    string   `json:"notify_url,omitempty"`
	// ReviewThreshold: an amount above it waits for an operator's approval (0: never).
	ReviewThreshold int64         `json:"review_threshold"`
	ApprovalTimeout time.Duration `json:"approval_timeout"`
	BankTiming
}

// WithdrawalResult is how a withdrawal ended.
type WithdrawalResult struct {
	Status      WithdrawalStatus `json:"status"`
	FailureCode FailureCode      `json:"failure_code,omitempty"`
	JournalID   string           `json:"journal_id,omitempty"`
}

// Decision is an operator's approve or reject of a pending withdrawal, sent as a
// Temporal Update so that the operator learns at once whether it was accepted.
type Decision struct {
	Operator string `json:"operator"`
	Reason   string `json:"reason,omitempty"`
}

// DecisionResult answers a Decision update.
type DecisionResult struct {
	Status WithdrawalStatus `json:"status"`
}

// PlaceHoldInput reserves wallet money for a withdrawal.
type PlaceHoldInput struct {
	Key string `json:"key"`
	// AccountID is the account to hold on; "" holds on the merchant's settlement
	// account in Currency (refunds).
	AccountID  string   `json:"account_id,omitempty"`
	MerchantID string   `json:"merchant_id"`
	Amount     int64    `json:"amount"`
	Currency   Currency `json:"currency"`
	Flow       Flow     `json:"flow"`
	FlowID     string   `json:"flow_id"`
}

// PlaceHoldResult is the hold placed, or why not.
type PlaceHoldResult struct {
	HoldID      string      `json:"hold_id,omitempty"`
	FailureCode FailureCode `json:"failure_code,omitempty"`
}

// PayoutInput asks a bank channel to pay out; Reference is the withdrawal id.
type PayoutInput struct {
	Reference   string   `json:"reference"`
	MerchantID  string   `json:"merchant_id"`
	Amount      int64    `json:"amount"`
	Currency    Currency `json:"currency"`
	BankAccount string   `json:"bank_account"`
	Channel     string   `json:"channel"`
}

// SetWithdrawalStatusInput records a withdrawal's (non-terminal) status.
type SetWithdrawalStatusInput struct {
	WithdrawalID string           `json:"withdrawal_id"`
	Status       WithdrawalStatus `json:"status"`
	// MerchantID, when set, refuses the status of a disabled merchant's withdrawal
	// (merchant_disabled). Flows that predate the stop of disabled merchants' flows
	// leave it empty.
	MerchantID string `json:"merchant_id,omitempty"`
}

// FinalizeWithdrawalInput ends a withdrawal: on success the hold is settled with the
// journal that moves the money to the bank clearing account; otherwise it is released.
type FinalizeWithdrawalInput struct {
	WithdrawalID string           `json:"withdrawal_id"`
	MerchantID   string           `json:"merchant_id"`
	AccountID    string           `json:"account_id"`
	HoldID       string           `json:"hold_id,omitempty"`
	Amount       int64            `json:"amount"`
	Currency     Currency         `json:"currency"`
	Channel      string           `json:"channel"`
	Status       WithdrawalStatus `json:"status"`
	FailureCode  FailureCode      `json:"failure_code,omitempty"`
	Reason       string           `json:"reason,omitempty"`
	PostingKey   string           `json:"posting_key"`
}
