package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/store"
)

// The movement of a day counts only the channel's clearing entries created within
// the UTC day, per currency.
func TestClearingMovementOfDay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		accounts := []struct{ id, key, kind, currency, channel string }{
			{"acct_bcny", "bank_clearing/banksim/CNY", "bank_clearing", "CNY", "banksim"},
			{"acct_beur", "bank_clearing/banksim/EUR", "bank_clearing", "EUR", "banksim"},
			{"acct_scny", "bank_clearing/stripe/CNY", "bank_clearing", "CNY", "stripe"},
			{"acct_mcny", "merchant_settlement/mch_a/CNY", "merchant_settlement", "CNY", ""},
		}
		for _, a := range accounts {
			require.NoError(t, s.DB().Exec(`INSERT INTO accounts (id, system_key, merchant_id, kind, currency, channel, track_balance, balance, held, version, created_at)
				VALUES (?, ?, '', ?, ?, ?, 0, 0, 0, 0, ?)`, a.id, a.key, a.kind, a.currency, a.channel, day).Error)
		}
		entries := []struct {
			account string
			amount  int64
			at      time.Time
		}{
			{"acct_bcny", -1000, day.Add(10 * time.Hour)},
			{"acct_bcny", 300, day.Add(24*time.Hour - time.Millisecond)},
			{"acct_bcny", -50, day.Add(-time.Second)},    // the day before
			{"acct_bcny", -7, day.Add(24 * time.Hour)},   // the day after
			{"acct_beur", -20, day},                      // the first instant counts
			{"acct_scny", -999, day.Add(time.Hour)},      // another channel
			{"acct_mcny", 1000, day.Add(10 * time.Hour)}, // not a clearing account
		}
		for i, e := range entries {
			require.NoError(t, s.DB().Exec(`INSERT INTO entries (id, journal_id, account_id, amount, currency, created_at)
				VALUES (?, 'jnl_x', ?, ?, 'CNY', ?)`, "ent_"+string(rune('a'+i)), e.account, e.amount, e.at).Error)
		}
		got, err := s.ClearingMovementOfDay(context.Background(), "banksim", "2026-03-01")
		require.NoError(t, err)
		require.Equal(t, []store.CurrencyAmount{{Currency: "CNY", Amount: -700}, {Currency: "EUR", Amount: -20}}, got)

		got, err = s.ClearingMovementOfDay(context.Background(), "banksim", "2026-03-03")
		require.NoError(t, err)
		require.Empty(t, got)
		_, err = s.ClearingMovementOfDay(context.Background(), "banksim", "2026-3-1")
		require.Error(t, err)
	})
}
