package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/metrics"
)

func quietLog() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// scrape answers what Prometheus would read from /metrics.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler(quietLog()).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code, rec.Body.String())
	return rec.Body.String()
}

// The SDK reports one name with different tag sets, counters, gauges and timers:
// each comes out as its own series, timers as histograms in seconds.
func TestTemporalBridgeExportsTheSDKsSeries(t *testing.T) {
	m := metrics.New()
	h := m.Temporal().WithTags(map[string]string{"namespace": "default", "client_name": "temporal_go"})
	h.Counter("temporal_request").Inc(1)
	h.WithTags(map[string]string{"operation": "StartWorkflowExecution"}).Counter("temporal_request").Inc(2)
	h.WithTags(map[string]string{"operation": "StartWorkflowExecution"}).Counter("temporal_request").Inc(1)
	wt := h.WithTags(map[string]string{"task_queue": "payflow", "worker_type": "WorkflowWorker"})
	wt.Timer("temporal_workflow_task_schedule_to_start_latency").Record(30 * time.Millisecond)
	wt.Gauge("temporal_worker_task_slots_available").Update(7)
	// Tags replace earlier values of the same key; odd characters are sanitized.
	h.WithTags(map[string]string{"namespace": "other", "poller-type": "x"}).Counter("temporal_poller_start").Inc(1)

	out := scrape(t, m)
	for _, line := range []string{
		`temporal_request{client_name="temporal_go",namespace="default"} 1`,
		`temporal_request{client_name="temporal_go",namespace="default",operation="StartWorkflowExecution"} 3`,
		`temporal_workflow_task_schedule_to_start_latency_seconds_bucket{client_name="temporal_go",namespace="default",task_queue="payflow",worker_type="WorkflowWorker",le="0.05"} 1`,
		`temporal_workflow_task_schedule_to_start_latency_seconds_count{client_name="temporal_go",namespace="default",task_queue="payflow",worker_type="WorkflowWorker"} 1`,
		`temporal_worker_task_slots_available{client_name="temporal_go",namespace="default",task_queue="payflow",worker_type="WorkflowWorker"} 7`,
		`temporal_poller_start{client_name="temporal_go",namespace="other",poller_type="x"} 1`,
		"# TYPE temporal_request counter",
		"# TYPE temporal_workflow_task_schedule_to_start_latency_seconds histogram",
		"# TYPE temporal_worker_task_slots_available gauge",
	} {
		require.Contains(t, out, line)
	}
}

// The SDK calls the handler from many goroutines at once.
func TestTemporalBridgeIsSafeForConcurrentUse(t *testing.T) {
	m := metrics.New()
	h := m.Temporal()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 200; j++ {
				h.WithTags(map[string]string{"namespace": "default"}).Counter("temporal_request").Inc(1)
				h.Timer("temporal_request_latency").Record(time.Millisecond)
				if j%50 == 0 {
					_ = scrapeQuiet(m)
				}
			}
		}()
	}
	wg.Wait()
	require.Contains(t, scrape(t, m), `temporal_request{namespace="default"} 1600`)
}

func scrapeQuiet(m *metrics.Metrics) int {
	rec := httptest.NewRecorder()
	m.Handler(quietLog()).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Code
}

