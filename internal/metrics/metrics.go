// Package metrics holds the Prometheus series a payflow process exports on /metrics:
// payflow's own (flows started, flows reaching a terminal status and how long they
// took, flows waiting in a stage, the ledger check, reconciliation differences found
// and still open, webhook backlog, HTTP requests, cache calls) and the Temporal SDK's, bridged from
// its MetricsHandler. catalog.go lists every series the alerts and the dashboard may
// read. Each process has one Metrics with
// its own registry; a nil *Metrics records nothing, so that code under test needs
// none.
package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"
)

// Names of payflow's series, for the alert rules and for code registering a series
// it owns (RegisterGaugeFunc).
const (
	NamePaymentsTotal                 = "payflow_payments_total"
	NameFlowsStartedTotal             = "payflow_flows_started_total"
	NameFlowsTotal                    = "payflow_flows_total"
	NameFlowDuration                  = "payflow_flow_duration_seconds"
	NameFlowsInStage                  = "payflow_flows_in_stage"
	NameFlowsNeedsAttention           = "payflow_flows_needs_attention_total"
	NameLedgerCheckOK                 = "payflow_ledger_check_ok"
	NameLedgerCheckLastRun            = "payflow_ledger_check_last_run_timestamp_seconds"
	NameReconciliationDifferences     = "payflow_reconciliation_differences_total"
	NameReconciliationDifferencesOpen = "payflow_reconciliation_differences_open"
	// NameReconciliationDifferencesOpenOver1d is what PayflowReconciliationDifferencesOpen
	// alerts on.
	NameReconciliationDifferencesOpenOver1d = "payflow_reconciliation_differences_open_over_1d"
	NameWebhookBacklog                      = "payflow_webhook_backlog"
	NameHTTPRequestsTotal                   = "payflow_http_requests_total"
	NameHTTPRequestDuration                 = "payflow_http_request_duration_seconds"
	NameCacheRequestsTotal                  = "payflow_cache_requests_total"
	NamePurgedTotal                         = "payflow_purged_total"
	NameLedgerGroupsTotal                   = "payflow_ledger_groups_total"
	NameLedgerGroupedCallsTotal             = "payflow_ledger_grouped_calls_total"
)

// HelpWebhookBacklog is the help text of NameWebhookBacklog.
const HelpWebhookBacklog = "Webhook events not yet delivered to the merchant."

// flowBuckets span a wallet payment (tens of milliseconds) to a withdrawal that
// waited days for an operator.
var flowBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 72 * 3600}

// Metrics is one process's registry and payflow's series in it.
type Metrics struct {
	reg          *prometheus.Registry
	payments     *prometheus.CounterVec
	started      *prometheus.CounterVec
	flows        *prometheus.CounterVec
	flowDuration *prometheus.HistogramVec
	inStage      *prometheus.GaugeVec
	ledgerOK     *prometheus.GaugeVec
	ledgerRun    *prometheus.GaugeVec
	reconDiffs   *prometheus.CounterVec
	reconOpen    *prometheus.GaugeVec
	reconStale   *prometheus.GaugeVec
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	cache        *prometheus.CounterVec
	purged       *prometheus.CounterVec
	groups       *prometheus.CounterVec
	groupedCalls *prometheus.CounterVec
	sdk          *sdkCollector
}

