package metrics

import (
	"slices"
	"strings"
)

// Kind is how a series is exported: a counter, a gauge, or a histogram (whose
// samples are name_bucket, name_sum and name_count).
type Kind string

// Kinds of series.
const (
	Counter   Kind = "counter"
	Gauge     Kind = "gauge"
	Histogram Kind = "histogram"
)

// Series is one metric family a payflow process exports: its name as Prometheus
// stores it, its kind, and the labels its samples carry (before Prometheus adds its
// target labels: job, instance, namespace, pod, ...).
type Series struct {
	Name   string
	Kind   Kind
	Labels []string
}

// SDKTags are the tags the Temporal SDK puts on every series (its RootTags, then
// overridden by the worker, workflow or activity at hand): the bridge makes them
// labels.
var SDKTags = []string{"namespace", "client_name", "worker_type", "workflow_type", "activity_type", "task_queue"}

func sdk(name string, kind Kind, extra ...string) Series {
	return Series{Name: name, Kind: kind, Labels: append(slices.Clone(SDKTags), extra...)}
}

// Payflow are payflow's own series. TestCatalogIsWhatTheRegistryExports checks them
// against what New registers (and what the Temporal SDK bridge makes of the one
// counter the workflows emit through it).
var Payflow = []Series{
	{NamePaymentsTotal, Counter, []string{"status", "channel"}},
	{NameFlowsStartedTotal, Counter, []string{"flow", "channel"}},
	{NameFlowsTotal, Counter, []string{"flow", "status", "channel"}},
	{NameFlowDuration, Histogram, []string{"flow", "status"}},
	{NameFlowsInStage, Gauge, []string{"stage"}},
	// Emitted by the workflows through the SDK's workflow metrics handler, so it
	// carries the SDK's tags too.
	sdk(NameFlowsNeedsAttention, Counter, "flow", "channel", "reason"),
	{NameLedgerCheckOK, Gauge, nil},
	{NameLedgerCheckLastRun, Gauge, nil},
	{NameReconciliationDifferences, Counter, []string{"channel", "kind"}},
	{NameReconciliationDifferencesOpen, Gauge, []string{"channel"}},
	{NameReconciliationDifferencesOpenOver1d, Gauge, []string{"channel"}},
	{NameWebhookBacklog, Gauge, nil},
	{NameHTTPRequestsTotal, Counter, []string{"method", "route", "status"}},
	{NameHTTPRequestDuration, Histogram, []string{"method", "route"}},
	{NameCacheRequestsTotal, Counter, []string{"cache", "op", "result"}},
	{NamePurgedTotal, Counter, []string{"kind"}},
	{NameLedgerGroupsTotal, Counter, []string{"outcome"}},
	{NameLedgerGroupedCallsTotal, Counter, []string{"outcome"}},
}

// SDK are the Temporal SDK's series that payflow's alerts and dashboard read, named
// as the bridge exports them (timers as histograms in seconds, with the _seconds
// suffix). TestSDKSeriesAreTheSDKs checks each against the SDK's own source: the
// name is one of its metric names, reported as a timer, counter or gauge.
var SDK = []Series{
	sdk("temporal_workflow_endtoend_latency_seconds", Histogram),
	sdk("temporal_workflow_task_schedule_to_start_latency_seconds", Histogram),
	sdk("temporal_workflow_task_execution_latency_seconds", Histogram),
	sdk("temporal_workflow_task_execution_failed", Counter, "failure_reason"),
	sdk("temporal_workflow_completed", Counter),
	sdk("temporal_workflow_failed", Counter),
	sdk("temporal_activity_schedule_to_start_latency_seconds", Histogram),
	sdk("temporal_activity_execution_latency_seconds", Histogram),
	sdk("temporal_activity_execution_failed", Counter, "failure_reason"),
	sdk("temporal_worker_task_slots_available", Gauge),
	sdk("temporal_request", Counter, "operation"),
	sdk("temporal_request_failure", Counter, "operation", "status_code"),
	sdk("temporal_request_latency_seconds", Histogram, "operation"),
}

// Lookup finds the series a sample name belongs to: a counter's or gauge's own name,
// or a histogram's name_bucket, name_sum or name_count. Only payflow's series and
// the SDK's listed above are found (not the Go runtime's nor the process's).
func Lookup(sample string) (Series, bool) {
	for _, list := range [][]Series{Payflow, SDK} {
		for _, s := range list {
			if s.Kind != Histogram && s.Name == sample {
				return s, true
			}
			suffix, ok := strings.CutPrefix(sample, s.Name+"_")
			if s.Kind == Histogram && ok && slices.Contains([]string{"bucket", "sum", "count"}, suffix) {
				return s, true
			}
		}
	}
	return Series{}, false
}
