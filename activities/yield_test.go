package activities_test

import (
	"context"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"gorm.io/gorm"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/internal/yield"
	"github.com/payflow/payflow/models"
)

// A range's worker dies in the middle (between a page's journals and its rows): the
// next attempt, handed the last heartbeat's checkpoint as the server would, resumes
// after it, repairs the page that was cut off, and every wallet is credited exactly
// once, its exact income, with the range's totals what one clean pass would answer.
func TestCreditYieldRangeResumes(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			ctx := context.Background()
			db := testenv.Open(t, b)
			l := ledger.New(db)
			st := store.New(db, nil)
			clearing, err := l.EnsureAccount(ctx, ledger.ClearingSpec("banksim", "CNY"))
			require.NoError(t, err)
			const day, income = "2026-02-02", 987654
			end, err := models.YieldDayEnd(day)
			require.NoError(t, err)

			const n = 200
			ids := make([]string, n)
			start := map[string]int64{}
			for i := range ids {
				ids[i] = models.NewID(models.PrefixAccount)
				require.NoError(t, db.Transaction(func(tx *gorm.DB) error {
					return ledger.InsertWallet(tx, ledger.NewWallet(ids[i], "mch_a", "CNY", ""))
				}))
				start[ids[i]] = int64(i+1) * 1_234_567
				require.NoError(t, l.Run(ctx, func(tx *ledger.Tx) error {
					_, err := tx.Post(ledger.Posting{Key: "topup/" + ids[i] + "/credit", Flow: models.FlowTopup, FlowID: ids[i], Currency: "CNY",
						Legs: []ledger.Leg{{AccountID: clearing, Amount: -start[ids[i]]}, {AccountID: ids[i], Amount: start[ids[i]]}}})
					return err
				}))
				require.NoError(t, st.SetYieldOptIn(ctx, ids[i], "mch_a", true, end.Add(-time.Hour)))
			}
			require.NoError(t, testenv.DateEntries(db, end.Add(-time.Hour), ""))

			acts := &activities.Yield{Engine: &yield.Engine{DB: db, Ledger: l, PageSize: 16}, Store: st, Log: logrus.NewEntry(logrus.New())}
			in := models.CreditYieldRangeInput{RunID: "yr_resume", Date: day, IncomePer10k: income}

			// The first attempt dies between its fourth page's journals and that page's
			// rows: its context ends as the rows are about to be written.
			var s testsuite.WorkflowTestSuite
			first := s.NewTestActivityEnvironment()
			dying, die := context.WithCancel(context.Background())
			defer die()
			first.SetWorkerOptions(worker.Options{BackgroundActivityContext: dying})
			first.RegisterActivity(acts)
			var pages atomic.Int32
			require.NoError(t, db.Callback().Create().Before("gorm:create").Register("test:die", func(tx *gorm.DB) {
				if tx.Statement.Table == "yield_days" && pages.Add(1) == 4 {
					die()
				}
			}))
			_, err = first.ExecuteActivity(acts.CreditYieldRange, in)
			require.Error(t, err, "the first attempt died")
			require.NoError(t, db.Callback().Create().Remove("test:die"))

			// What its last heartbeat carried: the three pages recorded.
			var rows []struct {
				AccountID string
				Income    int64
				Carry     int64
			}
			require.NoError(t, db.Table("yield_days").Order("account_id").Scan(&rows).Error)
			require.Len(t, rows, 48)
			last := yield.Checkpoint{LastAccount: rows[47].AccountID, Pages: 3}
			for _, r := range rows {
				last.Totals = last.Totals.Add(models.YieldTotals{Wallets: 1, Credited: r.Income, Carried: r.Carry})
			}
			require.Equal(t, ids[47], last.LastAccount)
			var before int64
			require.NoError(t, db.Table("journals").Where("flow = ?", "yield").Count(&before).Error)
			require.Equal(t, int64(64), before, "four pages posted, three recorded")

			second := s.NewTestActivityEnvironment()
			second.RegisterActivity(acts)
			second.SetHeartbeatDetails(last)
			v, err := second.ExecuteActivity(acts.CreditYieldRange, in)
			require.NoError(t, err)
			var res models.CreditYieldRangeResult
			require.NoError(t, v.Get(&res))
			require.True(t, res.Resumed)

			var want models.YieldTotals
			var credited int64
			for _, id := range ids {
				q, r := new(big.Int).QuoRem(new(big.Int).Mul(big.NewInt(start[id]), big.NewInt(income)), big.NewInt(models.YieldDenominator), new(big.Int))
				want = want.Add(models.YieldTotals{Wallets: 1, Credited: q.Int64(), Carried: r.Int64()})
				a, err := l.Account(ctx, "", id)
				require.NoError(t, err)
				require.Equal(t, start[id]+q.Int64(), a.Balance, "wallet %s credited once, exactly", id)
				if q.Sign() > 0 {
					credited++
				}
			}
			require.Equal(t, want, res.Totals)
			var journals, recorded int64
			require.NoError(t, db.Table("journals").Where("flow = ?", "yield").Count(&journals).Error)
			require.NoError(t, db.Table("yield_days").Where("day = ?", day).Count(&recorded).Error)
			require.Equal(t, credited, journals, "one journal per credited wallet")
			require.Equal(t, int64(n), recorded)
			rep, err := l.Check(ctx)
			require.NoError(t, err)
			require.True(t, rep.OK, "%+v", rep)
		})
	}
}
