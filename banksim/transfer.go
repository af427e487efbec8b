package banksim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Kind is what a transfer moves.
type Kind string

// Kinds of transfer.
const (
	KindCharge Kind = "charge"
	KindRefund Kind = "refund"
	KindPayout Kind = "payout"
)

// Status is where a transfer stands.
type Status string

// Statuses of a transfer. Succeeded, failed and canceled are final.
const (
	StatusProcessing Status = "processing"
	StatusSucceeded  Status = "succeeded"
	StatusFailed     Status = "failed"
	// StatusCanceled is a transfer the bank stopped before it executed, or a
	// reference canceled before the bank ever saw it (a tombstone): it never
	// moved money and never will.
	StatusCanceled Status = "canceled"
)

// Failure codes a failed transfer carries.
const (
	FailureCardDeclined        = "card_declined"
	FailureInsufficientFunds   = "insufficient_funds"
	FailureAccountClosed       = "account_closed"
	FailureChargeNotFound      = "charge_not_found"
	FailureRefundExceedsCharge = "refund_exceeds_charge"
	FailureCurrencyMismatch    = "currency_mismatch"
	FailureLimitExceeded       = "limit_exceeded"
)

// Transfer is the bank's answer about one movement, and the body of a
// callback (which adds "event_id").
type Transfer struct {
	Reference   string     `json:"reference"`
	Kind        Kind       `json:"kind"`
	Amount      int64      `json:"amount"`
	Currency    string     `json:"currency"`
	Status      Status     `json:"status"`
	FailureCode string     `json:"failure_code"`
	BankID      string     `json:"bank_id"`
	CreatedAt   time.Time  `json:"created_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// tombstone reports whether t is the record of a reference canceled before
// the bank ever saw it: it has no kind, amount or currency, and answers every
// later request of its reference.
func (t Transfer) tombstone() bool { return t.Status == StatusCanceled && t.Kind == "" }

// transferRow is a transfers row: the Transfer plus what the bank keeps for
// itself (never shown to the caller).
type transferRow struct {
	Transfer
	ChargeReference string
	CallbackURL     string
	CompleteAt      time.Time // when a processing transfer becomes final
	CallbackDelay   time.Duration
	DupCallbacks    bool
}

const transferColumns = `reference, kind, amount, currency, status, failure_code, bank_id,
	charge_reference, callback_url, created_at, completed_at, complete_at,
	callback_delay_ms, dup_callbacks`

type rowScanner interface{ Scan(dest ...any) error }

func scanTransfer(sc rowScanner) (transferRow, error) {
	var (
		t                     transferRow
		created               int64
		completed, completeAt sql.NullInt64
		delayMS               int64
		dup                   bool
	)
	err := sc.Scan(&t.Reference, &t.Kind, &t.Amount, &t.Currency, &t.Status, &t.FailureCode, &t.BankID,
		&t.ChargeReference, &t.CallbackURL, &created, &completed, &completeAt, &delayMS, &dup)
	if err != nil {
		return transferRow{}, err
	}
	t.CreatedAt = fromNanos(created)
	if completed.Valid {
		c := fromNanos(completed.Int64)
		t.CompletedAt = &c
	}
	if completeAt.Valid {
		t.CompleteAt = fromNanos(completeAt.Int64)
	}
	t.CallbackDelay = time.Duration(delayMS) * time.Millisecond
	t.DupCallbacks = dup
	return t, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// getTransfer returns the transfer with that reference; found is false when
// the bank has neither executed nor canceled it.
func getTransfer(ctx context.Context, q querier, reference string) (t transferRow, found bool, err error) {
	t, err = scanTransfer(q.QueryRowContext(ctx, `SELECT `+transferColumns+` FROM transfers WHERE reference = ?`, reference))
	if errors.Is(err, sql.ErrNoRows) {
		return transferRow{}, false, nil
	}
	if err != nil {
		return transferRow{}, false, fmt.Errorf("get transfer %s: %w", reference, err)
	}
	return t, true, nil
}

func insertTransfer(ctx context.Context, tx *sql.Tx, t transferRow) error {
	var completed, completeAt sql.NullInt64
	if t.CompletedAt != nil {
		completed = sql.NullInt64{Int64: t.CompletedAt.UnixNano(), Valid: true}
	}
	if t.Status == StatusProcessing {
		completeAt = sql.NullInt64{Int64: t.CompleteAt.UnixNano(), Valid: true}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO transfers (`+transferColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Reference, t.Kind, t.Amount, t.Currency, t.Status, t.FailureCode, t.BankID,
		t.ChargeReference, t.CallbackURL, t.CreatedAt.UnixNano(), completed, completeAt,
		t.CallbackDelay.Milliseconds(), t.DupCallbacks)
	if err != nil {
		return fmt.Errorf("insert transfer %s: %w", t.Reference, err)
	}
	return nil
}

// Times are stored as Unix nanoseconds: exact, sortable, and free of the
// driver's time-format guessing.
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