func TestPayflowSeries(t *testing.T) {
	m := metrics.New()
	out := scrape(t, m)
	require.NotContains(t, out, metrics.NameLedgerCheckOK, "no ledger check ran yet: no gauge, rather than a false alarm")
	require.Contains(t, out, "go_goroutines")

	created := time.Now().Add(-2 * time.Second)
	m.FlowFinished("payment", "succeeded", "banksim", created)
	m.FlowFinished("payment", "failed", "stripe", created)
	m.FlowFinished("withdrawal", "canceled", "banksim", time.Time{})
	m.FlowStarted("payment", "banksim")
	m.FlowStarted("payment", "banksim")
	m.FlowsInStage("waiting_bank", 4)
	m.LedgerChecked(true, time.Unix(1767225600, 0))
	m.AddReconciliationDifferences("banksim", "amount_mismatch", 3)
	m.ReconciliationDifferencesOpen(map[string]int64{"banksim": 2, "stripe": 0})
	m.ReconciliationDifferencesOpenOver1d(map[string]int64{"banksim": 1, "stripe": 0})
	m.ObserveRequest("POST", "/v1/payments", 202, 15*time.Millisecond)

	out = scrape(t, m)
	for _, line := range []string{
		`payflow_payments_total{channel="banksim",status="succeeded"} 1`,
		`payflow_payments_total{channel="stripe",status="failed"} 1`,
		`payflow_flows_started_total{channel="banksim",flow="payment"} 2`,
		`payflow_flows_total{channel="banksim",flow="payment",status="succeeded"} 1`,
		`payflow_flows_total{channel="stripe",flow="payment",status="failed"} 1`,
		`payflow_flows_total{channel="banksim",flow="withdrawal",status="canceled"} 1`,
		`payflow_flows_in_stage{stage="waiting_bank"} 4`,
		`payflow_flow_duration_seconds_bucket{flow="payment",status="succeeded",le="2.5"} 1`,
		`payflow_flow_duration_seconds_bucket{flow="payment",status="succeeded",le="1"} 0`,
		`payflow_ledger_check_ok 1`,
		`payflow_ledger_check_last_run_timestamp_seconds 1.7672256e+09`,
		`payflow_reconciliation_differences_total{channel="banksim",kind="amount_mismatch"} 3`,
		`payflow_reconciliation_differences_open{channel="banksim"} 2`,
		`payflow_reconciliation_differences_open{channel="stripe"} 0`,
		`payflow_reconciliation_differences_open_over_1d{channel="banksim"} 1`,
		`payflow_reconciliation_differences_open_over_1d{channel="stripe"} 0`,
		`payflow_http_requests_total{method="POST",route="/v1/payments",status="202"} 1`,
		`payflow_http_request_duration_seconds_count{method="POST",route="/v1/payments"} 1`,
	} {
		require.Contains(t, out, line)
	}
	require.NotContains(t, out, `payflow_flow_duration_seconds_count{flow="withdrawal"`, "no creation time, no observation")

	m.LedgerChecked(false, time.Now())
	m.ReconciliationDifferencesOpen(map[string]int64{"stripe": 1})
	m.ReconciliationDifferencesOpenOver1d(map[string]int64{"stripe": 0})
	out = scrape(t, m)
	require.Contains(t, out, "payflow_ledger_check_ok 0")
	require.Contains(t, out, `payflow_reconciliation_differences_open{channel="stripe"} 1`)
	require.NotContains(t, out, `payflow_reconciliation_differences_open{channel="banksim"}`, "each count replaces the last")
	require.NotContains(t, out, `payflow_reconciliation_differences_open_over_1d{channel="banksim"}`, "each count replaces the last")
}

// RegisterGaugeFunc is the hook for a series another package owns (the webhook
// backlog): its function is read at each scrape; a name registers once.
func TestRegisterGaugeFunc(t *testing.T) {
	m := metrics.New()
	backlog := 0.0
	require.NoError(t, m.RegisterGaugeFunc(metrics.NameWebhookBacklog, metrics.HelpWebhookBacklog, func() float64 { return backlog }))
	backlog = 42
	require.Contains(t, scrape(t, m), "payflow_webhook_backlog 42")
	err := m.RegisterGaugeFunc(metrics.NameWebhookBacklog, metrics.HelpWebhookBacklog, func() float64 { return 0 })
	require.ErrorIs(t, err, metrics.ErrAlreadyRegistered)
}

// A nil *Metrics records nothing and never panics: activities and handlers built
// without metrics (tests) call it freely.
func TestNilMetricsRecordsNothing(t *testing.T) {
	var m *metrics.Metrics
	m.FlowFinished("payment", "succeeded", "banksim", time.Now())
	m.LedgerChecked(true, time.Now())
	m.AddReconciliationDifferences("banksim", "missing_at_bank", 1)
	m.ReconciliationDifferencesOpen(map[string]int64{"banksim": 1})
	m.ReconciliationDifferencesOpenOver1d(map[string]int64{"banksim": 1})
	m.FlowStarted("payment", "banksim")
	m.FlowsInStage("waiting_bank", 1)
	m.ObserveRequest("GET", "/healthz", 200, time.Millisecond)
	require.NoError(t, m.RegisterGaugeFunc("x", "y", func() float64 { return 0 }))
	m.Temporal().WithTags(map[string]string{"a": "b"}).Counter("temporal_request").Inc(1)
}

// The worker's listener serves /metrics and /healthz, and a second listener on a
// taken address fails at start instead of silently sharing it.
func TestServer(t *testing.T) {
	m := metrics.New()
	m.FlowFinished("topup", "succeeded", "banksim", time.Time{})
	srv := metrics.NewServer("127.0.0.1:0", m, quietLog())
	require.NoError(t, srv.Start())
	defer srv.Stop(context.Background())

	for path, want := range map[string]string{
		"/metrics": `payflow_flows_total{channel="banksim",flow="topup",status="succeeded"} 1`,
		"/healthz": `"ok"`,
	} {
		resp, err := http.Get("http://" + srv.Addr() + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		require.True(t, strings.Contains(string(b), want), "%s: %s", path, b)
	}
	require.Error(t, metrics.NewServer(srv.Addr(), m, quietLog()).Start())
}
