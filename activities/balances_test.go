package activities_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/banksim"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/bank/sim"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/recon"
	"github.com/payflow/payflow/internal/secretbox"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// balanceEnv is a bank simulator in process with a statement of 2026-03-01, our
// payments of that day on banksim and their capture journals. The line differences
// are an amount_mismatch (pay_b), a missing_on_our_side (pay_ghost) and an
// in_transit item (pay_c, which the bank lists on 03-02), and they explain the
// whole gap between the day's balances.
type balanceEnv struct {
	acts *activities.Reconciliation
	st   *store.Store
	sim  string // the simulator's base URL
}

func newBalanceEnv(t *testing.T, b testenv.Backend) *balanceEnv {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	srv, err := banksim.New(banksim.Config{DBPath: filepath.Join(t.TempDir(), "banksim.db"), Logger: logrus.NewEntry(log)})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	st := store.New(testenv.Open(t, b), box)
	e := &balanceEnv{st: st, sim: ts.URL, acts: &activities.Reconciliation{
		Channels: bank.NewRegistry(sim.New(ts.URL, "", 5*time.Second), &statementBank{}),
		Store:    st, Log: logrus.NewEntry(log),
		Engine: recon.Config{ChunkLines: 2, PageSize: 2, TempDir: t.TempDir()}, HeartbeatEvery: 10 * time.Millisecond,
	}}
	// The bank on 03-01: +1000 +500 +70 = 1570 (pay_f failed); on 03-02: +300.
	for _, l := range []string{
		`"date":"2026-03-01","reference":"pay_a","amount":1000,"status":"succeeded"`,
		`"date":"2026-03-01","reference":"pay_b","amount":500,"status":"succeeded"`,
		`"date":"2026-03-01","reference":"pay_ghost","amount":70,"status":"succeeded"`,
		`"date":"2026-03-01","reference":"pay_f","amount":90,"status":"failed"`,
		`"date":"2026-03-02","reference":"pay_c","amount":300,"status":"succeeded"`,
	} {
		e.post(t, "/sim/statement/inject", `{"kind":"charge","currency":"CNY",`+l+`}`)
	}
	// Ours and the ledger on 03-01: -1000 -400 -300 = -1700 on the clearing account.
	for _, p := range []struct {
		id, status string
		amount     int64
	}{{"pay_a", "succeeded", 1000}, {"pay_b", "succeeded", 400}, {"pay_c", "succeeded", 300}, {"pay_f", "failed", 90}} {
		seedBanksimPayment(t, st, p.id, p.amount, p.status)
	}
	return e
}

// balanceDay is when the seeded payments and their journals were made.
var balanceDay = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// seedBanksimPayment stores a card payment on banksim with its bank transfer record
// and, when it succeeded, the journal of its capture (clearing debited).
func seedBanksimPayment(t *testing.T, st *store.Store, id string, amount int64, status string) {
	t.Helper()
	db, at := st.DB(), balanceDay
	require.NoError(t, db.Exec(`INSERT INTO payments (id, merchant_id, amount, currency, source_type, channel, status, workflow_id, created_at, updated_at)
		VALUES (?, 'mch_demo', ?, 'CNY', 'card', 'banksim', ?, ?, ?, ?)`, id, amount, status, "payment-"+id, at, at).Error)
	require.NoError(t, db.Exec(`INSERT INTO bank_transfers (reference, channel, kind, merchant_id, amount, currency, status, created_at)
		VALUES (?, 'banksim', 'charge', 'mch_demo', ?, 'CNY', ?, ?)`, id, amount, status, at).Error)
	if status != "succeeded" {
		return
	}
	for _, a := range [][3]string{{"acct_bclr", "bank_clearing/banksim/CNY", "bank_clearing"}, {"acct_bset", "merchant_settlement/mch_demo/CNY", "merchant_settlement"}} {
		require.NoError(t, db.Exec(`INSERT INTO accounts (id, system_key, kind, currency, channel, track_balance, created_at)
			SELECT ?, ?, ?, 'CNY', 'banksim', 0, ? WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE id = ?)`, a[0], a[1], a[2], at, a[0]).Error)
	}
	jnl := "jnl_" + id
	require.NoError(t, db.Exec(`INSERT INTO journals (id, idempotency_key, flow, flow_id, created_at) VALUES (?, ?, 'payment', ?, ?)`, jnl, jnl, id, at).Error)
	require.NoError(t, db.Exec(`INSERT INTO entries (id, journal_id, account_id, amount, currency, created_at) VALUES (?, ?, 'acct_bclr', ?, 'CNY', ?), (?, ?, 'acct_bset', ?, 'CNY', ?)`,
		"ent_c"+id, jnl, -amount, at, "ent_s"+id, jnl, amount, at).Error)
}

// runDay reconciles a day's statement and checks its balances as the workflow does,
// recording the run's end, and returns the run's id and the balance check's result.
func (e *balanceEnv) runDay(t *testing.T, day string, checks int) (string, models.CheckBalancesResult) {
	t.Helper()
	ctx := context.Background()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(e.acts)
	rec, _, err := e.st.OpenReconciliation(ctx, store.OpenReconciliationRequest{ID: models.NewID(models.PrefixReconciliation), Channel: sim.Name, Day: day})
	require.NoError(t, err)
	v, err := env.ExecuteActivity(e.acts.ReconcileStatement, models.ReconcileStatementInput{ReconciliationID: rec.ID, Channel: sim.Name, Date: day})
	require.NoError(t, err)
	var rs models.ReconcileStatementResult
	require.NoError(t, v.Get(&rs))
	var res models.CheckBalancesResult
	for i := 0; i < checks; i++ { // a retry finds the same and stores nothing twice
		v, err = env.ExecuteActivity(e.acts.CheckBalances, models.CheckBalancesInput{ReconciliationID: rec.ID, Channel: sim.Name, Date: day})
		require.NoError(t, err)
		require.NoError(t, v.Get(&res))
	}
	rs.Counts.BalanceGap = res.BalanceGap
	_, err = e.st.FinishReconciliation(ctx, models.FinishReconciliationInput{ReconciliationID: rec.ID, Status: models.ReconciliationCompleted, Counts: rs.Counts})
	require.NoError(t, err)
	return rec.ID, res
}

