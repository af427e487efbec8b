package models

import "time"

// TopupStatus is the lifecycle state of a top-up.
type TopupStatus string

// Top-up statuses.
const (
	TopupProcessing TopupStatus = "processing"
	TopupSucceeded  TopupStatus = "succeeded"
	TopupFailed     TopupStatus = "failed"
)

// Topup charges a card to credit a customer wallet.
type Topup struct {
	ID          string        `json:"id"`
	Object      string        `json:"object"`
	MerchantID  string        `json:"merchant_id"`
	AccountID   string        `json:"account_id"`
	Amount      int64         `json:"amount"`
	Currency    Currency      `json:"currency"`
	Source      PaymentSource `json:"source"`
	Channel     string        `json:"channel"`
	Status      TopupStatus   `json:"status"`
	FailureCode FailureCode   `json:"failure_code,omitempty"`
	NotifyURL   string        `json:"notify_url,omitempty"`
	WorkflowID  string        `json:"workflow_id"`
	CreatedAt   time.Time     `json:"created"`
	UpdatedAt   time.Time     `json:"updated"`
}

// TopupInput starts a top-up workflow.
type TopupInput struct {
	TopupID    string   `json:"topup_id"`
	MerchantID string   `json:"merchant_id"`
	AccountID  string   `json:"account_id"`
	Amount     int64    `json:"amount"`
	Currency   Currency `json:"currency"`
	Token      string   `json:"token"`
	Channel    string   `json:"channel"`
	NotifyURL  string   `json:"notify_url,omitempty"`
	BankTiming
}

// TopupResult is how a top-up ended.
type TopupResult struct {
	Status      TopupStatus `json:"status"`
	FailureCode FailureCode `json:"failure_code,omitempty"`
	Channel     string      `json:"channel,omitempty"`
	JournalID   string      `json:"journal_id,omitempty"`
}

// FinalizeTopupInput records the end of a top-up: on success the journal that moves
// the charged money from bank clearing into the wallet, and the status, together.
type FinalizeTopupInput struct {
	TopupID     string      `json:"topup_id"`
	MerchantID  string      `json:"merchant_id"`
	AccountID   string      `json:"account_id"`
	Amount      int64       `json:"amount"`
	Currency    Currency    `json:"currency"`
	Channel     string      `json:"channel"`
	Status      TopupStatus `json:"status"`
	FailureCode FailureCode `json:"failure_code,omitempty"`
	PostingKey  string      `json:"posting_key"`
}
