package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/recon"
	"github.com/payflow/payflow/internal/store"
)

// EnrichReconPage gives a page of a day's records the intents and ledger ReconSides
// gives its references, whatever the page's bounds: every kind of object, failed
// payments with and without a reversal (rev_ and the legacy .reversal), wallet
// payments, several clearing journals and currencies, transfers with no object, and
// carried items that are not among the day's transfers.
func TestEnrichReconPageIsReconSides(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		db := s.DB()
		day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		other := day.AddDate(0, 0, -3)
		transfer := func(ref, channel, status string, at time.Time) {
			t.Helper()
			require.NoError(t, db.Exec(`INSERT INTO bank_transfers (reference, channel, kind, merchant_id, amount, currency, status, created_at)
				VALUES (?, ?, 'charge', 'mch_demo', 100, 'CNY', ?, ?)`, ref, channel, status, at).Error)
		}
		object := func(table, id, status, source string, amount int64, currency string) {
			t.Helper()
			var err error
			switch table {
			case "payments":
				err = db.Exec(`INSERT INTO payments (id, merchant_id, amount, currency, source_type, channel, status, workflow_id, created_at, updated_at)
					VALUES (?, 'mch_demo', ?, ?, ?, 'testbank', ?, ?, ?, ?)`, id, amount, currency, source, status, "w-"+id, day, day).Error
			case "refunds":
				err = db.Exec(`INSERT INTO refunds (id, merchant_id, payment_id, amount, currency, channel, status, workflow_id, created_at, updated_at)
					VALUES (?, 'mch_demo', 'pay_a', ?, ?, 'testbank', ?, ?, ?, ?)`, id, amount, currency, status, "w-"+id, day, day).Error
			case "topups":
				err = db.Exec(`INSERT INTO topups (id, merchant_id, account_id, amount, currency, source_token, channel, status, workflow_id, created_at, updated_at)
					VALUES (?, 'mch_demo', 'acct_w', ?, ?, 'tok', 'testbank', ?, ?, ?, ?)`, id, amount, currency, status, "w-"+id, day, day).Error
			case "withdrawals":
				err = db.Exec(`INSERT INTO withdrawals (id, merchant_id, account_id, amount, currency, bank_account, channel, status, workflow_id, created_at, updated_at)
					VALUES (?, 'mch_demo', 'acct_w', ?, ?, 'ba', 'testbank', ?, ?, ?, ?)`, id, amount, currency, status, "w-"+id, day, day).Error
			}
			require.NoError(t, err)
		}
		for _, a := range [][3]string{{"acct_clr", "bank_clearing", "CNY"}, {"acct_clr_usd", "bank_clearing", "USD"}, {"acct_set", "merchant_settlement", "CNY"}} {
			require.NoError(t, db.Exec(`INSERT INTO accounts (id, system_key, kind, currency, channel, track_balance, created_at)
				VALUES (?, ?, ?, ?, 'testbank', 0, ?)`, a[0], a[0], a[1], a[2], day).Error)
		}
		journal := func(id, flowID string, entries ...any) {
			t.Helper()
			require.NoError(t, db.Exec(`INSERT INTO journals (id, idempotency_key, flow, flow_id, created_at) VALUES (?, ?, 'payment', ?, ?)`, id, id, flowID, day).Error)
			for k := 0; k < len(entries); k += 3 {
				require.NoError(t, db.Exec(`INSERT INTO entries (id, journal_id, account_id, amount, currency, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
					fmt.Sprintf("%s_%d", id, k), id, entries[k], entries[k+1], entries[k+2], day).Error)
			}
		}

		// The day's transfers on testbank, and a few elsewhere.
		for _, tr := range [][2]string{
			{"pay_a", "succeeded"}, {"pay_b", "succeeded"}, {"pay_c", "failed"}, {"rev_pay_c", "succeeded"},
			{"pay_d", "failed"}, {"pay_e", "failed"}, {"pay_g", "succeeded"}, {"pay_f", "processing"}, {"pay_ghost", "succeeded"},
			{"pay_l", "failed"}, {"pay_l.reversal", "succeeded"}, {"pay_j.reversal", "succeeded"},
			{"pay_m", "succeeded"}, {"pay_n", "succeeded"}, {"pay_w", "succeeded"}, {"rev_pay_a", "failed"},
			{"rev_pay_zz", "succeeded"}, {"re_1", "succeeded"}, {"re_2", "failed"}, {"top_1", "succeeded"},
			{"wd_1", "processing"}, {"wd_2", "succeeded"}, {"ch_other", "succeeded"}, {"re_ghost", "succeeded"},
		} {
			transfer(tr[0], "testbank", tr[1], day)
		}
		transfer("rev_pay_d", "testbank", "failed", other)  // pay_d's reversal failed, days ago
		transfer("rev_pay_g", "stripe", "succeeded", other) // pay_g's, on another channel
		transfer("pay_b2", "stripe", "succeeded", day)      // another channel's
		transfer("pay_carried", "testbank", "succeeded", other)

		object("payments", "pay_a", "succeeded", "card", 100, "CNY")
		object("payments", "pay_b", "succeeded", "card", 200, "CNY")
		object("payments", "pay_c", "failed", "card", 300, "CNY")
		object("payments", "pay_d", "failed", "card", 400, "CNY")
		object("payments", "pay_e", "canceled", "card", 500, "CNY")
		object("payments", "pay_g", "canceled", "card", 550, "CNY")
		object("payments", "pay_f", "processing", "card", 600, "CNY")
		object("payments", "pay_l", "failed", "card", 700, "CNY")
		object("payments", "pay_j", "succeeded", "card", 750, "CNY")
		object("payments", "pay_m", "succeeded", "card", 800, "CNY")
		object("payments", "pay_n", "refunded", "card", 900, "CNY")
		object("payments", "pay_w", "succeeded", "account", 50, "CNY")
		object("payments", "pay_carried", "succeeded", "card", 60, "CNY")
		object("payments", "pay_b2", "succeeded", "card", 70, "CNY")
		object("refunds", "re_1", "succeeded", "", 30, "CNY")
		object("refunds", "re_2", "failed", "", 31, "CNY")
		object("topups", "top_1", "succeeded", "", 40, "CNY")
		object("withdrawals", "wd_1", "processing", "", 41, "CNY")
		object("withdrawals", "wd_2", "succeeded", "", 42, "CNY")

		journal("jnl_a", "pay_a", "acct_clr", -100, "CNY", "acct_set", 100, "CNY")
		journal("jnl_m1", "pay_m", "acct_clr", -800, "CNY", "acct_set", 800, "CNY")
		journal("jnl_m2", "pay_m", "acct_clr_usd", -5, "USD", "acct_set", 5, "USD")
		journal("jnl_n1", "pay_n", "acct_clr", -900, "CNY", "acct_set", 900, "CNY")
		journal("jnl_n2", "pay_n", "acct_clr", 300, "CNY", "acct_set", -300, "CNY")
		journal("jnl_r1", "re_1", "acct_clr", 30, "CNY", "acct_set", -30, "CNY")
		journal("jnl_t1", "top_1", "acct_clr", -40, "CNY", "acct_set", 40, "CNY")
		journal("jnl_w2", "wd_2", "acct_clr", 42, "CNY", "acct_set", -42, "CNY")
		journal("jnl_c", "pay_carried", "acct_clr", -60, "CNY", "acct_set", 60, "CNY")
		journal("jnl_d", "pay_d", "acct_set", 1, "CNY", "acct_set", -1, "CNY") // touches no clearing account

		// The day's references, as the engine's Ours gives them, with the carried
		// items (pay_carried and rev_pay_carried2 are not among the day's transfers).
		page, err := s.BankTransfersOfDay(ctx, "testbank", "2026-03-01", "", 1000)
		require.NoError(t, err)
		refs := []string{"pay_carried", "rev_pay_carried2"}
		for _, p := range page {
			refs = append(refs, p.Reference)
		}
		slices.Sort(refs)
		require.Len(t, refs, 26)

		want, err := s.ReconSides(ctx, refs)
		require.NoError(t, err)
		// A few of ReconSides' answers, as the user sees them.
		require.Equal(t, recon.ExpectMoved, want["pay_c"].Intent.Expect) // charged and reversed
		require.False(t, want["pay_c"].Intent.Books)
		require.Equal(t, recon.ExpectNotMoved, want["pay_d"].Intent.Expect)
		require.Equal(t, recon.ExpectMoved, want["pay_g"].Intent.Expect)
		require.Equal(t, recon.ExpectMoved, want["pay_l"].Intent.Expect) // its legacy reversal
		require.Equal(t, recon.Ledger{Booked: true, Amount: 600, Currency: "CNY"}, want["pay_n"].Ledger)
		require.Equal(t, recon.Ledger{Booked: true, Amount: 5, Currency: "USD"}, want["pay_m"].Ledger)
		require.Equal(t, "reversal", want["rev_pay_a"].Intent.Kind)
		require.NotContains(t, want, "pay_ghost")

		for size := 1; size <= len(refs); size++ {
			for start := 0; start < len(refs); start += size {
				recs := make([]recon.Record, 0, size)
				for _, ref := range refs[start:min(start+size, len(refs))] {
					recs = append(recs, recon.Record{Reference: ref})
				}
				require.NoError(t, s.EnrichReconPage(ctx, "testbank", "2026-03-01", recs))
				// The page's own answer from ReconSides (a legacy reversal's
				// record is found among the page's references).
				pageRefs := make([]string, len(recs))
				for i := range recs {
					pageRefs[i] = recs[i].Reference
				}
				sides, err := s.ReconSides(ctx, pageRefs)
				require.NoError(t, err)
				for _, rec := range recs {
					w, ok := sides[rec.Reference]
					if !ok {
						require.Nil(t, rec.Intent, "page %d+%d: %s", start, size, rec.Reference)
						require.Equal(t, recon.Ledger{}, rec.Ledger, "page %d+%d: %s", start, size, rec.Reference)
						continue
					}
					require.Equal(t, w.Intent, rec.Intent, "page %d+%d: %s", start, size, rec.Reference)
					require.Equal(t, w.Ledger, rec.Ledger, "page %d+%d: %s", start, size, rec.Reference)
				}
			}
		}
	})
}
