package activities_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/metrics"
	"github.com/payflow/payflow/internal/recon"
	"github.com/payflow/payflow/internal/secretbox"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// statementBank is a channel that only serves statements.
type statementBank struct {
	bank.Channel
	statements map[string]string
}

func (b *statementBank) Name() string { return "testbank" }

func (b *statementBank) Statement(_ context.Context, day time.Time) (io.ReadCloser, error) {
	s, ok := b.statements[day.Format(models.DayLayout)]
	if !ok {
		return nil, bank.ErrUnavailable
	}
	return io.NopCloser(strings.NewReader(s)), nil
}

type starts struct {
	mu    sync.Mutex
	calls []bool
}

func (s *starts) StartReconciliation(_ context.Context, _ models.ReconciliationInput, fresh bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fresh)
	return nil
}

func newReconciliation(t *testing.T, b testenv.Backend) (*activities.Reconciliation, *store.Store, *starts) {
	t.Helper()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	st := store.New(testenv.Open(t, b), box)
	log := logrus.New()
	log.SetOutput(io.Discard)
	ch := &statementBank{statements: map[string]string{
		"2026-03-01": "reference,kind,amount,currency,status,time\n" +
			"pay_b,charge,250,CNY,succeeded,2026-03-01T09:00:00Z\n" +
			"pay_a,charge,100,CNY,succeeded,2026-03-01T08:00:00Z\n" +
			"pay_ghost,charge,70,CNY,succeeded,2026-03-01T10:00:00Z\n" +
			"pay_d,charge,400,CNY,failed,2026-03-01T11:00:00Z\n" +
			"pay_bad,charge,x,CNY,succeeded,2026-03-01T11:00:00Z\n",
		"2026-03-02": "not,a,statement\n",
	}}
	for _, tr := range []struct {
		ref    string
		amount int64
		status models.BankStatus
	}{{"pay_a", 100, models.BankSucceeded}, {"pay_b", 200, models.BankSucceeded}, {"pay_c", 300, models.BankSucceeded}, {"pay_d", 400, models.BankFailed}} {
		require.NoError(t, st.DB().Exec(`INSERT INTO bank_transfers (reference, channel, kind, merchant_id, amount, currency, status, created_at)
			VALUES (?, 'testbank', 'charge', 'mch_demo', ?, 'CNY', ?, ?)`, tr.ref, tr.amount, string(tr.status), time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)).Error)
	}
	s := &starts{}
	return &activities.Reconciliation{
		Channels: bank.NewRegistry(ch), Store: st, Starter: s, Log: logrus.NewEntry(log),
		Engine: recon.Config{ChunkLines: 2, PageSize: 2, TempDir: t.TempDir()}, HeartbeatEvery: 10 * time.Millisecond,
	}, st, s
}

func differences(t *testing.T, st *store.Store, recID string) []string {
	t.Helper()
	page, _, err := st.ListDifferences(context.Background(), store.DifferenceQuery{ReconciliationID: recID, Limit: 100})
	require.NoError(t, err)
	var out []string
	for _, d := range page {
		out = append(out, string(d.Kind)+" "+d.Reference)
	}
	return out
}

// The activity compares the statement with the day's records and stores each
// difference once, also when a retry resumes from a heartbeat.
func TestReconcileStatement(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			acts, st, _ := newReconciliation(t, b)
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(acts)
			in := models.ReconcileStatementInput{ReconciliationID: "rec_act1", Channel: "testbank", Date: "2026-03-01"}
			// Matched: pay_a, and pay_d (failed on both sides).
			want := models.ReconciliationCounts{
				StatementLines: 5, OurRecords: 4, Matched: 2, AmountMismatch: 1, MissingAtBank: 1, MissingOnOurSide: 1, Malformed: 1,
			}
			v, err := env.ExecuteActivity(acts.ReconcileStatement, in)
			require.NoError(t, err)
			var res models.ReconcileStatementResult
			require.NoError(t, v.Get(&res))
			require.Equal(t, want, res.Counts)
			require.False(t, res.Resumed)
			diffs := differences(t, st, "rec_act1")
			require.ElementsMatch(t, []string{"malformed pay_bad", "amount_mismatch pay_b", "missing_at_bank pay_c", "missing_on_our_side pay_ghost"}, diffs)

			// A retry with the heartbeat of an attempt that got past pay_b.
			env.SetHeartbeatDetails(recon.Checkpoint{
				Phase: recon.PhaseMatching, LastReference: "pay_b", MergedLines: 2,
				Counts: models.ReconciliationCounts{OurRecords: 2, Matched: 1, AmountMismatch: 1},
			})
			v, err = env.ExecuteActivity(acts.ReconcileStatement, in)
			require.NoError(t, err)
			require.NoError(t, v.Get(&res))
			require.True(t, res.Resumed)
			require.Equal(t, int64(2), res.SkippedLines)
			require.Equal(t, want, res.Counts)
			require.ElementsMatch(t, diffs, differences(t, st, "rec_act1"), "nothing stored twice")
		})
	}
}

