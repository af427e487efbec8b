package activities_test

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/metrics"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

func newMaintenance(t *testing.T, m *metrics.Metrics) (*activities.Maintenance, *store.Store) {
	t.Helper()
	st := store.New(testenv.Open(t, testenv.SQLite), nil)
	lg := logrus.New()
	lg.SetOutput(io.Discard)
	acts := &activities.Maintenance{Store: st, Ledger: ledger.New(st.DB()), Log: logrus.NewEntry(lg)}
	if m != nil {
		acts.Checks = m
	}
	return acts, st
}

// The purge deletes the nonces older than its window and keeps the younger ones
// (a replay inside the window is still refused).
func TestPurge(t *testing.T) {
	acts, st := newMaintenance(t, nil)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	require.NoError(t, st.UseNonce(ctx, "mch_a", "nonce_old_0000000001", t0))
	require.NoError(t, st.UseNonce(ctx, "mch_a", "nonce_new_0000000001", t0.Add(5*time.Minute)))
	acts.Now = func() time.Time { return t0.Add(11 * time.Minute) }

	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	v, err := env.ExecuteActivity(acts.Purge, models.PurgeInput{NonceMaxAge: 10 * time.Minute, IdempotencyMaxAge: 24 * time.Hour})
	require.NoError(t, err)
	var res models.PurgeResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, int64(1), res.Nonces)
	require.NoError(t, st.UseNonce(ctx, "mch_a", "nonce_old_0000000001", t0), "the expired nonce is gone")
	require.ErrorIs(t, st.UseNonce(ctx, "mch_a", "nonce_new_0000000001", t0), store.ErrNonceReused, "a nonce inside the window is kept")

	_, err = env.ExecuteActivity(acts.Purge, models.PurgeInput{})
	require.Error(t, err, "a purge without ages would delete everything")
}

// The ledger-check schedule's activity sets payflow_ledger_check_ok and its last-run
// timestamp on the worker, with no operator asking.
func TestCheckLedgerSetsTheGauge(t *testing.T) {
	m := metrics.New()
	acts, _ := newMaintenance(t, m)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	v, err := env.ExecuteActivity(acts.CheckLedger, models.LedgerCheckInput{})
	require.NoError(t, err)
	var res models.LedgerCheckResult
	require.NoError(t, v.Get(&res))
	require.True(t, res.OK)
	rec := httptest.NewRecorder()
	m.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Contains(t, rec.Body.String(), "payflow_ledger_check_ok 1")
	require.Contains(t, rec.Body.String(), "payflow_ledger_check_last_run_timestamp_seconds")
}