// New returns a Metrics with payflow's series, the Go runtime's and the process's,
// and an empty set of Temporal SDK series (filled as the SDK reports through
// Temporal()).
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NamePaymentsTotal, Help: "Payments that reached a terminal status, by status and channel.",
		}, []string{"status", "channel"}),
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameFlowsStartedTotal, Help: "Flows (payment, topup, withdrawal, refund) whose object was created, by flow and channel.",
		}, []string{"flow", "channel"}),
		flows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameFlowsTotal, Help: "Flows (payment, topup, withdrawal, refund) that reached a terminal status, by flow, status and channel.",
		}, []string{"flow", "status", "channel"}),
		flowDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: NameFlowDuration, Help: "Time from an object's creation (its id) to its terminal status, by flow and status.", Buckets: flowBuckets,
		}, []string{"flow", "status"}),
		inStage: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: NameFlowsInStage, Help: "Running flows in a stage (waiting_bank, needs_attention, pending_approval), as Temporal visibility counted them last.",
		}, []string{"stage"}),
		// Label-less vectors export nothing until first set: a process that has not
		// run the check yet must not look like a failing ledger.
		ledgerOK:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameLedgerCheckOK, Help: "1 if the last ledger check found every invariant holding, 0 if it found a violation."}, nil),
		ledgerRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameLedgerCheckLastRun, Help: "Unix time of the last ledger check that ran to the end; stale means the check cannot run."}, nil),
		reconDiffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameReconciliationDifferences, Help: "Differences reconciliation found between a bank statement and payflow's records, by channel and kind.",
		}, []string{"channel", "kind"}),
		reconOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: NameReconciliationDifferencesOpen, Help: "Reconciliation differences no operator has resolved yet, by channel, as counted last.",
		}, []string{"channel"}),
		reconStale: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: NameReconciliationDifferencesOpenOver1d, Help: "Reconciliation differences no operator has resolved, found more than a day ago, by channel, as counted last.",
		}, []string{"channel"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameHTTPRequestsTotal, Help: "HTTP requests served, by method, route and status.",
		}, []string{"method", "route", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: NameHTTPRequestDuration, Help: "HTTP request latency, by method and route.", Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameCacheRequestsTotal, Help: "Cache calls, by cache (redis, memory), op (get, set, delete) and result (hit, miss, ok, error; an error is a miss to the caller).",
		}, []string{"cache", "op", "result"}),
		purged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NamePurgedTotal, Help: "Records the purge schedule deleted past their retention, by kind (nonces, events, credit_reports: a report's content, ...).",
		}, []string{"kind"}),
		groups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameLedgerGroupsTotal, Help: "Group transactions of the ledger's group commit, by outcome (committed; alone: the group failed and each of its calls ran again on its own).",
		}, []string{"outcome"}),
		groupedCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: NameLedgerGroupedCallsTotal, Help: "Ledger transactions (flow steps) that group transactions took, by the group's outcome (committed, alone).",
		}, []string{"outcome"}),
		sdk: newSDKCollector(),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.payments, m.started, m.flows, m.flowDuration, m.inStage, m.ledgerOK, m.ledgerRun, m.reconDiffs, m.reconOpen, m.reconStale,
		m.httpRequests, m.httpDuration, m.cache, m.purged, m.groups, m.groupedCalls, m.sdk,
	)
	return m
}

// Registry is the process's registry, for tests and for series a package owns.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus' text format. A series that cannot be
// gathered is logged and left out, never failing the whole scrape.
func (m *Metrics) Handler(log *logrus.Entry) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      errorLog{log},
	})
}

type errorLog struct{ log *logrus.Entry }

func (e errorLog) Println(v ...any) {
	if e.log != nil {
		e.log.Warn(fmt.Sprint(v...))
	}
}

// Temporal is the Temporal SDK's MetricsHandler over this registry: set it in
// client.Options.MetricsHandler and the SDK's series (temporal_request,
// temporal_workflow_task_schedule_to_start_latency_seconds, ...) appear in /metrics.
func (m *Metrics) Temporal() client.MetricsHandler {
	if m == nil {
		return client.MetricsNopHandler
	}
	return newSDKHandler(m.sdk)
}

// FlowStarted counts a flow whose object (payment, top-up, withdrawal, refund) was
// just created: its flow starts now, or, if Temporal refused the start, at the
// client's retry or the flow sweeper's next pass.
func (m *Metrics) FlowStarted(flow, channel string) {
	if m == nil {
		return
	}
	m.started.WithLabelValues(flow, channel).Inc()
}

// FlowFinished counts a flow (payment, topup, withdrawal, refund) that reached a
// terminal status and observes its age since created (the zero time skips the
// observation). A payment also counts in payflow_payments_total by channel.
func (m *Metrics) FlowFinished(flow, status, channel string, created time.Time) {
	if m == nil {
		return
	}
	m.flows.WithLabelValues(flow, status, channel).Inc()
	if flow == "payment" {
		m.payments.WithLabelValues(status, channel).Inc()
	}
	if !created.IsZero() {
		age := time.Since(created).Seconds()
		if age < 0 {
			// A clock behind the one that made the id: count it, as instant.
			age = 0
		}
		m.flowDuration.WithLabelValues(flow, status).Observe(age)
	}
}

