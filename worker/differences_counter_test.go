package worker_test

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/metrics"
	"github.com/payflow/payflow/internal/secretbox"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/worker"
)

// A worker built with metrics counts a finished run's differences in its registry
// (payflow_reconciliation_differences_total): the activity the worker registers is
// wired to the process's metrics, not left with nothing to count into.
func TestWorkerCountsReconciliationDifferences(t *testing.T) {
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	st := store.New(testenv.Open(t, testenv.SQLite), box)
	l := logrus.New()
	l.SetOutput(io.Discard)
	m := metrics.New()
	deps := worker.NewDeps(worker.Params{Store: st, Log: logrus.NewEntry(l), Metrics: m})

	ctx := context.Background()
	rec, _, err := st.OpenReconciliation(ctx, store.OpenReconciliationRequest{ID: models.NewID(models.PrefixReconciliation), Channel: "banksim", Day: "2026-03-01"})
	require.NoError(t, err)
	_, err = deps.Reconciliation.FinishReconciliation(ctx, models.FinishReconciliationInput{
		ReconciliationID: rec.ID, Status: models.ReconciliationCompleted,
		Counts: models.ReconciliationCounts{Matched: 3, NotBooked: 2, InTransit: 4},
	})
	require.NoError(t, err)

	out := httptest.NewRecorder()
	m.Handler(nil).ServeHTTP(out, httptest.NewRequest("GET", "/metrics", nil))
	require.Contains(t, out.Body.String(), `payflow_reconciliation_differences_total{channel="banksim",kind="not_booked"} 2`+"\n")
	require.NotContains(t, out.Body.String(), `kind="in_transit"`, "in_transit items are not differences")
}
