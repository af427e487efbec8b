package worker_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/metrics"
	"github.com/payflow/payflow/internal/secretbox"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/worker"
)

type stageCounts map[models.Stage]int64

func (c stageCounts) CountOpenFlows(_ context.Context, stage models.Stage) (int64, error) {
	n, ok := c[stage]
	if !ok {
		return 0, errors.New("visibility unavailable")
	}
	return n, nil
}

type openDifferences struct {
	open map[string]int64
	err  error
}

func (d openDifferences) OpenDifferences(context.Context) (map[string]int64, error) {
	return d.open, d.err
}

func (d openDifferences) OpenDifferencesOlderThan(context.Context, time.Time) (map[string]int64, error) {
	return d.open, d.err
}

// A refresh sets payflow_flows_in_stage for each stage counted and
// payflow_reconciliation_differences_open by channel; a count that fails leaves
// its gauge as it was and the others are still set.
func TestRefreshGauges(t *testing.T) {
	m := metrics.New()
	l := logrus.New()
	l.SetOutput(io.Discard)
	log := logrus.NewEntry(l)
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.Handler(log).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}

	worker.RefreshGauges(context.Background(), worker.GaugeSources{
		Flows:       stageCounts{models.StageWaitingBank: 3, models.StageNeedsAttention: 1, models.StagePendingApproval: 0},
		Differences: openDifferences{open: map[string]int64{"banksim": 2}},
	}, m, log)
	out := scrape()
	for _, line := range []string{
		`payflow_flows_in_stage{stage="waiting_bank"} 3`,
		`payflow_flows_in_stage{stage="needs_attention"} 1`,
		`payflow_flows_in_stage{stage="pending_approval"} 0`,
		`payflow_reconciliation_differences_open{channel="banksim"} 2`,
		`payflow_reconciliation_differences_open_over_1d{channel="banksim"} 2`,
	} {
		require.Contains(t, out, line+"\n")
	}

	worker.RefreshGauges(context.Background(), worker.GaugeSources{
		Flows:       stageCounts{models.StageWaitingBank: 5},
		Differences: openDifferences{err: errors.New("database down")},
	}, m, log)
	out = scrape()
	for _, line := range []string{
		`payflow_flows_in_stage{stage="waiting_bank"} 5`,
		`payflow_flows_in_stage{stage="needs_attention"} 1`,
		`payflow_reconciliation_differences_open{channel="banksim"} 2`,
	} {
		require.Contains(t, out, line+"\n")
	}
}

// The gauge PayflowReconciliationDifferencesOpen alerts on moves with the store: a
// difference found more than a day ago and still open makes it 1 (a newer one, or an
// in_transit item, does not count), resolving it makes it 0.
func TestOpenOver1dGaugeMoves(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
			require.NoError(t, err)
			st := store.New(testenv.Open(t, b), box)
			ctx := context.Background()
			m := metrics.New()
			l := logrus.New()
			l.SetOutput(io.Discard)
			log := logrus.NewEntry(l)
			refresh := func() string {
				worker.RefreshGauges(ctx, worker.GaugeSources{Flows: stageCounts{}, Differences: st}, m, log)
				rec := httptest.NewRecorder()
				m.Handler(log).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
				return rec.Body.String()
			}
			const gauge = `payflow_reconciliation_differences_open_over_1d{channel="banksim"} `

			rec, _, err := st.OpenReconciliation(ctx, store.OpenReconciliationRequest{ID: models.NewID(models.PrefixReconciliation), Channel: "banksim", Day: "2026-03-01"})
			require.NoError(t, err)
			old := models.Difference{ID: models.NewID(models.PrefixDifference), ReconciliationID: rec.ID, Reference: "pay_old", Kind: models.DiffMissingAtBank}
			require.NoError(t, st.InsertDifferences(ctx, []models.Difference{
				old,
				{ReconciliationID: rec.ID, Reference: "pay_new", Kind: models.DiffAmountMismatch},
				{ReconciliationID: rec.ID, Reference: "pay_transit", Kind: models.DiffInTransit, Since: "2026-03-01"},
			}))
			require.Contains(t, refresh(), gauge+"0\n", "found just now: not a day old")

			dayAgo := time.Now().UTC().Add(-worker.OpenDifferenceAge - time.Minute)
			require.NoError(t, st.DB().Exec("UPDATE reconciliation_differences SET created_at = ? WHERE id = ? OR kind = ?", dayAgo, old.ID, models.DiffInTransit).Error)
			out := refresh()
			require.Contains(t, out, gauge+"1\n")
			require.Contains(t, out, `payflow_reconciliation_differences_open{channel="banksim"} 2`+"\n", "in_transit is not a difference")

			_, err = st.ResolveDifference(ctx, rec.ID, old.ID, models.Resolution{Note: "booked by the bank late", Operator: "ops"})
			require.NoError(t, err)
			out = refresh()
			require.Contains(t, out, gauge+"0\n")
			require.Contains(t, out, `payflow_reconciliation_differences_open{channel="banksim"} 1`+"\n")
		})
	}
}
