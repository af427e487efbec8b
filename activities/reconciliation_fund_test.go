package activities_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// fundFiles serves the fund company's files from memory: date -> file -> text.
type fundFiles map[string]map[string]string

func (f fundFiles) open(date, name string) (io.ReadCloser, error) {
	text, ok := f[date][name]
	if !ok {
		return nil, fmt.Errorf("%w: no %s of %s", activities.ErrFundUnavailable, name, date)
	}
	return io.NopCloser(strings.NewReader(text)), nil
}

func (f fundFiles) Confirmations(_ context.Context, date string) (io.ReadCloser, error) {
	return f.open(date, "confirmations.csv")
}

func (f fundFiles) Holdings(_ context.Context, date string) (io.ReadCloser, error) {
	return f.open(date, "holdings.csv")
}

func (f fundFiles) Income(_ context.Context, date string) (io.ReadCloser, error) {
	return f.open(date, "income.csv")
}

const confirmationsHead = "order_id,kind,product_id,trade_date,status,nav,shares,amount,fee,reason\n"

// seedFundOrder stores a fund order of prd_bond as our flows leave it.
func seedFundOrder(t *testing.T, st *store.Store, id, status string, amount, shares, fee int64, confirmedAt *time.Time, failure string) {
	t.Helper()
	kind := "subscription"
	if strings.HasPrefix(id, models.PrefixRedemption) {
		kind = "redemption"
	}
	created := time.Date(2026, 10, 9, 2, 0, 0, 0, time.UTC)
	updated := created
	nav := int64(0)
	if confirmedAt != nil {
		updated, nav = *confirmedAt, 10000
	}
	if failure != "" {
		updated = time.Date(2026, 10, 12, 3, 0, 0, 0, time.UTC)
	}
	require.NoError(t, st.DB().Exec(`INSERT INTO fund_orders (id, kind, merchant_id, account_id, product_id, currency, status, amount, shares, nav, fee,
		trade_date, expected_confirm_date, failure_code, created_at, confirmed_at, updated_at)
		VALUES (?, ?, 'mch_demo', 'acc_w', 'prd_bond', 'CNY', ?, ?, ?, ?, ?, '2026-10-09', '2026-10-12', ?, ?, ?, ?)`,
		id, kind, status, amount, shares, nav, fee, failure, created, confirmedAt, updated).Error)
}

