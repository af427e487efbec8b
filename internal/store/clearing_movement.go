package store

import (
	"context"
	"fmt"

	"github.com/payflow/payflow/models"
)

// CurrencyAmount is an amount of minor units in one currency.
type CurrencyAmount struct {
	Currency string
	Amount   int64
}

// ClearingMovementOfDay sums, per currency, the entries that the ledger appended to
// the channel's bank clearing accounts (bank_clearing/<channel>/<currency>) within
// one UTC day (YYYY-MM-DD, by the entries' created_at): what the ledger says the
// bank moved for us that day. Entries are credit positive and the clearing account
// carries the negative of what the bank holds, so money in (a capture, a top-up) is
// negative here and money out (a refund, a payout) positive. Currencies without an
// entry that day are left out; the answer is sorted by currency.
func (s *Store) ClearingMovementOfDay(ctx context.Context, channel, day string) ([]CurrencyAmount, error) {
	start, err := models.ParseDay(day)
	if err != nil {
		return nil, err
	}
	// One range scan of entries(account_id, created_at) per clearing account.
	rows, err := s.db.WithContext(ctx).Raw(`SELECT a.currency, SUM(e.amount) FROM accounts a
		JOIN entries e ON e.account_id = a.id AND e.created_at >= ? AND e.created_at < ?
		WHERE a.kind = ? AND a.channel = ?
		GROUP BY a.currency ORDER BY a.currency`, start, start.AddDate(0, 0, 1), bankClearingKind, channel).Rows()
	if err != nil {
		return nil, fmt.Errorf("clearing movement of %s %s: %w", channel, day, err)
	}
	defer rows.Close()
	var out []CurrencyAmount
	for rows.Next() {
		var m CurrencyAmount
		if err := rows.Scan(&m.Currency, &m.Amount); err != nil {
			return nil, fmt.Errorf("scan clearing movement: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clearing movement of %s %s: %w", channel, day, err)
	}
	return out, nil
}
