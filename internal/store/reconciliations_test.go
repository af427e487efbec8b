package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// A second request for a channel and day gets the same run; a rerun gets a new one
// only once the latest has finished; of concurrent first requests, one creates.
func TestOpenReconciliation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		open := func(rerun bool) (models.Reconciliation, bool) {
			rec, created, err := s.OpenReconciliation(ctx, store.OpenReconciliationRequest{
				ID: models.NewID(models.PrefixReconciliation), Channel: "banksim", Day: "2026-03-01", Rerun: rerun,
			})
			require.NoError(t, err)
			return rec, created
		}
		first, created := open(false)
		require.True(t, created)
		require.Equal(t, 1, first.Attempt)
		require.Equal(t, models.ReconciliationRunning, first.Status)

		again, created := open(false)
		require.False(t, created)
		require.Equal(t, first.ID, again.ID)
		again, created = open(true)
		require.False(t, created, "a rerun of a running reconciliation is the same run")
		require.Equal(t, first.ID, again.ID)

		recorded, err := s.FinishReconciliation(ctx, models.FinishReconciliationInput{
			ReconciliationID: first.ID, Status: models.ReconciliationCompleted,
			Counts: models.ReconciliationCounts{StatementLines: 3, OurRecords: 3, Matched: 2, AmountMismatch: 1},
		})
		require.NoError(t, err)
		require.True(t, recorded)
		recorded, err = s.FinishReconciliation(ctx, models.FinishReconciliationInput{ReconciliationID: first.ID, Status: models.ReconciliationFailed})
		require.NoError(t, err)
		require.False(t, recorded, "the first end stands")

		again, created = open(false)
		require.False(t, created)
		require.Equal(t, first.ID, again.ID)
		require.Equal(t, models.ReconciliationCompleted, again.Status)
		require.Equal(t, int64(2), again.Counts.Matched)
		require.NotNil(t, again.FinishedAt)

		second, created := open(true)
		require.True(t, created)
		require.NotEqual(t, first.ID, second.ID)
		require.Equal(t, 2, second.Attempt)

		// Concurrent first requests for another day: one run.
		var wg sync.WaitGroup
		ids := make([]string, 8)
		for i := range ids {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				rec, _, err := s.OpenReconciliation(ctx, store.OpenReconciliationRequest{
					ID: models.NewID(models.PrefixReconciliation), Channel: "banksim", Day: "2026-03-02",
				})
				if err != nil {
					t.Errorf("open %d: %v", i, err)
					return
				}
				ids[i] = rec.ID
			}(i)
		}
		wg.Wait()
		for _, id := range ids {
			require.Equal(t, ids[0], id)
		}
		_, err = s.Reconciliation(ctx, "rec_unknown")
		require.True(t, errors.Is(err, store.ErrNotFound))
	})
}

// Differences are appended idempotently, counted while the run is open, paged in the
// order found, and resolved once.
func TestDifferences(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		rec, _, err := s.OpenReconciliation(ctx, store.OpenReconciliationRequest{ID: models.NewID(models.PrefixReconciliation), Channel: "banksim", Day: "2026-03-01"})
		require.NoError(t, err)
		var diffs []models.Difference
		for i := 0; i < 25; i++ {
			diffs = append(diffs, models.Difference{
				ReconciliationID: rec.ID, Reference: fmt.Sprintf("pay_%03d", i), Kind: models.DiffMissingAtBank,
				Ours: &models.DifferenceSide{Kind: "charge", Amount: int64(100 + i), Currency: "CNY", Status: "succeeded"},
			})
		}
		diffs = append(diffs,
			models.Difference{ReconciliationID: rec.ID, Reference: "x", Kind: models.DiffMalformed, Line: 7, Raw: "x,charge,abc,CNY,succeeded,now"},
			models.Difference{ReconciliationID: rec.ID, Reference: "x", Kind: models.DiffMalformed, Line: 9, Raw: "x,,1,CNY,succeeded,now"},
			models.Difference{ReconciliationID: rec.ID, Reference: "pay_ghost", Kind: models.DiffUnknownCurrency, Line: 4,
				Bank: &models.DifferenceSide{Kind: "charge", Amount: 5, Currency: "a-currency-code-far-too-long", Status: "succeeded"}},
		)
		require.NoError(t, s.InsertDifferences(ctx, diffs))
		// A resumed run inserts them all again: nothing doubles.
		require.NoError(t, s.InsertDifferences(ctx, diffs))

		got, err := s.Reconciliation(ctx, rec.ID)
		require.NoError(t, err)
		require.Equal(t, models.ReconciliationRunning, got.Status)
		require.Equal(t, int64(25), got.Counts.MissingAtBank)
		require.Equal(t, int64(2), got.Counts.Malformed)
		require.Equal(t, int64(1), got.Counts.UnknownCurrency)

		var all []models.Difference
		after := ""
		for {
			page, more, err := s.ListDifferences(ctx, store.DifferenceQuery{ReconciliationID: rec.ID, Limit: 10, StartingAfter: after})
			require.NoError(t, err)
			all = append(all, page...)
			if !more {
				break
			}
			after = page[len(page)-1].ID
		}
		require.Len(t, all, 28)
		require.Equal(t, "pay_000", all[0].Reference)
		require.Equal(t, int64(100), all[0].Ours.Amount)
		require.Nil(t, all[0].Bank)
		require.Equal(t, "a-currency-code-", all[27].Bank.Currency, "cut to the column")

		d, err := s.ResolveDifference(ctx, rec.ID, all[3].ID, models.Resolution{Note: "refund issued", Operator: "ops-token-1"})
		require.NoError(t, err)
		require.Equal(t, "refund issued", d.Resolution.Note)
		_, err = s.ResolveDifference(ctx, rec.ID, all[3].ID, models.Resolution{Note: "again", Operator: "ops-token-1"})
		require.True(t, errors.Is(err, store.ErrDuplicate), "%v", err)
		_, err = s.ResolveDifference(ctx, "rec_other", all[4].ID, models.Resolution{Note: "x", Operator: "o"})
		require.True(t, errors.Is(err, store.ErrNotFound), "%v", err)
		page, _, err := s.ListDifferences(ctx, store.DifferenceQuery{ReconciliationID: rec.ID, Limit: 5})
		require.NoError(t, err)
		require.NotNil(t, page[3].Resolution)
		require.Equal(t, "refund issued", page[3].Resolution.Note)
		require.Nil(t, page[2].Resolution)
	})
}

