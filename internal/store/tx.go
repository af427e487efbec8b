package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Tx is one unit of work on payflow's rows: the status changes of the objects whose
// flows end. The ledger's transaction carries one (ledger.Tx), so that a journal and
// the status it books commit together or not at all.
type Tx struct {
	db *gorm.DB
}

// NewTx is the store's side of a transaction that a caller opened with Transact (the
// ledger).
func NewTx(db *gorm.DB) *Tx { return &Tx{db: db} }

// Transact runs fn in a transaction, and runs the whole transaction again, up to
// attempts times, when the database rolled it back (RolledBack) or fn found a
// concurrent change (ErrConflict). fn must be safe to run more than once: everything
// it wrote rolled back with the attempt.
func (d *DB) Transact(ctx context.Context, attempts int, fn func(tx *gorm.DB) error) error {
	var err error
	for attempt := 1; attempt <= attempts; attempt++ {
		err = d.WithContext(ctx).Transaction(fn)
		if err == nil || !errors.Is(err, ErrConflict) && !RolledBack(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Back off a little, more with each attempt, so that contending
		// transactions spread out instead of colliding again.
		time.Sleep(time.Duration(attempt*attempt) * time.Millisecond)
	}
	return fmt.Errorf("gave up after %d conflicting attempts: %w", attempts, err)
}