// LedgerChecked records the result of a ledger check that ran to the end.
func (m *Metrics) LedgerChecked(ok bool, at time.Time) {
	if m == nil {
		return
	}
	v := 0.0
	if ok {
		v = 1
	}
	m.ledgerOK.WithLabelValues().Set(v)
	m.ledgerRun.WithLabelValues().Set(float64(at.Unix()))
}

// AddReconciliationDifferences counts n differences of a kind (missing_on_our_side,
// missing_at_bank, amount_mismatch, status_mismatch) found on a channel's statement.
func (m *Metrics) AddReconciliationDifferences(channel, kind string, n int) {
	if m == nil || n <= 0 {
		return
	}
	m.reconDiffs.WithLabelValues(channel, kind).Add(float64(n))
}

// FlowsInStage records how many running flows wait in stage.
func (m *Metrics) FlowsInStage(stage string, n int64) {
	if m == nil {
		return
	}
	m.inStage.WithLabelValues(stage).Set(float64(n))
}

// ReconciliationDifferencesOpen records the differences still unresolved, by
// channel: the whole set, so that a channel left out is dropped.
func (m *Metrics) ReconciliationDifferencesOpen(byChannel map[string]int64) {
	if m == nil {
		return
	}
	m.reconOpen.Reset()
	for ch, n := range byChannel {
		m.reconOpen.WithLabelValues(ch).Set(float64(n))
	}
}

// ReconciliationDifferencesOpenOver1d records the unresolved differences found more
// than a day ago, by channel: the whole set, so that a channel left out is dropped.
func (m *Metrics) ReconciliationDifferencesOpenOver1d(byChannel map[string]int64) {
	if m == nil {
		return
	}
	m.reconStale.Reset()
	for ch, n := range byChannel {
		m.reconStale.WithLabelValues(ch).Set(float64(n))
	}
}

// ObserveRequest counts one HTTP request and its latency by route (the pattern,
// never the raw path, which would carry ids).
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.httpRequests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(method, route).Observe(d.Seconds())
}

// CacheRequest counts one cache call: cache is the cache's Name, op get, set or
// delete, result hit or miss (get), ok (set, delete) or error.
func (m *Metrics) CacheRequest(cache, op, result string) {
	if m == nil {
		return
	}
	m.cache.WithLabelValues(cache, op, result).Inc()
}

// LedgerGroup counts one group transaction of the ledger and the calls it took:
// committed, or failed and run alone (ledger.Ledger.ObserveGroups).
func (m *Metrics) LedgerGroup(calls int, committed bool) {
	if m == nil {
		return
	}
	outcome := "committed"
	if !committed {
		outcome = "alone"
	}
	m.groups.WithLabelValues(outcome).Inc()
	m.groupedCalls.WithLabelValues(outcome).Add(float64(calls))
}

// Purged counts what one purge deleted of a kind.
func (m *Metrics) Purged(kind string, n int64) {
	if m == nil || n <= 0 {
		return
	}
	m.purged.WithLabelValues(kind).Add(float64(n))
}

// ErrAlreadyRegistered reports a second series under one name.
var ErrAlreadyRegistered = errors.New("metric already registered")

// RegisterGaugeFunc exports a gauge whose value fn computes at each scrape: the
// hook for a series owned elsewhere, like payflow_webhook_backlog (NameWebhookBacklog,
// HelpWebhookBacklog) from whoever owns webhook delivery. fn runs on every scrape,
// concurrently with everything else: it must be cheap and safe (a cached count, not
// a table scan).
func (m *Metrics) RegisterGaugeFunc(name, help string, fn func() float64) error {
	if m == nil {
		return nil
	}
	err := m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		return fmt.Errorf("%s: %w", name, ErrAlreadyRegistered)
	}
	if err != nil {
		return fmt.Errorf("register %s: %w", name, err)
	}
	return nil
}
