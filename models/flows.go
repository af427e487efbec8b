package models

import "time"

// PaymentInput starts a payment workflow. It carries everything the flow needs, so
// that the workflow never reads the database to learn what it was asked to do.
type PaymentInput struct {
	PaymentID  string        `json:"payment_id"`
	MerchantID string        `json:"merchant_id"`
	Amount     int64         `json:"amount"`
	Currency   Currency      `json:"currency"`
	Source     PaymentSource `json:"source"`
	Channel    string        `json:"channel"`
	NotifyURL  string        `json:"notify_url,omitempty"`
	// ConfirmationRequired: the flow waits up to ConfirmWithin for the wallet
	// owner's confirmation before it moves money (the starter sets ConfirmWithin
	// from configuration).
	ConfirmationRequired bool          `json:"confirmation_required,omitempty"`
	ConfirmWithin        time.Duration `json:"confirm_within,omitempty"`
	// QRExpiresAt is when a QR payment's code stops being offered: the flow closes
	// the trade at its provider then.
	QRExpiresAt time.Time `json:"qr_expires_at,omitzero"`
	BankTiming
}

// BankTiming is how a flow waits for its bank, in every money flow's input (its
// fields are the input's own in JSON). The values come from configuration at start,
// so that a change of configuration never changes a running flow's history.
type BankTiming struct {
	// BankPoll is how long a processing transfer waits for the bank's callback before
	// the first query (then doubling, up to an hour); BankDeadline is when a flow asks
	// a bank that has not decided to cancel.
	BankPoll     time.Duration `json:"bank_poll"`
	BankDeadline time.Duration `json:"bank_deadline"`
	// BankDeadlines overrides BankDeadline per channel and kind of transfer (key
	// BankDeadlineKey: a Stripe payout's deadline is days, a card charge's hours).
	BankDeadlines map[string]time.Duration `json:"bank_deadlines,omitempty"`
}

// Or returns t with each unset setting taken from def.
func (t BankTiming) Or(def BankTiming) BankTiming {
	if t.BankPoll == 0 {
		t.BankPoll = def.BankPoll
	}
	if t.BankDeadline == 0 {
		t.BankDeadline = def.BankDeadline
	}
	if t.BankDeadlines == nil {
		t.BankDeadlines = def.BankDeadlines
	}
	return t
}

// BankCallback is a bank's signed notice that a transfer changed state, delivered
// to the waiting flow as a signal.
type BankCallback struct {
	Reference   string      `json:"reference"`
	Channel     string      `json:"channel"`
	Status      BankStatus  `json:"status"`
	FailureCode FailureCode `json:"failure_code,omitempty"`
	EventID     string      `json:"event_id,omitempty"`
}

// PaymentResult is how a payment workflow ended.
type PaymentResult struct {
	Status      PaymentStatus `json:"status"`
	FailureCode FailureCode   `json:"failure_code,omitempty"`
	Channel     string        `json:"channel,omitempty"`
	JournalID   string        `json:"journal_id,omitempty"`
}

// FlowState answers the `state` query of every flow: where it is, how often it has
// tried its current step, and the last error it saw.
type FlowState struct {
	Flow        Flow        `json:"flow"`
	ObjectID    string      `json:"object_id"`
	Stage       Stage       `json:"stage"`
	Status      string      `json:"status"`
	Channel     string      `json:"channel,omitempty"`
	Attempts    int         `json:"attempts"`
	LastError   string      `json:"last_error,omitempty"`
	FailureCode FailureCode `json:"failure_code,omitempty"`
}

// ChargeInput asks a bank channel to charge a card. Reference is the payment id: the
// bank's idempotency key. FirstSend is set by the flow when no earlier request of the
// reference can be at any bank (this is its first send, or every earlier one was
// refused before acting): only then may the activity refuse a disabled merchant's
// charge without calling the bank. Flows that predate it leave it false.
type ChargeInput struct {
	Reference  string   `json:"reference"`
	MerchantID string   `json:"merchant_id"`
	Amount     int64    `json:"amount"`
	Currency   Currency `json:"currency"`
	Token      string   `json:"token"`
	Channel    string   `json:"channel"`
	FirstSend  bool     `json:"first_send,omitempty"`
}

// ChargeResult is the bank's answer to a charge (or to a query about it, or to a
// cancel). Amount and Currency are what the bank says it moved (or will move); zero
// when the bank's answer does not say, as in results recorded before they existed.
type ChargeResult struct {
	Status      BankStatus  `json:"status"`
	FailureCode FailureCode `json:"failure_code,omitempty"`
	Channel     string      `json:"channel"`
	BankID      string      `json:"bank_id,omitempty"`
	Amount      int64       `json:"amount,omitempty"`
	Currency    Currency    `json:"currency,omitempty"`
	// CheckoutURL is, for a wallet provider's trade just opened (OpenTrade), its
	// checkout page.
	CheckoutURL string `json:"checkout_url,omitempty"`
}

// OpenTradeInput opens a QR payment's trade at the wallet provider it bound to.
type OpenTradeInput struct {
	Reference  string   `json:"reference"`
	MerchantID string   `json:"merchant_id"`
	Amount     int64    `json:"amount"`
	Currency   Currency `json:"currency"`
	Channel    string   `json:"channel"`
}

// QueryTransferInput asks a channel for the state of the transfer with our reference
// (CancelTransfer takes the same input: stop that transfer for good).
type QueryTransferInput struct {
	Reference string `json:"reference"`
	Channel   string `json:"channel"`
}

// RouteInput asks the router which channels, in order, a transfer may go to.
type RouteInput struct {
	MerchantID string   `json:"merchant_id"`
	Amount     int64    `json:"amount"`
	Currency   Currency `json:"currency"`
}

// RouteResult lists the channels of a route, in the order they are tried.
type RouteResult struct {
	Channels []string `json:"channels"`
}

// Transfer kinds, as bank deadlines are keyed (see BankDeadlineKey).
const (
	TransferCharge = "charge"
	TransferRefund = "refund"
	TransferPayout = "payout"
)

// BankDeadlineKey is the key of a channel's deadline for a kind of transfer in a
// flow input's BankDeadlines ("stripe.payout").
func BankDeadlineKey(channel, kind string) string { return channel + "." + kind }

// FinalizePaymentInput records the end of a payment: for a success, the balanced
// journal (bank clearing debit, merchant settlement credit, fee) and the status, in one
// database transaction; for a failure, the status and failure code.
type FinalizePaymentInput struct {
	PaymentID   string        `json:"payment_id"`
	MerchantID  string        `json:"merchant_id"`
	Amount      int64         `json:"amount"`
	Currency    Currency      `json:"currency"`
	Channel     string        `json:"channel"`
	Source      PaymentSource `json:"source"`
	Status      PaymentStatus `json:"status"`
	FailureCode FailureCode   `json:"failure_code,omitempty"`
	// PostingKey is the ledger idempotency key (payment/<id>/capture): a second run
	// finds the first journal.
	PostingKey string `json:"posting_key"`
}

// FinalizePaymentResult says which journal recorded the payment, if any.
type FinalizePaymentResult struct {
	JournalID   string        `json:"journal_id,omitempty"`
	Fee         int64         `json:"fee"`
	Status      PaymentStatus `json:"status"`
	FailureCode FailureCode   `json:"failure_code,omitempty"`
}