func (e *balanceEnv) post(t *testing.T, path, body string) {
	t.Helper()
	resp, err := http.Post(e.sim+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, path+" "+body)
}

// A gap that the line differences explain is no difference; one that a bank
// booking without a line makes (an adjustment), or a clearing entry without a
// transfer, is exactly one balance_gap, also when the check runs again.
func TestCheckBalances(t *testing.T) {
	tests := []struct {
		name   string
		adjust string // a planted booking of the bank, if any
		ledger int64  // an extra clearing entry of the day, if any
		want   []string
	}{
		{name: "explained by the line differences"},
		{name: "bank adjustment", adjust: `{"day":"2026-03-01","currency":"CNY","amount":25}`,
			want: []string{"balance_gap balance/CNY bank=1595 ledger=-1700"}},
		{name: "adjustment of another day", adjust: `{"day":"2026-03-05","currency":"CNY","amount":25}`},
		{name: "adjustment in another currency", adjust: `{"day":"2026-03-01","currency":"EUR","amount":-5}`,
			want: []string{"balance_gap balance/EUR bank=-5 ledger=0"}},
		{name: "ledger entry without a line", ledger: -40,
			want: []string{"balance_gap balance/CNY bank=1570 ledger=-1740"}},
	}
	for _, b := range testenv.Backends {
		for _, tt := range tests {
			t.Run(string(b)+"/"+tt.name, func(t *testing.T) {
				e := newBalanceEnv(t, b)
				if tt.adjust != "" {
					e.post(t, "/sim/balances/adjust", tt.adjust)
				}
				if tt.ledger != 0 {
					require.NoError(t, e.st.DB().Exec(`INSERT INTO entries (id, journal_id, account_id, amount, currency, created_at)
						VALUES ('ent_extra', 'jnl_extra', 'acct_bclr', ?, 'CNY', ?)`, tt.ledger, time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)).Error)
				}
				id, res := e.runDay(t, "2026-03-01", 2)
				require.Equal(t, models.CheckBalancesResult{Checked: true, BalanceGap: int64(len(tt.want))}, res)
				require.Equal(t, tt.want, balanceGapsOf(t, e.st, id))
				require.ElementsMatch(t, []string{"amount_mismatch pay_b", "missing_on_our_side pay_ghost", "in_transit pay_c"},
					nonGaps(t, e.st, id), "the line differences the gap is explained by")
			})
		}
	}
}

// An item carried in transit and matched the next day moves the bank's balance on
// that day while the ledger booked it the day before: the carried item explains it.
func TestCheckBalancesCarriedItem(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			e := newBalanceEnv(t, b)
			first, res := e.runDay(t, "2026-03-01", 1)
			require.Equal(t, models.CheckBalancesResult{Checked: true}, res)
			second, res := e.runDay(t, "2026-03-02", 1)
			require.Equal(t, models.CheckBalancesResult{Checked: true}, res, "pay_c's line (+300) is yesterday's in-transit item")
			require.Empty(t, nonGaps(t, e.st, second), "pay_c matched")
			require.Contains(t, nonGaps(t, e.st, first), "in_transit pay_c")
		})
	}
}

// nonGaps lists a run's differences other than balance gaps.
func nonGaps(t *testing.T, st *store.Store, recID string) []string {
	t.Helper()
	var out []string
	for _, d := range differences(t, st, recID) {
		if !strings.HasPrefix(d, string(models.DiffBalanceGap)) {
			out = append(out, d)
		}
	}
	return out
}

// balanceGapsOf lists a run's balance_gap differences with both sides' amounts.
func balanceGapsOf(t *testing.T, st *store.Store, recID string) []string {
	t.Helper()
	page, _, err := st.ListDifferences(context.Background(), store.DifferenceQuery{ReconciliationID: recID, Limit: 100})
	require.NoError(t, err)
	var out []string
	for _, d := range page {
		if d.Kind == models.DiffBalanceGap {
			out = append(out, fmt.Sprintf("%s %s bank=%d ledger=%d", d.Kind, d.Reference, d.Bank.Amount, d.Ledger.Amount))
		}
	}
	return out
}

// A channel that reports no balances is not checked.
func TestCheckBalancesSkipsChannelWithoutBalances(t *testing.T) {
	e := newBalanceEnv(t, testenv.SQLite)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(e.acts)
	v, err := env.ExecuteActivity(e.acts.CheckBalances, models.CheckBalancesInput{ReconciliationID: "rec_bal2", Channel: "testbank", Date: "2026-03-01"})
	require.NoError(t, err)
	var res models.CheckBalancesResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, models.CheckBalancesResult{}, res)
	require.Empty(t, balanceGapsOf(t, e.st, "rec_bal2"))

	_, err = env.ExecuteActivity(e.acts.CheckBalances, models.CheckBalancesInput{ReconciliationID: "rec_bal2", Channel: "nope", Date: "2026-03-01"})
	require.Error(t, err)
	_, err = env.ExecuteActivity(e.acts.CheckBalances, models.CheckBalancesInput{ReconciliationID: "rec_bal2", Channel: sim.Name, Date: "2026-3-1"})
	require.Error(t, err)
}
