package worker_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/metrics"
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
