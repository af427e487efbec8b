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
			"pay_flowfailed,charge,90,CNY,succeeded,2026-03-01T11:00:00Z\n" +
			"pay_unbooked,charge,60,CNY,succeeded,2026-03-01T11:00:00Z\n" +
			"pay_bad,charge,x,CNY,succeeded,2026-03-01T11:00:00Z\n",
		"2026-03-02": "not,a,statement\n",
		// Carried items: pay_late was recorded on 03-10 and booked by the bank on
		// 03-11; pay_never is not booked at all.
		"2026-03-10": "reference,kind,amount,currency,status,time\n",
		"2026-03-11": "reference,kind,amount,currency,status,time\n" +
			"pay_late,charge,500,CNY,succeeded,2026-03-11T00:00:01Z\n",
		"2026-03-12": "reference,kind,amount,currency,status,time\n",
	}}
	for _, tr := range []struct {
		ref    string
		amount int64
		status models.BankStatus
	}{{"pay_a", 100, models.BankSucceeded}, {"pay_b", 200, models.BankSucceeded}, {"pay_c", 300, models.BankSucceeded}, {"pay_d", 400, models.BankFailed}} {
		require.NoError(t, st.DB().Exec(`INSERT INTO bank_transfers (reference, channel, kind, merchant_id, amount, currency, status, created_at)
			VALUES (?, 'testbank', 'charge', 'mch_demo', ?, 'CNY', ?, ?)`, tr.ref, tr.amount, string(tr.status), time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)).Error)
	}
	// Our intents and their journals: pay_a and pay_b succeeded and booked, pay_c
	// succeeded and booked (the bank has no line), pay_d failed, pay_flowfailed
	// failed though the bank charged it (and our bank layer never recorded the
	// answer), pay_unbooked succeeded with no journal.
	seedPayment(t, st, "pay_a", 100, "succeeded", true)
	seedPayment(t, st, "pay_b", 200, "succeeded", true)
	seedPayment(t, st, "pay_c", 300, "succeeded", true)
	seedPayment(t, st, "pay_d", 400, "failed", false)
	seedPayment(t, st, "pay_flowfailed", 90, "failed", false)
	seedPayment(t, st, "pay_unbooked", 60, "succeeded", false)
	seedPayment(t, st, "pay_late", 500, "succeeded", true)
	seedPayment(t, st, "pay_never", 700, "succeeded", true)
	for _, tr := range []struct {
		ref string
		at  time.Time
	}{{"pay_unbooked", time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, {"pay_late", time.Date(2026, 3, 10, 23, 59, 59, 0, time.UTC)},
		{"pay_never", time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC)}} {
		require.NoError(t, st.DB().Exec(`INSERT INTO bank_transfers (reference, channel, kind, merchant_id, amount, currency, status, created_at)
			SELECT id, 'testbank', 'charge', 'mch_demo', amount, currency, 'succeeded', ? FROM payments WHERE id = ?`, tr.at, tr.ref).Error)
	}
	s := &starts{}
	return &activities.Reconciliation{
		Channels: bank.NewRegistry(ch), Store: st, Starter: s, Log: logrus.NewEntry(log),
		Engine: recon.Config{ChunkLines: 2, PageSize: 2, TempDir: t.TempDir()}, HeartbeatEvery: 10 * time.Millisecond,
	}, st, s
}

