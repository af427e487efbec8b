package testenv

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Execer runs a statement (a *gorm.DB or a *store.DB).
type Execer interface {
	Exec(sql string, values ...any) *gorm.DB
}

// DateEntries moves the creation time of the ledger entries that where (a SQL
// condition on entries, with args; "" for all) selects to at: a test's way of
// saying when money moved, since postings are dated by the clock (a balance at a
// day's end, say). Entries are append-only everywhere else: this file is the one
// place the append-only check lets a test date them.
func DateEntries(db Execer, at time.Time, where string, args ...any) error {
	sql := "UPDATE entries SET created_at = ?"
	if where != "" {
		sql += " WHERE " + where
	}
	if err := db.Exec(sql, append([]any{at.UTC()}, args...)...).Error; err != nil {
		return fmt.Errorf("date entries: %w", err)
	}
	return nil
}
