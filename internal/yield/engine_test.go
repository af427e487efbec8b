package yield_test

import (
	"context"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/internal/yield"
	"github.com/payflow/payflow/models"
)

type env struct {
	db       *store.DB
	st       *store.Store
	l        *ledger.Ledger
	clearing string
}

func newEnv(t *testing.T, b testenv.Backend) env {
	db := testenv.Open(t, b)
	l := ledger.New(db)
	c, err := l.EnsureAccount(context.Background(), ledger.ClearingSpec("banksim", "CNY"))
	require.NoError(t, err)
	return env{db: db, st: store.New(db, nil), l: l, clearing: c}
}

// wallet opens a wallet of currency with balance, opted in (or not) at optedAt.
func (e env) wallet(t *testing.T, c models.Currency, balance int64, optIn bool, optedAt time.Time) string {
	t.Helper()
	ctx := context.Background()
	id := models.NewID(models.PrefixAccount)
	require.NoError(t, e.db.Transaction(func(tx *gorm.DB) error {
		return ledger.InsertWallet(tx, ledger.NewWallet(id, "mch_a", c, ""))
	}))
	if balance > 0 {
		e.topup(t, id, c, balance)
	}
	if optIn {
		require.NoError(t, e.st.SetYieldOptIn(ctx, id, "mch_a", true, optedAt))
	}
	return id
}

func (e env) topup(t *testing.T, id string, c models.Currency, amount int64) {
	t.Helper()
	clearing := e.clearing
	if c != "CNY" {
		var err error
		clearing, err = e.l.EnsureAccount(context.Background(), ledger.ClearingSpec("banksim", c))
		require.NoError(t, err)
	}
	require.NoError(t, e.l.Run(context.Background(), func(tx *ledger.Tx) error {
		_, err := tx.Post(ledger.Posting{Key: "topup/" + models.NewID("k_") + "/credit", Flow: models.FlowTopup, FlowID: id, Currency: c,
			Legs: []ledger.Leg{{AccountID: clearing, Amount: -amount}, {AccountID: id, Amount: amount}}})
		return err
	}))
}

// moveEntries dates every entry created since `since` at `to`: the test's way to say
// when money moved (postings are dated by the clock).
func (e env) moveEntries(t *testing.T, since, to time.Time) {
	t.Helper()
	require.NoError(t, testenv.DateEntries(e.db, to, "created_at >= ?", since.UTC()))
}

func (e env) balance(t *testing.T, id string) int64 {
	t.Helper()
	a, err := e.l.Account(context.Background(), "", id)
	require.NoError(t, err)
	return a.Balance
}

func (e env) yieldJournals(t *testing.T) int64 {
	var n int64
	require.NoError(t, e.db.Table("journals").Where("flow = ?", "yield").Count(&n).Error)
	return n
}

// exact is floor(sum of balance_i × income_i / 10^10), and its remainder, in big
// integers: the arithmetic the engine must match, computed independently.
func exact(balances, incomes []int64) (int64, int64) {
	sum := new(big.Int)
	for i := range balances {
		sum.Add(sum, new(big.Int).Mul(big.NewInt(balances[i]), big.NewInt(incomes[i])))
	}
	q, r := new(big.Int).QuoRem(sum, big.NewInt(models.YieldDenominator), new(big.Int))
	return q.Int64(), r.Int64()
}