// seedPayment stores a card payment of ours on testbank, and, when booked, the
// journal of its capture (clearing debited, the merchant credited).
func seedPayment(t *testing.T, st *store.Store, id string, amount int64, status string, booked bool) {
	t.Helper()
	db := st.DB()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	require.NoError(t, db.Exec(`INSERT INTO payments (id, merchant_id, amount, currency, source_type, channel, status, workflow_id, created_at, updated_at)
		VALUES (?, 'mch_demo', ?, 'CNY', 'card', 'testbank', ?, ?, ?, ?)`, id, amount, status, "payment-"+id, at, at).Error)
	if !booked {
		return
	}
	for _, a := range [][2]string{{"acct_clr", "bank_clearing"}, {"acct_set", "merchant_settlement"}} {
		require.NoError(t, db.Exec(`INSERT INTO accounts (id, system_key, kind, currency, channel, track_balance, created_at)
			SELECT ?, ?, ?, 'CNY', 'testbank', 0, ? WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE id = ?)`, a[0], a[0], a[1], at, a[0]).Error)
	}
	jnl := "jnl_" + id
	require.NoError(t, db.Exec(`INSERT INTO journals (id, idempotency_key, flow, flow_id, created_at) VALUES (?, ?, 'payment', ?, ?)`, jnl, jnl, id, at).Error)
	require.NoError(t, db.Exec(`INSERT INTO entries (id, journal_id, account_id, amount, currency, created_at) VALUES (?, ?, 'acct_clr', ?, 'CNY', ?), (?, ?, 'acct_set', ?, 'CNY', ?)`,
		"ent_c"+id, jnl, -amount, at, "ent_s"+id, jnl, amount, at).Error)
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
			// Matched: pay_a, and pay_d (failed on both sides); pay_c, recorded
			// today and not on the statement, is in transit (the bank may book it
			// tomorrow).
			want := models.ReconciliationCounts{
				StatementLines: 7, OurRecords: 6, Matched: 2, AmountMismatch: 1, InTransit: 1, MissingOnOurSide: 1, Malformed: 1,
				StatusMismatch: 1, NotBooked: 1,
			}
			v, err := env.ExecuteActivity(acts.ReconcileStatement, in)
			require.NoError(t, err)
			var res models.ReconcileStatementResult
			require.NoError(t, v.Get(&res))
			require.Equal(t, want, res.Counts)
			require.False(t, res.Resumed)
			diffs := differences(t, st, "rec_act1")
			require.ElementsMatch(t, []string{"malformed pay_bad", "amount_mismatch pay_b", "in_transit pay_c", "missing_on_our_side pay_ghost",
				"status_mismatch pay_flowfailed", "not_booked pay_unbooked"}, diffs)

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

// An item unmatched only because it crossed midnight is carried as in_transit to
// the next day's run, where its bank line matches it; one still unmatched after the
// carry days (2) is reported as the difference it is, with the day it was first
// carried.
func TestReconcileCarriesInTransitItems(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			acts, st, _ := newReconciliation(t, b)
			ctx := context.Background()
			var suite testsuite.WorkflowTestSuite
			env := suite.NewTestActivityEnvironment()
			env.RegisterActivity(acts)
			runDay := func(day string) (string, models.ReconciliationCounts) {
				rec, _, err := st.OpenReconciliation(ctx, store.OpenReconciliationRequest{
					ID: models.NewID(models.PrefixReconciliation), Channel: "testbank", Day: day,
				})
				require.NoError(t, err)
				v, err := env.ExecuteActivity(acts.ReconcileStatement, models.ReconcileStatementInput{ReconciliationID: rec.ID, Channel: "testbank", Date: day})
				require.NoError(t, err)
				var res models.ReconcileStatementResult
				require.NoError(t, v.Get(&res))
				_, err = st.FinishReconciliation(ctx, models.FinishReconciliationInput{ReconciliationID: rec.ID, Status: models.ReconciliationCompleted, Counts: res.Counts})
				require.NoError(t, err)
				return rec.ID, res.Counts
			}
			first, c := runDay("2026-03-10")
			require.Equal(t, models.ReconciliationCounts{OurRecords: 2, InTransit: 2}, c)
			require.ElementsMatch(t, []string{"in_transit pay_late", "in_transit pay_never"}, differences(t, st, first))
			require.Zero(t, c.Differences())

			second, c := runDay("2026-03-11")
			require.Equal(t, models.ReconciliationCounts{StatementLines: 1, OurRecords: 2, Matched: 1, InTransit: 1}, c)
			require.Equal(t, []string{"in_transit pay_never"}, differences(t, st, second))

			third, c := runDay("2026-03-12")
			require.Equal(t, models.ReconciliationCounts{OurRecords: 1, MissingAtBank: 1}, c)
			page, _, err := st.ListDifferences(ctx, store.DifferenceQuery{ReconciliationID: third, Limit: 10})
			require.NoError(t, err)
			require.Len(t, page, 1)
			d := page[0]
			require.Equal(t, "pay_never", d.Reference)
			require.Equal(t, "2026-03-10", d.Since)
			require.Equal(t, &models.DifferenceSide{Kind: "payment", Amount: 700, Currency: "CNY", Status: "succeeded"}, d.Ours)
			require.Equal(t, &models.DifferenceSide{Kind: "journal", Amount: 700, Currency: "CNY", Status: "booked"}, d.Ledger)
			require.Nil(t, d.Bank)
		})
	}
}
