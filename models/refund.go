package models

import "time"

// RefundStatus is the lifecycle state of a refund.
type RefundStatus string

// Refund statuses.
const (
	RefundProcessing RefundStatus = "processing"
	RefundSucceeded  RefundStatus = "succeeded"
	RefundFailed     RefundStatus = "failed"
)

// Refund gives part or all of a succeeded payment back.
type Refund struct {
	ID          string       `json:"id"`
	Object      string       `json:"object"`
	MerchantID  string       `json:"merchant_id"`
	PaymentID   string       `json:"payment_id"`
	Amount      int64        `json:"amount"`
	Currency    Currency     `json:"currency"`
	Channel     string       `json:"channel"`
	Status      RefundStatus `json:"status"`
	FailureCode FailureCode  `json:"failure_code,omitempty"`
	NotifyURL   string       `json:"notify_url,omitempty"`
	WorkflowID  string       `json:"workflow_id"`
	CreatedAt   time.Time    `json:"created"`
	UpdatedAt   time.Time    `json:"updated"`
}

// RefundInput starts a refund workflow.
type RefundInput struct {
	RefundID   string        `json:"refund_id"`
	PaymentID  string        `json:"payment_id"`
	MerchantID string        `json:"merchant_id"`
	Amount     int64         `json:"amount"`
	Currency   Currency      `json:"currency"`
	Channel    string        `json:"channel"`
	Source     PaymentSource `json:"source"`
	NotifyURL  string        `json:"notify_url,omitempty"`
	BankTiming
}

// RefundResult is how a refund ended.
type RefundResult struct {
	Status      RefundStatus `json:"status"`
	FailureCode FailureCode  `json:"failure_code,omitempty"`
	JournalID   string       `json:"journal_id,omitempty"`
}

// RefundAtBankInput asks the channel that took a charge to refund part of it.
type RefundAtBankInput struct {
	Reference       string   `json:"reference"`
	ChargeReference string   `json:"charge_reference"`
	MerchantID      string   `json:"merchant_id"`
	Amount          int64    `json:"amount"`
	Currency        Currency `json:"currency"`
	Channel         string   `json:"channel"`
}

// FinalizeRefundInput ends a refund: on success the hold on the merchant's settlement
// account is settled with the reversing journal and the payment's refunded amount
// grows; otherwise the hold is released and the reservation given back.
type FinalizeRefundInput struct {
	RefundID    string        `json:"refund_id"`
	PaymentID   string        `json:"payment_id"`
	MerchantID  string        `json:"merchant_id"`
	HoldID      string        `json:"hold_id,omitempty"`
	Amount      int64         `json:"amount"`
	Currency    Currency      `json:"currency"`
	Channel     string        `json:"channel"`
	Source      PaymentSource `json:"source"`
	Status      RefundStatus  `json:"status"`
	FailureCode FailureCode   `json:"failure_code,omitempty"`
	PostingKey  string        `json:"posting_key"`
}
