package models

import "time"

// PaymentSource is where a payment takes its money from: a card token charged through
// a bank channel, or a customer wallet of the same merchant.
type PaymentSource struct {
	Type      SourceType `json:"type"`
	Token     string     `json:"token,omitempty"`
	AccountID string     `json:"account_id,omitempty"`
	// Code is a payment code as the API shows it once used: masked
	// (MaskPaymentCode), never the whole code.
	Code string `json:"code,omitempty"`
	// CardID is a card bound to one of the merchant's wallets (type bound_card);
	// Token then carries its bank agreement in a flow's input only, never in an
	// answer or a row.
	CardID string `json:"card_id,omitempty"`
}

// Wallet says whether the source pays from one of payflow's wallets (an account
// source, or a wallet's payment code): the payment moves money inside the ledger.
func (s PaymentSource) Wallet() bool {
	return s.AccountID != "" && (s.Type == SourceAccount || s.Type == SourcePaymentCode)
}

// Payment is a merchant's request to collect money, as the API shows it.
type Payment struct {
	ID         string        `json:"id"`
	Object     string        `json:"object"`
	MerchantID string        `json:"merchant_id"`
	Amount     int64         `json:"amount"`
	Currency   Currency      `json:"currency"`
	Source     PaymentSource `json:"source"`
	Channel    string        `json:"channel,omitempty"`
	Status     PaymentStatus `json:"status"`
	// ConfirmationRequired: a wallet code payment over the merchant's
	// no_password_limit, which moves money only once the wallet's owner confirms it.
	ConfirmationRequired bool `json:"confirmation_required,omitempty"`
	// NextAction is what the merchant does next: show the QR code of a QR payment
	// while it waits for its customer.
	NextAction     *NextAction       `json:"next_action,omitempty"`
	FailureCode    FailureCode       `json:"failure_code,omitempty"`
	Fee            int64             `json:"fee"`
	AmountRefunded int64             `json:"amount_refunded"`
	Description    string            `json:"description,omitempty"`
	NotifyURL      string            `json:"notify_url,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	WorkflowID     string            `json:"workflow_id"`
	CreatedAt      time.Time         `json:"created"`
	UpdatedAt      time.Time         `json:"updated"`
}
