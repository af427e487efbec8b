package models

// PaymentStatus is the lifecycle state of a payment as the API shows it.
type PaymentStatus string

// Payment statuses. processing is the only non-terminal one; partially_refunded and
// refunded follow succeeded.
const (
	PaymentProcessing        PaymentStatus = "processing"
	PaymentSucceeded         PaymentStatus = "succeeded"
	PaymentFailed            PaymentStatus = "failed"
	PaymentPartiallyRefunded PaymentStatus = "partially_refunded"
	PaymentRefunded          PaymentStatus = "refunded"
)

// Valid reports whether s is a known payment status.
func (s PaymentStatus) Valid() bool {
	switch s {
	case PaymentProcessing, PaymentSucceeded, PaymentFailed, PaymentPartiallyRefunded, PaymentRefunded:
		return true
	}
	return false
}

// Stage is where a flow is; it is the PayflowStage search attribute and part of the
// state query, so that operators can find flows by it.
type Stage string

// Stages of a flow, as operators see them (docs/operations.md).
const (
	StageValidating  Stage = "validating"
	StageCharging    Stage = "charging"
	StageWaitingBank Stage = "waiting_bank"
	// StageWaitingCustomer: the flow waits for the customer to confirm (a wallet
	// code payment over the merchant's no_password_limit).
	StageWaitingCustomer Stage = "waiting_customer"
	StagePosting         Stage = "posting"
	StagePendingApproval Stage = "pending_approval"
	StagePayingOut       Stage = "paying_out"
	StageNotifying       Stage = "notifying"
	StageCompensating    Stage = "compensating"
	// StageNeedsAttention: the bank may still move the money and the flow cannot
	// decide alone (the bank could not cancel at the deadline, or answered another
	// amount or currency than ours). The flow keeps its holds, polls at the longest
	// interval, books a late answer as it comes, and operators are alerted.
	StageNeedsAttention Stage = "needs_attention"
	StageDone           Stage = "done"
	// Reconciliation: matching is the one streaming pass (fetch, sort, compare,
	// store differences); reporting records the run's end.
	StageMatching  Stage = "matching"
	StageReporting Stage = "reporting"
)

// Flow names a kind of workflow; it is the PayflowFlow search attribute and the first
// segment of every workflow id.
type Flow string

// Flows of payflow.
const (
	FlowPayment        Flow = "payment"
	FlowTopup          Flow = "topup"
	FlowWithdrawal     Flow = "withdrawal"
	FlowRefund         Flow = "refund"
	FlowReconciliation Flow = "reconciliation"
	FlowWebhook        Flow = "webhook"
)

// SourceType says where the money of a payment comes from.
type SourceType string

// Source types.
const (
	SourceCard    SourceType = "card"
	SourceAccount SourceType = "account"
	// SourcePaymentCode is a code the customer's app shows and the merchant's
	// point of sale scans: 18 digits whose prefix names who holds the money
	// (PaymentCodeIssuer). A payflow wallet code pays from a wallet (AccountID).
	SourcePaymentCode SourceType = "payment_code"
	// SourceQR is a QR code the merchant shows and the customer's wallet app scans:
	// the payment binds to the first wallet provider whose app opens it.
	SourceQR SourceType = "qr"
)

// ChannelAuto is the routing channel: it picks a real channel per transfer and moves
// no money itself, so nothing is ever booked to its name.
const ChannelAuto = "auto"

// BankStatus is a bank's view of one transfer.
type BankStatus string

// Bank statuses. processing means the bank accepted the request and will decide later.
const (
	BankProcessing BankStatus = "processing"
	BankSucceeded  BankStatus = "succeeded"
	BankFailed     BankStatus = "failed"
	// BankCanceled is the bank's confirmation of a cancel: the reference never
	// executed and never will at this bank.
	BankCanceled BankStatus = "canceled"
	// BankNotFound is a query's answer for a reference the bank has not seen. It is
	// not proof that nothing will happen while a request of ours may still be on its
	// way: the flow sends again with the same reference, to the same bank.
	BankNotFound BankStatus = "not_found"
)

// Final reports whether the bank has decided: executed (succeeded), refused
// (failed), or confirmed that it never will (canceled).
func (s BankStatus) Final() bool { return s == BankSucceeded || s == BankFailed || s == BankCanceled }