func TestCreditDays(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, b)
			const d1, d2, d3 = "2026-01-10", "2026-01-11", "2026-01-12"
			end1, _ := models.YieldDayEnd(d1)
			end2, _ := models.YieldDayEnd(d2)
			noon1 := end1.Add(-12 * time.Hour)
			const inc1, inc2 = 512345, 498765

			mark := time.Now().Add(-time.Second)
			const n = 300
			ids := make([]string, n)
			start := make(map[string]int64, n)
			for i := range ids {
				bal := int64(i)*123457 + 7
				ids[i] = e.wallet(t, "CNY", bal, i%10 != 3, noon1)
				start[ids[i]] = bal
			}
			usd := e.wallet(t, "USD", 5_000_000, true, noon1)
			late := e.wallet(t, "CNY", 9_000_000, true, end1.Add(time.Minute)) // opted in after d1 ended
			e.moveEntries(t, mark, noon1)
			// Money that arrives after d1's end earns from d2 on.
			mark = time.Now().Add(-time.Second)
			e.topup(t, ids[1], "CNY", 1_000_000)
			e.moveEntries(t, mark, end1.Add(time.Minute))

			eng := &yield.Engine{DB: e.db, Ledger: e.l, PageSize: 64}
			var cps []yield.Checkpoint
			job := yield.Job{RunID: "yr_1", Day: d1, IncomePer10k: inc1, Progress: func(cp yield.Checkpoint) { cps = append(cps, cp) }}
			mark = time.Now().Add(-time.Second)
			tot1, err := eng.Credit(ctx, job)
			require.NoError(t, err)
			require.Len(t, cps, (n*9/10+63)/64, "one checkpoint per page")

			var want1 int64
			for i, id := range ids {
				got := e.balance(t, id)
				if i == 1 {
					got -= 1_000_000
				}
				if i%10 == 3 {
					require.Equal(t, start[id], got, "wallet %d did not opt in", i)
					continue
				}
				c, _ := exact([]int64{start[id]}, []int64{inc1})
				require.Equal(t, start[id]+c, got, "wallet %d", i)
				want1 += c
			}
			require.Equal(t, models.YieldTotals{Wallets: n * 9 / 10, Credited: want1, Carried: tot1.Carried}, tot1)
			require.Equal(t, int64(5_000_000), e.balance(t, usd), "a USD wallet earns nothing")
			require.Equal(t, int64(9_000_000), e.balance(t, late), "opted in after the day's end")
			journals := e.yieldJournals(t)

			// A rerun of the day, and a rerun after rows were lost (a crash between the
			// journals and the rows): the same totals, nothing posted twice.
			again, err := eng.Credit(ctx, yield.Job{RunID: "yr_1", Day: d1, IncomePer10k: inc1})
			require.NoError(t, err)
			require.Equal(t, tot1, again)
			require.NoError(t, e.db.Exec("DELETE FROM yield_days WHERE account_id IN ?", ids[:100]).Error)
			again, err = eng.Credit(ctx, yield.Job{RunID: "yr_1", Day: d1, IncomePer10k: inc1})
			require.NoError(t, err)
			require.Equal(t, tot1, again)
			require.Equal(t, journals, e.yieldJournals(t))

			// The day's credits were posted after its end.
			e.moveEntries(t, mark, end1.Add(time.Hour))
			_, err = eng.Credit(ctx, yield.Job{RunID: "yr_2", Day: d2, IncomePer10k: inc2})
			require.NoError(t, err)
			for i, id := range ids {
				if i%10 == 3 {
					continue
				}
				// Over two days the wallet got exactly the floor of both days' exact
				// income, the remainder carried.
				b1 := start[id]
				c1, _ := exact([]int64{b1}, []int64{inc1})
				b2 := b1 + c1
				if i == 1 {
					b2 += 1_000_000
				}
				want, rem := exact([]int64{b1, b2}, []int64{inc1, inc2})
				require.Equal(t, start[id]+want, e.balance(t, id)-map[bool]int64{true: 1_000_000}[i == 1], "wallet %d", i)
				s, err := e.st.YieldSummary(ctx, id, 10)
				require.NoError(t, err)
				require.Equal(t, want, s.TotalCredited)
				require.Equal(t, rem, s.Carry)
				require.Len(t, s.Days, 2)
				require.Equal(t, b2, s.Days[0].Balance)
			}

			// A range resumed from a checkpoint credits only what follows it.
			e.moveEntries(t, time.Now().Add(-time.Minute), end2.Add(time.Hour))
			tot3, err := eng.Credit(ctx, yield.Job{RunID: "yr_3", Day: d3, IncomePer10k: inc2,
				Resume: &yield.Checkpoint{LastAccount: ids[149], Totals: models.YieldTotals{Wallets: 7}}})
			require.NoError(t, err)
			var before int64
			require.NoError(t, e.db.Table("yield_days").Where("day = ? AND account_id <= ?", d3, ids[149]).Count(&before).Error)
			require.Zero(t, before)
			// 135 opted-in wallets after the checkpoint, and the one opted in late.
			require.Equal(t, int64(7+135+1), tot3.Wallets)

			rep, err := e.l.Check(ctx)
			require.NoError(t, err)
			require.True(t, rep.OK, "%+v", rep)
		})
	}
}

