package models

import "time"

// PurgeInput is the action of the purge schedule: how long each kind of short-lived
// record is kept.
type PurgeInput struct {
	// NonceMaxAge is how long a request's nonce is kept: twice the signature
	// tolerance (a nonce recorded at T may come back with a timestamp up to
	// T+tolerance, itself accepted until T+2*tolerance).
	NonceMaxAge time.Duration `json:"nonce_max_age"`
	// IdempotencyMaxAge is how long an idempotency key is kept (24 hours).
	IdempotencyMaxAge time.Duration `json:"idempotency_max_age"`
}

// PurgeResult counts what one purge deleted.
type PurgeResult struct {
	Nonces          int64 `json:"nonces"`
	IdempotencyKeys int64 `json:"idempotency_keys"`
	// ExpiredSecrets counts merchants whose previous secret, past its rotation
	// overlap, was erased.
	ExpiredSecrets int64 `json:"expired_secrets"`
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