// seedShareEntry appends an entry of amount to the share clearing account of product at at.
func seedShareEntry(t *testing.T, st *store.Store, product string, amount int64, at time.Time) {
	t.Helper()
	db := st.DB()
	acct := "acct_shr_" + product
	require.NoError(t, db.Exec(`INSERT INTO accounts (id, system_key, kind, currency, track_balance, created_at)
		SELECT ?, ?, 'fund_shares', ?, 0, ? WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE id = ?)`, acct, acct, "SHR."+product, at, acct).Error)
	jnl := models.NewID("jnl_")
	require.NoError(t, db.Exec(`INSERT INTO journals (id, idempotency_key, flow, flow_id, created_at) VALUES (?, ?, 'subscription', ?, ?)`, jnl, jnl, jnl, at).Error)
	require.NoError(t, db.Exec(`INSERT INTO entries (id, journal_id, account_id, amount, currency, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		models.NewID("ent_"), jnl, acct, amount, "SHR."+product, at).Error)
}

// The fund company's run of a date: its confirmations matched with our orders by
// order id (each difference stored once, also on a retry), the orders one side has
// not decided carried to the next days, then reported; its holdings checked
// against our wallets' shares at the date's end.
func TestReconcileFund(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			acts, st, _ := newReconciliation(t, b)
			ctx := context.Background()
			at := func(s string) *time.Time {
				v, err := time.Parse(time.RFC3339, s)
				require.NoError(t, err)
				return &v
			}
			// 2026-10-12 in Asia/Shanghai is 2026-10-11T16:00Z to 2026-10-12T16:00Z.
			seedFundOrder(t, st, "sub_ok", "confirmed", 100000, 99850, 150, at("2026-10-12T02:00:00Z"), "")
			seedFundOrder(t, st, "sub_shares", "confirmed", 100000, 99000, 150, at("2026-10-12T02:00:00Z"), "")
			seedFundOrder(t, st, "sub_fee", "confirmed", 100000, 99850, 100, at("2026-10-11T16:30:00Z"), "")
			seedFundOrder(t, st, "red_paid", "paid", 49900, 50000, 100, at("2026-10-12T02:00:00Z"), "")
			seedFundOrder(t, st, "sub_rej", "failed", 100000, 0, 0, nil, "rejected_by_fund")
			seedFundOrder(t, st, "sub_status", "failed", 100000, 0, 0, nil, "rejected_by_fund")
			seedFundOrder(t, st, "sub_pending", "processing", 100000, 0, 0, nil, "")
			seedFundOrder(t, st, "sub_lost", "confirmed", 100000, 99850, 150, at("2026-10-12T09:00:00Z"), "")
			// Decided (by both sides) the day before in our time: found by its id.
			seedFundOrder(t, st, "sub_early", "confirmed", 100000, 99850, 150, at("2026-10-11T10:00:00Z"), "")
			// Of another day entirely: not ours on 10-12.
			seedFundOrder(t, st, "sub_other", "confirmed", 100000, 99850, 150, at("2026-10-20T17:00:00Z"), "")

			acts.FundFiles = fundFiles{
				"2026-10-12": {
					"confirmations.csv": confirmationsHead +
						"sub_ok,subscription,prd_bond,2026-10-09,confirmed,10000,99850,100000,150,\n" +
						"sub_shares,subscription,prd_bond,2026-10-09,confirmed,10000,99850,100000,150,\n" +
						"sub_fee,subscription,prd_bond,2026-10-09,confirmed,10000,99850,100000,150,\n" +
						"red_paid,redemption,prd_bond,2026-10-09,confirmed,10000,50000,49900,100,\n" +
						"sub_rej,subscription,prd_bond,2026-10-09,rejected,0,0,100000,0,rejected_by_fund\n" +
						"sub_status,subscription,prd_bond,2026-10-09,confirmed,10000,99850,100000,150,\n" +
						"sub_pending,subscription,prd_bond,2026-10-09,confirmed,10000,99850,100000,150,\n" +
						"sub_early,subscription,prd_bond,2026-10-09,confirmed,10000,99850,100000,150,\n" +
						"sub_ghost,subscription,prd_bond,2026-10-09,confirmed,10000,99850,100000,150,\n" +
						"sub_ok,subscription,prd_bond,2026-10-09,confirmed,10000,99850,100000,150,\n" +
						"sub_bad,subscription,prd_bond,2026-10-09,confirmed,x,99850,100000,150,\n",
					"holdings.csv": "product_id,shares\nprd_mmf,500\nprd_bond,199700\nprd_equity,0\n",
				},
				"2026-10-11": {"confirmations.csv": confirmationsHead},
				"2026-10-13": {"confirmations.csv": confirmationsHead},
				"2026-10-14": {"confirmations.csv": confirmationsHead},
			}
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(acts)
			runDay := func(day string) (string, models.ReconciliationCounts) {
				rec, _, err := st.OpenReconciliation(ctx, store.OpenReconciliationRequest{
					ID: models.NewID(models.PrefixReconciliation), Channel: models.ReconChannelFund, Day: day,
				})
				require.NoError(t, err)
				in := models.ReconcileStatementInput{ReconciliationID: rec.ID, Channel: models.ReconChannelFund, Date: day}
				var res models.ReconcileStatementResult
				for range 2 { // a retry stores nothing twice and counts the same
					v, err := env.ExecuteActivity(acts.ReconcileStatement, in)
					require.NoError(t, err)
					require.NoError(t, v.Get(&res))
				}
				_, err = st.FinishReconciliation(ctx, models.FinishReconciliationInput{ReconciliationID: rec.ID, Status: models.ReconciliationCompleted, Counts: res.Counts})
				require.NoError(t, err)
				return rec.ID, res.Counts
			}

			first, c := runDay("2026-10-12")
			require.Equal(t, models.ReconciliationCounts{
				StatementLines: 11, OurRecords: 8, Matched: 4, AmountMismatch: 2, StatusMismatch: 1, MissingOnOurSide: 1,
				DuplicateReference: 1, Malformed: 1, InTransit: 2,
			}, c)
			require.ElementsMatch(t, []string{
				"amount_mismatch sub_shares", "amount_mismatch sub_fee", "status_mismatch sub_status", "missing_on_our_side sub_ghost",
				"duplicate_reference sub_ok", "malformed sub_bad", "in_transit sub_pending", "in_transit sub_lost",
			}, differences(t, st, first))
			page, _, err := st.ListDifferences(ctx, store.DifferenceQuery{ReconciliationID: first, Limit: 100})
			require.NoError(t, err)
			for _, d := range page {
				switch d.Reference {
				case "sub_shares":
					require.Equal(t, &models.DifferenceSide{Kind: "subscription", Amount: 99000, Currency: "SHR.prd_bond", Status: "confirmed"}, d.Ours)
					require.Equal(t, &models.DifferenceSide{Kind: "subscription", Amount: 99850, Currency: "SHR.prd_bond", Status: "confirmed"}, d.Bank)
				case "sub_fee":
					require.Equal(t, &models.DifferenceSide{Kind: "subscription", Amount: 100, Currency: "FEE.CNY", Status: "confirmed"}, d.Ours)
					require.Equal(t, &models.DifferenceSide{Kind: "subscription", Amount: 150, Currency: "FEE.CNY", Status: "confirmed"}, d.Bank)
				case "sub_ghost":
					require.Nil(t, d.Ours)
					require.Equal(t, int64(10), d.Line)
				}
			}

			// The holdings: prd_bond agrees at the date's end (an entry after it is
			// tomorrow's), prd_mmf is held at the fund and not in our ledger.
			seedShareEntry(t, st, "prd_bond", -199700, time.Date(2026, 10, 12, 3, 0, 0, 0, time.UTC))
			seedShareEntry(t, st, "prd_bond", -1000, time.Date(2026, 10, 12, 16, 0, 0, 0, time.UTC))
			for range 2 {
				v, err := env.ExecuteActivity(acts.CheckBalances, models.CheckBalancesInput{ReconciliationID: first, Channel: models.ReconChannelFund, Date: "2026-10-12"})
				require.NoError(t, err)
				var bal models.CheckBalancesResult
				require.NoError(t, v.Get(&bal))
				require.Equal(t, models.CheckBalancesResult{Checked: true, BalanceGap: 1}, bal)
			}
			gaps := balanceGapsOf(t, st, first)
			require.Equal(t, []string{"balance_gap balance/SHR.prd_mmf bank=500 ledger=0"}, gaps)

			// sub_early, decided by our flow on 10-11, was listed by the file of
			// 10-12 and judged there: the run of 10-11 does not report it missing.
			earlier, c := runDay("2026-10-11")
			require.Equal(t, models.ReconciliationCounts{}, c)
			require.Empty(t, differences(t, st, earlier))

			// Our flow records sub_pending's confirmation the next day: matched with
			// the line the first day carried. sub_lost is still missing at the fund.
			require.NoError(t, st.DB().Exec(`UPDATE fund_orders SET status = 'confirmed', shares = 99850, nav = 10000, fee = 150, confirmed_at = ?, updated_at = ?
				WHERE id = 'sub_pending'`, at("2026-10-13T01:00:00Z"), at("2026-10-13T01:00:00Z")).Error)
			second, c := runDay("2026-10-13")
			require.Equal(t, models.ReconciliationCounts{OurRecords: 2, Matched: 1, InTransit: 1}, c)
			require.Equal(t, []string{"in_transit sub_lost"}, differences(t, st, second))

			third, c := runDay("2026-10-14")
			require.Equal(t, models.ReconciliationCounts{OurRecords: 1, MissingAtBank: 1}, c)
			page, _, err = st.ListDifferences(ctx, store.DifferenceQuery{ReconciliationID: third, Limit: 10})
			require.NoError(t, err)
			require.Len(t, page, 1)
			require.Equal(t, "sub_lost", page[0].Reference)
			require.Equal(t, "2026-10-12", page[0].Since)
			require.Equal(t, &models.DifferenceSide{Kind: "subscription", Amount: 100000, Currency: "CNY", Status: "confirmed"}, page[0].Ours)
		})
	}
}

// A fund run is opened like a channel's, and refused when the fund company's
// files are not configured; an unreadable confirmations file fails the run.
func TestFundReconciliationChannel(t *testing.T) {
	acts, _, starts := newReconciliation(t, testenv.SQLite)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	_, err := env.ExecuteActivity(acts.OpenReconciliation, models.OpenReconciliationInput{Channel: models.ReconChannelFund, Date: "2026-10-12"})
	require.ErrorContains(t, err, "not configured")

	acts.FundFiles = fundFiles{"2026-10-12": {"confirmations.csv": "order_id,kind\n"}}
	v, err := env.ExecuteActivity(acts.OpenReconciliation, models.OpenReconciliationInput{Channel: models.ReconChannelFund, Date: "2026-10-12"})
	require.NoError(t, err)
	var open models.OpenReconciliationResult
	require.NoError(t, v.Get(&open))
	require.True(t, open.Created)
	require.Equal(t, []bool{true}, starts.calls)

	_, err = env.ExecuteActivity(acts.ReconcileStatement, models.ReconcileStatementInput{ReconciliationID: open.ReconciliationID, Channel: models.ReconChannelFund, Date: "2026-10-12"})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, models.ErrTypeStatementUnreadable, appErr.Type())
}

// The income file is checked against the income the day's yield run paid: the same
// income is no difference, another is one balance_gap income/prd_mmf (stored once
// however often the check runs), and a day without a run compares nothing.
func TestFundReconciliationChecksTheYieldIncome(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			acts, st, _ := newReconciliation(t, b)
			ctx := context.Background()
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(acts)
			check := func(day, income string) []string {
				t.Helper()
				acts.FundFiles = fundFiles{day: {"holdings.csv": "product_id,shares\nprd_bond,0\n", "income.csv": income}}
				rec, _, err := st.OpenReconciliation(ctx, store.OpenReconciliationRequest{
					ID: models.NewID(models.PrefixReconciliation), Channel: models.ReconChannelFund, Day: day,
				})
				require.NoError(t, err)
				for range 2 {
					_, err := env.ExecuteActivity(acts.CheckBalances, models.CheckBalancesInput{ReconciliationID: rec.ID, Channel: models.ReconChannelFund, Date: day})
					require.NoError(t, err)
				}
				return balanceGapsOf(t, st, rec.ID)
			}
			for i, day := range []string{"2026-10-12", "2026-10-13", "2026-10-14"} {
				id := fmt.Sprintf("yr_t%d", i)
				_, _, err := st.OpenYieldRun(ctx, id, models.YieldProduct, day, "yield/prd_mmf/"+day)
				require.NoError(t, err)
				require.NoError(t, st.DB().Exec("UPDATE yield_runs SET income_per_10k = 512300 WHERE id = ?", id).Error)
			}
			head := "date,product_id,income_per_10k\n"
			require.Empty(t, check("2026-10-12", head+"2026-10-12,prd_mmf,512300\n"))
			require.Equal(t, []string{"balance_gap income/prd_mmf bank=512301 ledger=512300"}, check("2026-10-13", head+"2026-10-13,prd_mmf,512301\n"))
			require.Equal(t, []string{"balance_gap income/prd_mmf bank=0 ledger=512300"}, check("2026-10-14", head))
			require.Empty(t, check("2026-10-15", "this file is never read"), "no run of the day, nothing to compare")
		})
	}
}