// The open differences are counted by channel over every run, resolved ones left
// out; a channel whose differences are all resolved counts 0.
func TestOpenDifferences(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		open, err := s.OpenDifferences(ctx)
		require.NoError(t, err)
		require.Empty(t, open)
		run := func(channel, day string, n int) []models.Difference {
			rec, _, err := s.OpenReconciliation(ctx, store.OpenReconciliationRequest{ID: models.NewID(models.PrefixReconciliation), Channel: channel, Day: day})
			require.NoError(t, err)
			var diffs []models.Difference
			for i := range n {
				diffs = append(diffs, models.Difference{ID: models.NewID(models.PrefixDifference), ReconciliationID: rec.ID,
					Reference: fmt.Sprintf("pay_%03d", i), Kind: models.DiffMissingAtBank})
			}
			require.NoError(t, s.InsertDifferences(ctx, diffs))
			return diffs
		}
		a := run("banksim", "2026-03-01", 3)
		run("banksim", "2026-03-02", 2)
		b := run("stripe", "2026-03-01", 1)
		for _, d := range []models.Difference{a[0], b[0]} {
			_, err := s.ResolveDifference(ctx, d.ReconciliationID, d.ID, models.Resolution{Note: "handled", Operator: "ops"})
			require.NoError(t, err)
		}
		open, err = s.OpenDifferences(ctx)
		require.NoError(t, err)
		require.Equal(t, map[string]int64{"banksim": 4, "stripe": 0}, open)

		// An in_transit item is not a difference: it is never counted open.
		require.NoError(t, s.InsertDifferences(ctx, []models.Difference{{ReconciliationID: a[0].ReconciliationID, Reference: "pay_transit", Kind: models.DiffInTransit, Since: "2026-03-01"}}))
		open, err = s.OpenDifferences(ctx)
		require.NoError(t, err)
		require.Equal(t, map[string]int64{"banksim": 4, "stripe": 0}, open)
		n, err := s.OpenDifferencesOf(ctx, a[0].ReconciliationID)
		require.NoError(t, err)
		require.Equal(t, int64(2), n, "three differences, one resolved, in_transit left out")

		// Older than a cut-off: by the time each was stored.
		now := time.Now().UTC()
		older, err := s.OpenDifferencesOlderThan(ctx, now.Add(-24*time.Hour))
		require.NoError(t, err)
		require.Equal(t, map[string]int64{"banksim": 0, "stripe": 0}, older)
		old := now.Add(-25 * time.Hour)
		require.NoError(t, s.DB().Exec("UPDATE reconciliation_differences SET created_at = ? WHERE id IN ?", old, []string{a[0].ID, a[1].ID}).Error)
		require.NoError(t, s.DB().Exec("UPDATE reconciliation_differences SET created_at = ? WHERE kind = ?", old, models.DiffInTransit).Error)
		older, err = s.OpenDifferencesOlderThan(ctx, now.Add(-24*time.Hour))
		require.NoError(t, err)
		require.Equal(t, map[string]int64{"banksim": 1, "stripe": 0}, older, "a[0] is resolved, a[1] is open and old")
	})
}

