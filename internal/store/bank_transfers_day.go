package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/payflow/payflow/models"
)

// BankTransfersOfDay returns up to limit of the channel's transfer records of one UTC
// day (YYYY-MM-DD, the day they were recorded) whose reference sorts after after, in
// reference order: one keyset page of what reconciliation compares with the bank's
// statement. Only the compared fields are filled in.
//
// The order is the database's: byte order on SQLite and on MySQL with a binary
// collation (payflow's databases are created utf8mb4_bin); the caller checks it.
func (s *Store) BankTransfersOfDay(ctx context.Context, channel, day, after string, limit int) ([]BankTransfer, error) {
	// MariaDB plans this as a lookup of (channel, day) that then filters reference,
	// reading the day from its first record on every page (quadratic over a day):
	// FORCE INDEX makes it a range scan that starts at after.
	hint := ""
	if s.db.Dialect == DialectMySQL {
		hint = " FORCE INDEX (bank_transfers_channel_day_reference)"
	}
	rows, err := s.db.WithContext(ctx).Raw(`SELECT reference, kind, amount, currency, status FROM bank_transfers`+hint+`
		WHERE channel = ? AND day = ? AND reference > ? ORDER BY reference LIMIT ?`, channel, day, after, limit).Rows()
	if err != nil {
		return nil, fmt.Errorf("bank transfers of %s %s after %q: %w", channel, day, after, err)
	}
	defer rows.Close()
	out := make([]BankTransfer, 0, limit)
	for rows.Next() {
		var t BankTransfer
		var currency, status string
		if err := rows.Scan(&t.Reference, &t.Kind, &t.Amount, &currency, &status); err != nil {
			return nil, fmt.Errorf("scan bank transfer: %w", err)
		}
		t.Channel, t.Currency, t.Status = channel, models.Currency(currency), models.BankStatus(status)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bank transfers of %s %s: %w", channel, day, err)
	}
	return out, nil
}

// ReferencesOfDay is BankTransfersOfDay's references only: a reconciliation's keyset
// page of the day, whose sides EnrichReconPage reads.
func (s *Store) ReferencesOfDay(ctx context.Context, channel, day, after string, limit int) ([]string, error) {
	hint := ""
	if s.db.Dialect == DialectMySQL {
		hint = " FORCE INDEX (bank_transfers_channel_day_reference)"
	}
	rows, err := s.db.WithContext(ctx).Raw(`SELECT reference FROM bank_transfers`+hint+`
		WHERE channel = ? AND day = ? AND reference > ? ORDER BY reference LIMIT ?`, channel, day, after, limit).Rows()
	if err != nil {
		return nil, fmt.Errorf("bank transfers of %s %s after %q: %w", channel, day, after, err)
	}
	defer rows.Close()
	out := make([]string, 0, limit)
	var ref sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&ref); err != nil {
			return nil, fmt.Errorf("scan bank transfer: %w", err)
		}
		out = append(out, string(ref))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bank transfers of %s %s: %w", channel, day, err)
	}
	return out, nil
}