func TestCreditRefusesADayNotEnded(t *testing.T) {
	e := newEnv(t, testenv.SQLite)
	eng := &yield.Engine{DB: e.db, Ledger: e.l}
	_, err := eng.Credit(context.Background(), yield.Job{RunID: "yr_1", Day: models.YieldDayOf(time.Now()), IncomePer10k: 1})
	require.ErrorIs(t, err, yield.ErrDayNotEnded)
}

func TestPlan(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			e := newEnv(t, b)
			ctx := context.Background()
			for i := 0; i < 25; i++ {
				require.NoError(t, e.st.SetYieldOptIn(ctx, models.NewID(models.PrefixAccount), "mch_a", true, time.Now()))
			}
			eng := &yield.Engine{DB: e.db, Ledger: e.l}
			for _, tc := range []struct{ size, max, want int }{{10, 1000, 3}, {10, 2, 2}, {100, 10, 1}, {5, 1000, 6}} {
				rs, err := eng.Plan(ctx, tc.size, tc.max)
				require.NoError(t, err)
				require.Len(t, rs, tc.want, "%+v", tc)
				require.Equal(t, "", rs[0].After)
				require.Equal(t, "", rs[len(rs)-1].UpTo)
				for i := 1; i < len(rs); i++ {
					require.Equal(t, rs[i-1].UpTo, rs[i].After)
				}
			}
		})
	}
}

// The ledger check knows the fund income account: it only pays income out, so a
// journal that makes it positive (money into it from a wallet) breaks the check.
func TestCheckReportsPositiveFundIncome(t *testing.T) {
	e := newEnv(t, testenv.SQLite)
	ctx := context.Background()
	w := e.wallet(t, "CNY", 500, false, time.Now())
	income, err := e.l.EnsureAccount(ctx, ledger.FundIncomeSpec("CNY"))
	require.NoError(t, err)
	require.NoError(t, e.l.Run(ctx, func(tx *ledger.Tx) error {
		_, err := tx.Post(ledger.Posting{Key: "wrong/way", Flow: models.FlowYield, FlowID: "yr_x", Currency: "CNY",
			Legs: []ledger.Leg{{AccountID: w, Amount: -100}, {AccountID: income, Amount: 100}}})
		return err
	}))
	rep, err := e.l.Check(ctx)
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, []ledger.AccountItem{{AccountID: income, Kind: "fund_income", Computed: 100}}, rep.PositiveFundIncome)
}

// Range activities that start together all ensure the fund income account: the one
// whose insert loses to another's answers the winner's account (it failed the run's
// ranges before). The race is forced: another creator's row lands between the
// loser's lookup and its insert.
func TestFundIncomeAccountCreatedConcurrently(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			e := newEnv(t, b)
			var once sync.Once
			require.NoError(t, e.db.Callback().Create().Before("gorm:create").Register("test:race", func(tx *gorm.DB) {
				if tx.Statement.Table != "accounts" {
					return
				}
				once.Do(func() {
					require.NoError(t, e.db.Exec(`INSERT INTO accounts (id, system_key, merchant_id, kind, currency, channel, reference, track_balance, created_at)
						VALUES ('acct_winner', 'fund_income/CNY', '', 'fund_income', 'CNY', '', '', 0, ?)`, time.Now().UTC()).Error)
				})
			}))
			id, err := e.l.EnsureAccount(context.Background(), ledger.FundIncomeSpec("CNY"))
			require.NoError(t, err)
			require.Equal(t, "acct_winner", id)
		})
	}
}
