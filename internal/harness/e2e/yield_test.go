package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/bank/fund"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// yieldWallets is how many opted-in wallets each stack's run credits.
const yieldWallets = 4000

type yieldRunView struct {
	ID            string `json:"id"`
	Status        string `json:"status"`
	Wallets       int64  `json:"wallets"`
	TotalCredited int64  `json:"total_credited"`
	CarriedTotal  string `json:"carried_total"`
	IncomePer10k  int64  `json:"income_per_10k"`
}

// The balance yield's daily run end to end: a few thousand opted-in wallets whose
// balances stood at the day's end, the run opened through the ops API, its worker
// killed while it credits and a new one started. Every wallet is credited exactly
// once, exactly floor(balance × income / 10^10) fen (its first day: nothing
// carried), the day's totals are the sums, asking for the day again answers the same
// run, and the ledger check stays clean.
func TestYieldRunKilledMidwayCreditsEveryWalletOnce(t *testing.T) {
	eachStackInParallel(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		db, err := store.Open(s.DSN, 4)
		require.NoError(t, err)
		defer db.Close()
		l := ledger.New(db)
		day := models.PreviousYieldDay(time.Now())
		dayEnd, err := models.YieldDayEnd(day)
		require.NoError(t, err)

		// The wallets, their money and their opt-ins, all in place before the day's
		// end (the entries and opt-ins moved back there, as the run reads them).
		m := identityMerchant(t, s, 0)
		wallets := make([]string, yieldWallets)
		balances := map[string]int64{}
		require.NoError(t, db.DB.Transaction(func(tx *gorm.DB) error {
			for i := range wallets {
				w := ledger.NewWallet(models.NewID(models.PrefixAccount), m.ID, "CNY", fmt.Sprintf("yield-%d", i))
				if err := ledger.InsertWallet(tx, w); err != nil {
					return err
				}
				wallets[i] = w.ID
			}
			return nil
		}))
		clearing, err := l.EnsureAccount(ctx, ledger.ClearingSpec("banksim", "CNY"))
		require.NoError(t, err)
		postings := make([]ledger.Posting, len(wallets))
		for i, w := range wallets {
			balances[w] = 100_000 + int64(i)*997
			postings[i] = ledger.Posting{Key: "e2e-yield/" + w, Flow: models.FlowTopup, FlowID: w, MerchantID: m.ID, Currency: "CNY",
				Legs: []ledger.Leg{{AccountID: clearing, Amount: -balances[w]}, {AccountID: w, Amount: balances[w]}}}
		}
		results, err := l.PostBatch(ctx, postings)
		require.NoError(t, err)
		for _, r := range results {
			require.NoError(t, r.Err)
		}
		// Three opt in through the API; the rest are written as it writes them.
		for _, w := range wallets[:3] {
			r, err := m.C.Post(ctx, "/v1/accounts/"+w+"/yield", map[string]any{"enabled": true}, "e2e-"+models.NewID(""))
			require.NoError(t, err)
			require.Equal(t, 200, r.Status, "%s", r.Body)
		}
		st := store.New(db, nil)
		for _, w := range wallets[3:] {
			require.NoError(t, st.SetYieldOptIn(ctx, w, m.ID, true, time.Now()))
		}
		before := dayEnd.Add(-time.Hour)
		require.NoError(t, testenv.DateEntries(db, before, "journal_id IN (SELECT id FROM journals WHERE idempotency_key LIKE 'e2e-yield/%')"))
		require.NoError(t, db.Exec("UPDATE yield_wallets SET enabled_at = ? WHERE merchant_id = ?", before, m.ID).Error)
		// Money that arrives after the day's end earns nothing for the day.
		late := ledger.Posting{Key: "e2e-yield-late/" + wallets[0], Flow: models.FlowTopup, FlowID: wallets[0], Currency: "CNY",
			Legs: []ledger.Leg{{AccountID: clearing, Amount: -5_000_000}, {AccountID: wallets[0], Amount: 5_000_000}}}
		_, err = l.PostBatch(ctx, []ledger.Posting{late})
		require.NoError(t, err)

		income, err := fund.New(s.BanksimURL, nil).Income(ctx, day)
		require.NoError(t, err)
		require.Positive(t, income)

		body := fmt.Sprintf(`{"product_id":"prd_mmf","date":%q}`, day)
		r, err := s.Ops(ctx, "POST", "/v1/ops/yield_runs", body)
		require.NoError(t, err)
		require.Contains(t, []int{200, 202}, r.Status, "%s", r.Body)
		var run yieldRunView
		require.NoError(t, json.Unmarshal(r.Body, &run))

		// Kill the worker once the run has credited some wallets of this merchant.
		credited := func() int64 {
			var n int64
			require.NoError(t, db.Table("yield_days").Joins("JOIN accounts ON accounts.id = yield_days.account_id").
				Where("accounts.merchant_id = ? AND yield_days.day = ?", m.ID, day).Count(&n).Error)
			return n
		}
		require.Eventually(t, func() bool { return credited() > 0 }, 2*time.Minute, 10*time.Millisecond)
		for _, w := range s.Workers {
			w.Kill()
		}
		at := credited()
		t.Logf("killed the worker with %d of %d wallets credited", at, yieldWallets)
		_, err = s.StartWorker()
		require.NoError(t, err)

		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			r, err := s.Ops(ctx, "GET", "/v1/ops/yield_runs/"+run.ID, "")
			if assert.NoError(ct, err) && assert.NoError(ct, json.Unmarshal(r.Body, &run)) {
				assert.Equal(ct, "completed", run.Status)
			}
		}, 4*time.Minute, 250*time.Millisecond)
		require.Equal(t, income, run.IncomePer10k)

		// Exactly once, exactly right.
		type row struct {
			AccountID string
			Balance   int64
			Income    int64
			Carry     int64
			JournalID string
		}
		var rows []row
		require.NoError(t, db.Table("yield_days").Select("yield_days.account_id, yield_days.balance, yield_days.income, yield_days.carry, yield_days.journal_id").
			Joins("JOIN accounts ON accounts.id = yield_days.account_id").
			Where("accounts.merchant_id = ? AND yield_days.day = ?", m.ID, day).Scan(&rows).Error)
		require.Len(t, rows, yieldWallets, "one row per wallet and day")
		var sum int64
		for _, rw := range rows {
			require.Equal(t, balances[rw.AccountID], rw.Balance, "the balance at the day's end, not after")
			credit, carry, err := models.YieldDay(rw.Balance, income, 0)
			require.NoError(t, err)
			require.Equal(t, credit, rw.Income, rw.AccountID)
			require.Equal(t, carry, rw.Carry, rw.AccountID)
			sum += credit
		}
		keys := make([]string, len(wallets))
		for i, w := range wallets {
			keys[i] = "yield/" + w + "/" + day
		}
		var journals, entrySum int64
		require.NoError(t, db.Table("journals").Where("idempotency_key IN ?", keys).Count(&journals).Error)
		require.NoError(t, db.Table("entries").Select("COALESCE(SUM(entries.amount), 0)").
			Joins("JOIN journals ON journals.id = entries.journal_id").
			Where("journals.idempotency_key IN ? AND entries.amount > 0", keys).Scan(&entrySum).Error)
		require.Equal(t, sum, entrySum, "the wallets were credited the sum of their incomes, once")
		require.LessOrEqual(t, journals, int64(yieldWallets))
		require.GreaterOrEqual(t, run.TotalCredited, sum, "the day's total covers this merchant's wallets")

		// The day asked for again is the same run; nothing more is credited.
		r, err = s.Ops(ctx, "POST", "/v1/ops/yield_runs", body)
		require.NoError(t, err)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var again yieldRunView
		require.NoError(t, json.Unmarshal(r.Body, &again))
		require.Equal(t, run.ID, again.ID)
		var wallet struct {
			Enabled       bool   `json:"enabled"`
			TotalCredited int64  `json:"total_credited"`
			Carried       string `json:"carried_remainder"`
		}
		r, err = m.C.Get(ctx, "/v1/accounts/"+wallets[1]+"/yield")
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(r.Body, &wallet))
		want, carry, err := models.YieldDay(balances[wallets[1]], income, 0)
		require.NoError(t, err)
		require.Equal(t, want, wallet.TotalCredited)
		require.Equal(t, models.FormatYieldCarry(carry), wallet.Carried)
		require.True(t, ledgerCheck(t, s).OK)
	})
}
