package models

import "time"

// PurgeInput is the action of the purge schedule: how long each kind of record is
// kept (PAYFLOW_RETENTION_*). A zero age of the kinds added after the first release
// (events, webhook attempts, audit, rate limits, bank callbacks) purges nothing of
// that kind, so that a run started with an older schedule's input deletes only
// what it did then.
type PurgeInput struct {
	// NonceMaxAge is how long a request's nonce is kept: more than twice the
	// signature tolerance (a nonce recorded at T may come back with a timestamp up
	// to T+tolerance, itself accepted until T+2*tolerance).
	NonceMaxAge time.Duration `json:"nonce_max_age"`
	// IdempotencyMaxAge is how long an idempotency key is kept (24 hours or more).
	IdempotencyMaxAge time.Duration `json:"idempotency_max_age"`
	// EventMaxAge is how long a webhook event is kept after its last delivery
	// attempt.
	EventMaxAge time.Duration `json:"event_max_age,omitempty"`
	// WebhookAttemptMaxAge is how long a failed attempt that decides nothing is kept.
	WebhookAttemptMaxAge time.Duration `json:"webhook_attempt_max_age,omitempty"`
	// AuditMaxAge is how long an audit log entry is kept (0: forever).
	AuditMaxAge time.Duration `json:"audit_max_age,omitempty"`
	// RateLimitMaxAge is how long an untouched rate-limit bucket is kept.
	RateLimitMaxAge time.Duration `json:"rate_limit_max_age,omitempty"`
	// BankCallbackMaxAge is how long a delivered bank callback's event id is kept.
	BankCallbackMaxAge time.Duration `json:"bank_callback_max_age,omitempty"`
	// PaymentCodeMaxAge is how long a wallet's payment code is kept after it expired.
	PaymentCodeMaxAge time.Duration `json:"payment_code_max_age,omitempty"`
	// CreditReportMaxAge is how long a credit report's content is kept after the
	// bureau answered (PAYFLOW_CREDIT_RETENTION_DAYS).
	CreditReportMaxAge time.Duration `json:"credit_report_max_age,omitempty"`
}

// PurgeResult counts what one purge deleted.
type PurgeResult struct {
	Nonces          int64 `json:"nonces"`
	IdempotencyKeys int64 `json:"idempotency_keys"`
	// ExpiredSecrets counts merchants whose previous secret, past its rotation
	// overlap, was erased.
	ExpiredSecrets  int64 `json:"expired_secrets"`
	Events          int64 `json:"events,omitempty"`
	WebhookAttempts int64 `json:"webhook_attempts,omitempty"`
	Audit           int64 `json:"audit,omitempty"`
	RateLimits      int64 `json:"rate_limits,omitempty"`
	BankCallbacks   int64 `json:"bank_callbacks,omitempty"`
	PaymentCodes    int64 `json:"payment_codes,omitempty"`
	CreditReports   int64 `json:"credit_reports,omitempty"`
	// More names the kinds that had more past their retention when the run's time
	// was up: the next firing goes on with them.
	More []string `json:"more,omitempty"`
}

// MeasureInput is the action of the measure schedule (nothing to choose).
type MeasureInput struct{}

// MeasureResult is what one run of the measure schedule counted and stored.
type MeasureResult struct {
	// WebhookBacklog counts the events of the last day not yet delivered nor given
	// up: payflow_webhook_backlog until the next run.
	WebhookBacklog int64     `json:"webhook_backlog"`
	MeasuredAt     time.Time `json:"measured_at"`
}

// LedgerCheckInput is the action of the ledger-check schedule (nothing to choose).
type LedgerCheckInput struct{}

// LedgerCheckResult is what one ledger check found: OK when every invariant holds,
// otherwise how many items break each one (the ops API's GET /v1/ops/ledger/check
// lists them).
type LedgerCheckResult struct {
	OK                 bool      `json:"ok"`
	Journals           int64     `json:"journals"`
	Entries            int64     `json:"entries"`
	Unbalanced         int       `json:"unbalanced"`
	NegativeAccounts   int       `json:"negative_accounts"`
	MismatchedBalances int       `json:"mismatched_balances"`
	MismatchedHolds    int       `json:"mismatched_holds"`
	RouterClearing     int       `json:"router_clearing"`
	CheckedAt          time.Time `json:"checked_at"`
}