// A resolution keeps the object its action acted on; an empty action is explained.
func TestResolutionObject(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		rec, _, err := s.OpenReconciliation(ctx, store.OpenReconciliationRequest{ID: models.NewID(models.PrefixReconciliation), Channel: "banksim", Day: "2026-03-01"})
		require.NoError(t, err)
		diffs := []models.Difference{
			{ID: models.NewID(models.PrefixDifference), ReconciliationID: rec.ID, Reference: "pay_1", Kind: models.DiffMissingAtBank},
			{ID: models.NewID(models.PrefixDifference), ReconciliationID: rec.ID, Reference: "pay_2", Kind: models.DiffMissingAtBank},
		}
		require.NoError(t, s.InsertDifferences(ctx, diffs))
		d, err := s.ResolveDifference(ctx, rec.ID, diffs[0].ID, models.Resolution{Action: models.ResolutionRefunded, ObjectID: "re_1", Note: "given back", Operator: "ops"})
		require.NoError(t, err)
		require.Equal(t, models.ResolutionRefunded, d.Resolution.Action)
		require.Equal(t, "re_1", d.Resolution.ObjectID)
		d, err = s.ResolveDifference(ctx, rec.ID, diffs[1].ID, models.Resolution{Note: "bank's own fix", Operator: "ops"})
		require.NoError(t, err)
		require.Equal(t, models.ResolutionExplained, d.Resolution.Action)
		require.Empty(t, d.Resolution.ObjectID)

		_, err = s.Journal(ctx, "jr_none")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.NoError(t, s.DB().Exec(`INSERT INTO journals (id, idempotency_key, flow, flow_id, description, created_at) VALUES ('jr_1', 'k1', 'payment', 'pay_1', 'capture pay_1', ?)`, time.Now().UTC()).Error)
		j, err := s.Journal(ctx, "jr_1")
		require.NoError(t, err)
		require.Equal(t, store.JournalHeader{ID: "jr_1", Flow: "payment", FlowID: "pay_1", Description: "capture pay_1"}, j)
		_, err = s.RefundByID(ctx, "re_none")
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}

// Our side of a day is read in reference order, page after page, from the records of
// that channel and UTC day only.
func TestBankTransfersOfDay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		db := s.DB()
		day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		insert := func(ref, channel string, at time.Time) {
			require.NoError(t, db.Exec(`INSERT INTO bank_transfers (reference, channel, kind, merchant_id, amount, currency, status, created_at)
				VALUES (?, ?, 'charge', 'mch_demo', 100, 'CNY', 'succeeded', ?)`, ref, channel, at).Error)
		}
		for i := 9; i >= 0; i-- {
			insert(fmt.Sprintf("pay_%02d", i), "banksim", day.Add(time.Duration(i)*2*time.Hour+time.Second))
		}
		insert("pay_00a", "stripe", day.Add(time.Hour))
		insert("pay_before", "banksim", day.Add(-time.Microsecond))
		insert("pay_after", "banksim", day.Add(24*time.Hour))
		insert("pay_last", "banksim", day.Add(24*time.Hour-time.Microsecond))

		var refs []string
		after := ""
		for {
			page, err := s.BankTransfersOfDay(ctx, "banksim", "2026-03-01", after, 4)
			require.NoError(t, err)
			// ReferencesOfDay reads the same page's references.
			pageRefs, err := s.ReferencesOfDay(ctx, "banksim", "2026-03-01", after, 4)
			require.NoError(t, err)
			require.Len(t, pageRefs, len(page))
			for i, p := range page {
				require.Equal(t, p.Reference, pageRefs[i])
			}
			for _, p := range page {
				refs = append(refs, p.Reference)
				require.Equal(t, int64(100), p.Amount)
				require.Equal(t, models.BankSucceeded, p.Status)
			}
			if len(page) < 4 {
				break
			}
			after = page[len(page)-1].Reference
		}
		require.Equal(t, []string{"pay_00", "pay_01", "pay_02", "pay_03", "pay_04", "pay_05", "pay_06", "pay_07", "pay_08", "pay_09", "pay_last"}, refs)
		// What RecordBankTransfer writes lands on today's UTC day.
		require.NoError(t, s.RecordBankTransfer(ctx, store.BankTransfer{Reference: "pay_now", Channel: "banksim", Kind: "charge", Amount: 1, Currency: "CNY", Status: models.BankSucceeded}))
		page, err := s.BankTransfersOfDay(ctx, "banksim", time.Now().UTC().Format(models.DayLayout), "", 10)
		require.NoError(t, err)
		require.Len(t, page, 1)
		require.Equal(t, "pay_now", page[0].Reference)
	})
}
