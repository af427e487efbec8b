package models

// The failure vocabulary that HTTP, workflows and activities share: the failure codes
// of the API, and the types of the Temporal ApplicationErrors that activities and
// workflows fail with. Recorded histories carry these type strings: they never change.
//
// An activity fails with a business failure as a non-retryable ApplicationError whose
// type is the failure code, and with an infrastructure outcome as an ApplicationError
// of one of the ErrType types below, retried by the activity's policy unless the type
// says it is not.

// FailureCode says why an object ended failed. The codes are part of the API contract
// and also the type names of the non-retryable Temporal ApplicationErrors that carry
// them through workflows.
type FailureCode string

// Failure codes of the API (docs/api.md), plus the compensation codes of flows that undo a step.
const (
	FailureNone              FailureCode = ""
	FailureCardDeclined      FailureCode = "card_declined"
	FailureInsufficientFunds FailureCode = "insufficient_funds"
	// FailureInsufficientWithdrawable: the wallet has the money, but part of it was
	// topped up within the merchant's withdrawal delay.
	FailureInsufficientWithdrawable FailureCode = "insufficient_withdrawable_funds"
	FailureAccountClosed            FailureCode = "account_closed"
	FailureBankUnavailable          FailureCode = "bank_unavailable"
	FailureExpired                  FailureCode = "expired"
	FailureLedgerRejected           FailureCode = "ledger_rejected"
	FailureMerchantDisabled         FailureCode = "merchant_disabled"
	FailureCanceled                 FailureCode = "canceled"
	FailureRejected                 FailureCode = "rejected"
	// FailureCustomerNotConfirmed: a payment that needed the customer's
	// confirmation did not get it in time; nothing moved.
	FailureCustomerNotConfirmed FailureCode = "customer_not_confirmed"
	// FailureCodeUsed and FailureCodeExpired: a wallet provider refused the
	// customer's payment code as used or expired.
	FailureCodeUsed    FailureCode = "code_used"
	FailureCodeExpired FailureCode = "code_expired"
)

// BusinessErrorTypes are the types of the business failures a bank or ledger step
// answers. Never retried: retrying a declined card or a refused posting would only
// fail again (or worse, act twice).
func BusinessErrorTypes() []string {
	return []string{
		string(FailureCardDeclined),
		string(FailureInsufficientFunds),
		string(FailureAccountClosed),
		string(FailureMerchantDisabled),
		ErrTypeLedgerRejected,
	}
}

// Error types of bank and ledger steps that a workflow tells apart.
const (
	// ErrTypeBankUnavailable (retried): the bank refused before acting, and no
	// earlier attempt may have acted. Safe to fail the payment bank_unavailable, or
	// to try another channel.
	ErrTypeBankUnavailable = string(FailureBankUnavailable)
	// ErrTypeUnknownOutcome (retried): the bank may have acted (timeout, reset, 5xx
	// after sending) and a query could not tell. Never charge again before a query
	// answers.
	ErrTypeUnknownOutcome = "unknown_outcome"
	// ErrTypeNotCancelable (not retried): the bank cannot stop a transfer; it may
	// still execute.
	ErrTypeNotCancelable = "not_cancelable"
	// ErrTypeNoRoute (not retried): no channel of the router takes the transfer.
	ErrTypeNoRoute = "no_route"
	// ErrTypeLedgerRejected (not retried): the ledger refused a posting (a rule, not
	// an outage).
	ErrTypeLedgerRejected = string(FailureLedgerRejected)
	// ErrTypeDatabase (retried): the database failed.
	ErrTypeDatabase = "database"
)

// Error types of flows' input and of reconciliation.
const (
	// ErrTypeInvalidInput (not retried): a flow's input, or the day or channel a
	// reconciliation names, is not valid.
	ErrTypeInvalidInput = "invalid_input"
	// ErrTypeStatementUnreadable (not retried): the statement is not the contract's
	// CSV, or our records do not come in the order the merge needs.
	ErrTypeStatementUnreadable = "statement_unreadable"
	// ErrTypeTemporal (retried): Temporal did not take a start.
	ErrTypeTemporal = "temporal"
	// ErrTypeInterrupted (retried): a pass stopped half-way (the bank's stream, the
	// database or the disk); the retry resumes it.
	ErrTypeInterrupted = "interrupted"
	// ErrTypeTimeout and ErrTypeFailed are the types of a failed reconciliation run
	// whose failure was a timeout or not an ApplicationError (a canceled run is
	// FailureCanceled).
	ErrTypeTimeout = "timeout"
	ErrTypeFailed  = "failed"
	// ErrTypeSweepIncomplete (retried): a sweep could not start a flow or record its
	// mark; the retry goes on from the marks recorded.
	ErrTypeSweepIncomplete = "sweep_incomplete"
)

// Error types of webhook events and their delivery. Only ErrTypeWebhookFailed is
// retried: the others would fail the same way on every attempt.
const (
	// ErrTypeWebhookFailed: the endpoint answered something other than a 2xx, or
	// could not be reached. Retried with backoff for the delivery window.
	ErrTypeWebhookFailed = "webhook_failed"
	// ErrTypeWebhookRefused: the notify_url or the address it resolved to is refused
	// by the outbound policy (not http(s), loopback, private, ...).
	ErrTypeWebhookRefused = "webhook_refused"
	// ErrTypeWebhookGone: the endpoint answered 410 Gone, which says the resource is
	// gone for good; the merchant can redeliver once it is back.
	ErrTypeWebhookGone = "webhook_gone"
	// ErrTypeEventNotFound: the event to deliver is not stored (or not the merchant's).
	ErrTypeEventNotFound = "event_not_found"
	// ErrTypeInvalidEvent: an event that cannot be stored or sent as asked (an
	// unknown type, an object of another kind, an object that does not exist).
	ErrTypeInvalidEvent = "invalid_event"
)
