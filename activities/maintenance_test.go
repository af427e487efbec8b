package activities_test

import (
	"context"
	"fmt"
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

// execute runs one of acts' activities with in, as a worker would, and returns its
// result.
func execute[R any](t *testing.T, acts *activities.Maintenance, activity, in any) (R, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	var res R
	v, err := env.ExecuteActivity(activity, in)
	if err == nil {
		require.NoError(t, v.Get(&res))
	}
	return res, err
}

// The purge deletes the nonces older than its window and keeps the younger ones
// (a replay inside the window is still refused); every other kind with an age is
// purged too, a kind without one is kept.
func TestPurge(t *testing.T) {
	acts, st := newMaintenance(t, nil)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	require.NoError(t, st.UseNonce(ctx, "mch_a", "nonce_old_0000000001", t0))
	require.NoError(t, st.UseNonce(ctx, "mch_a", "nonce_new_0000000001", t0.Add(5*time.Minute)))
	require.NoError(t, st.ClaimBankCallbackEvent(ctx, "stripe", "evt_old", "pay_1", t0.Add(-time.Hour)))
	for _, id := range []string{"aud_1", "aud_2", "aud_3"} {
		_, err := st.Audit(ctx, models.AuditEntry{ID: id, Operator: "ops", Action: "disable", Target: "mch_a", Result: "ok", CreatedAt: t0})
		require.NoError(t, err)
	}
	acts.Now = func() time.Time { return t0.Add(11 * time.Minute) }
	acts.PurgeBatchRows = 1

	in := models.PurgeInput{NonceMaxAge: 10 * time.Minute, IdempotencyMaxAge: 24 * time.Hour, BankCallbackMaxAge: time.Hour}
	res, err := execute[models.PurgeResult](t, acts, acts.Purge, in)
	require.NoError(t, err)
	require.Equal(t, models.PurgeResult{Nonces: 1, BankCallbacks: 1}, res, "the audit log has no age: kept")
	require.NoError(t, st.UseNonce(ctx, "mch_a", "nonce_old_0000000001", t0), "the expired nonce is gone")
	require.ErrorIs(t, st.UseNonce(ctx, "mch_a", "nonce_new_0000000001", t0), store.ErrNonceReused, "a nonce inside the window is kept")
	entries, _, err := st.AuditLog(ctx, "", 10, "")
	require.NoError(t, err)
	require.Len(t, entries, 3)

	// In batches of one row, the three entries take three turns.
	in.AuditMaxAge = time.Minute
	res, err = execute[models.PurgeResult](t, acts, acts.Purge, in)
	require.NoError(t, err)
	require.Equal(t, int64(3), res.Audit)

	_, err = execute[models.PurgeResult](t, acts, acts.Purge, models.PurgeInput{})
	require.Error(t, err, "a purge without ages would delete everything")
}

// A purge whose time is up leaves what is left to the next firing and says which
// kinds had more.
func TestPurgeStopsAtItsBudget(t *testing.T) {
	acts, st := newMaintenance(t, nil)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour)
	for i := range 3 {
		require.NoError(t, st.UseNonce(ctx, "mch_a", fmt.Sprintf("nonce_%020d", i), t0))
	}
	acts.PurgeBatchRows, acts.PurgeBudget = 1, time.Nanosecond
	res, err := execute[models.PurgeResult](t, acts, acts.Purge, models.PurgeInput{NonceMaxAge: 10 * time.Minute, IdempotencyMaxAge: 24 * time.Hour})
	require.NoError(t, err)
	require.Less(t, res.Nonces, int64(3))
	require.Contains(t, res.More, "nonces")
}

// The measure schedule's activity counts the webhook backlog and stores it, which
// is what the API's /metrics then shows.
func TestMeasureStoresTheWebhookBacklog(t *testing.T) {
	acts, st := newMaintenance(t, nil)
	ctx := context.Background()
	_, _, err := st.CreateEvent(ctx, models.Event{
		ID: models.NewID(models.PrefixEvent), MerchantID: "mch_a", Type: models.EventPaymentSucceeded, ObjectID: "pay_1",
		NotifyURL: "https://merchant.example/hooks", Data: []byte(`{}`), CreatedAt: time.Now(),
	})
	require.NoError(t, err)
	res, err := execute[models.MeasureResult](t, acts, acts.Measure, models.MeasureInput{})
	require.NoError(t, err)
	require.Equal(t, int64(1), res.WebhookBacklog)
	n, at, ok, err := st.StoredWebhookBacklog(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, int64(1), n)
	require.WithinDuration(t, res.MeasuredAt, at, time.Millisecond)
}

// The ledger-check schedule's activity sets payflow_ledger_check_ok and its last-run
// timestamp on the worker, with no operator asking.
func TestCheckLedgerSetsTheGauge(t *testing.T) {
	m := metrics.New()
	acts, _ := newMaintenance(t, m)
	res, err := execute[models.LedgerCheckResult](t, acts, acts.CheckLedger, models.LedgerCheckInput{})
	require.NoError(t, err)
	require.True(t, res.OK)
	rec := httptest.NewRecorder()
	m.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Contains(t, rec.Body.String(), "payflow_ledger_check_ok 1")
	require.Contains(t, rec.Body.String(), "payflow_ledger_check_last_run_timestamp_seconds")
}