func TestReconcileStatementRefusals(t *testing.T) {
	acts, _, _ := newReconciliation(t, testenv.SQLite)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	tests := []struct {
		in      models.ReconcileStatementInput
		errType string
	}{
		{models.ReconcileStatementInput{ReconciliationID: "rec_1", Channel: "testbank", Date: "2026-03-02"}, models.ErrTypeStatementUnreadable},
		{models.ReconcileStatementInput{ReconciliationID: "rec_1", Channel: "nobank", Date: "2026-03-01"}, models.ErrTypeInvalidInput},
		{models.ReconcileStatementInput{ReconciliationID: "rec_1", Channel: "testbank", Date: "March 1st"}, models.ErrTypeInvalidInput},
		{models.ReconcileStatementInput{ReconciliationID: "rec_1", Channel: "testbank", Date: "2026-03-03"}, models.ErrTypeBankUnavailable},
	}
	for _, tc := range tests {
		_, err := env.ExecuteActivity(acts.ReconcileStatement, tc.in)
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), "%+v: %v", tc.in, err)
		require.Equal(t, tc.errType, appErr.Type(), "%+v", tc.in)
		require.Equal(t, tc.errType != models.ErrTypeBankUnavailable, appErr.NonRetryable(), "%+v", tc.in)
	}
}

// Opening a day's run starts its workflow once as fresh, again (idempotently) while it
// runs, and not at all once it has finished.
func TestOpenReconciliation(t *testing.T) {
	acts, st, s := newReconciliation(t, testenv.SQLite)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	open := func() models.OpenReconciliationResult {
		v, err := env.ExecuteActivity(acts.OpenReconciliation, models.OpenReconciliationInput{Channel: "testbank", Date: "2026-03-01"})
		require.NoError(t, err)
		var res models.OpenReconciliationResult
		require.NoError(t, v.Get(&res))
		return res
	}
	first := open()
	require.True(t, first.Created)
	again := open()
	require.Equal(t, first.ReconciliationID, again.ReconciliationID)
	_, err := st.FinishReconciliation(context.Background(), models.FinishReconciliationInput{ReconciliationID: first.ReconciliationID, Status: models.ReconciliationCompleted})
	require.NoError(t, err)
	done := open()
	require.Equal(t, models.ReconciliationCompleted, done.Status)
	require.Equal(t, []bool{true, false}, s.calls)

	_, err = env.ExecuteActivity(acts.OpenReconciliation, models.OpenReconciliationInput{Channel: "nobank", Date: "2026-03-01"})
	require.Equal(t, models.ErrTypeInvalidInput, appErrType(t, err))
}

// The run's differences are counted by channel and kind when its end is recorded,
// and only then: a retried FinishReconciliation that finds the end recorded counts
// nothing again.
func TestFinishReconciliationCountsDifferencesOnce(t *testing.T) {
	acts, _, _ := newReconciliation(t, testenv.SQLite)
	m := metrics.New()
	acts.Differences = m
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	v, err := env.ExecuteActivity(acts.OpenReconciliation, models.OpenReconciliationInput{Channel: "testbank", Date: "2026-03-01"})
	require.NoError(t, err)
	var opened models.OpenReconciliationResult
	require.NoError(t, v.Get(&opened))

	in := models.FinishReconciliationInput{ReconciliationID: opened.ReconciliationID, Status: models.ReconciliationCompleted,
		Counts: models.ReconciliationCounts{Matched: 5, MissingAtBank: 1, AmountMismatch: 2}}
	for range 2 {
		_, err := env.ExecuteActivity(acts.FinishReconciliation, in)
		require.NoError(t, err)
	}
	rec := httptest.NewRecorder()
	m.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := rec.Body.String()
	require.Contains(t, out, `payflow_reconciliation_differences_total{channel="testbank",kind="missing_at_bank"} 1`+"\n")
	require.Contains(t, out, `payflow_reconciliation_differences_total{channel="testbank",kind="amount_mismatch"} 2`+"\n")
	require.NotContains(t, out, `kind="status_mismatch"`, "no difference of a kind, no series")
}
