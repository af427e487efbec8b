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
// records of that day and the ledger's clearing entries of them: the line
// differences are one amount_mismatch, one missing_on_our_side and one
// missing_at_bank, and they explain the whole gap between the balances.
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
	// The bank: +1000 +500 -200 +70 = 1370.
	for _, l := range []string{
		`"reference":"pay_a","kind":"charge","amount":1000`,
		`"reference":"pay_b","kind":"charge","amount":500`,
		`"reference":"re_a","kind":"refund","amount":200`,
		`"reference":"pay_ghost","kind":"charge","amount":70`,
		`"reference":"pay_f","kind":"charge","amount":90,"status":"failed"`,
	} {
		if !strings.Contains(l, "status") {
			l += `,"status":"succeeded"`
		}
		e.post(t, "/sim/statement/inject", `{"date":"2026-03-01","currency":"EUR",`+l+`}`)
	}
	// Ours and the ledger: -1000 -400 +200 +300 = -900 on the clearing account.
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	require.NoError(t, st.DB().Exec(`INSERT INTO accounts (id, system_key, merchant_id, kind, currency, channel, track_balance, balance, held, version, created_at)
		VALUES ('acct_clr', 'bank_clearing/banksim/EUR', '', 'bank_clearing', 'EUR', 'banksim', 0, 0, 0, 0, ?)`, at).Error)
	for i, tr := range []struct {
		ref, kind, status string
		amount, clearing  int64
	}{
		{"pay_a", "charge", "succeeded", 1000, -1000},
		{"pay_b", "charge", "succeeded", 400, -400},
		{"re_a", "refund", "succeeded", 200, 200},
		{"wd_c", "payout", "succeeded", 300, 300},
		{"pay_f", "charge", "failed", 90, 0},
	} {
		require.NoError(t, st.DB().Exec(`INSERT INTO bank_transfers (reference, channel, kind, merchant_id, amount, currency, status, created_at)
			VALUES (?, 'banksim', ?, 'mch_demo', ?, 'EUR', ?, ?)`, tr.ref, tr.kind, tr.amount, tr.status, at).Error)
		if tr.clearing != 0 {
			require.NoError(t, st.DB().Exec(`INSERT INTO entries (id, journal_id, account_id, amount, currency, created_at)
				VALUES (?, ?, 'acct_clr', ?, 'EUR', ?)`, fmt.Sprintf("ent_%d", i), "jnl_"+tr.ref, tr.clearing, at).Error)
		}
	}
	return e
}

func (e *balanceEnv) post(t *testing.T, path, body string) {
	t.Helper()
	resp, err := http.Post(e.sim+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, path+" "+body)
}

// A gap that the line differences explain is no difference; one that a bank
// booking without a line makes (an adjustment) is exactly one balance_gap, also
// when the check runs again.
func TestCheckBalances(t *testing.T) {
	tests := []struct {
		name   string
		adjust string // a planted booking of the bank, if any
		ledger int64  // an extra clearing entry of the day, if any
		want   []string
	}{
		{name: "explained by the line differences"},
		{name: "bank adjustment", adjust: `{"day":"2026-03-01","currency":"EUR","amount":25}`,
			want: []string{"balance_gap balance/EUR bank=1395 ledger=-900"}},
		{name: "adjustment of another day", adjust: `{"day":"2026-03-02","currency":"EUR","amount":25}`},
		{name: "adjustment in another currency", adjust: `{"day":"2026-03-01","currency":"CNY","amount":-5}`,
			want: []string{"balance_gap balance/CNY bank=-5 ledger=0"}},
		{name: "ledger entry without a line", ledger: -40,
			want: []string{"balance_gap balance/EUR bank=1370 ledger=-940"}},
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
						VALUES ('ent_extra', 'jnl_extra', 'acct_clr', ?, 'EUR', ?)`, tt.ledger, time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)).Error)
				}
				var suite testsuite.WorkflowTestSuite
				env := suite.NewTestActivityEnvironment()
				env.RegisterActivity(e.acts)
				in := models.ReconcileStatementInput{ReconciliationID: "rec_bal1", Channel: sim.Name, Date: "2026-03-01"}
				v, err := env.ExecuteActivity(e.acts.ReconcileStatement, in)
				require.NoError(t, err)
				var rs models.ReconcileStatementResult
				require.NoError(t, v.Get(&rs))
				require.Equal(t, int64(3), rs.Counts.Differences(), "amount_mismatch pay_b, missing_on_our_side pay_ghost, missing_at_bank wd_c")

				for range 2 { // a retry finds the same and stores nothing twice
					v, err = env.ExecuteActivity(e.acts.CheckBalances, models.CheckBalancesInput{
						ReconciliationID: "rec_bal1", Channel: sim.Name, Date: "2026-03-01",
					})
					require.NoError(t, err)
					var res models.CheckBalancesResult
					require.NoError(t, v.Get(&res))
					require.Equal(t, models.CheckBalancesResult{Checked: true, BalanceGap: int64(len(tt.want))}, res)
					require.Equal(t, tt.want, balanceGapsOf(t, e.st, "rec_bal1"))
				}
			})
		}
	}
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
