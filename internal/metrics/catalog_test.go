package metrics_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/metrics"
	"github.com/payflow/payflow/workflows"
)

// The catalog is what a process exports: every series of metrics.Payflow, once
// touched, is gathered from the registry under its name, kind and labels, and the
// registry holds no payflow_ series the catalog lacks.
func TestCatalogIsWhatTheRegistryExports(t *testing.T) {
	m := metrics.New()
	m.FlowStarted("payment", "banksim")
	m.FlowFinished("payment", "succeeded", "banksim", time.Now())
	m.FlowsInStage("waiting_bank", 1)
	m.LedgerChecked(true, time.Now())
	m.AddReconciliationDifferences("banksim", "missing_at_bank", 1)
	m.ReconciliationDifferencesOpen(map[string]int64{"banksim": 1})
	m.ReconciliationDifferencesOpenOver1d(map[string]int64{"banksim": 1})
	m.ObserveRequest("GET", "/healthz", 200, time.Millisecond)
	m.CacheRequest("memory", "get", "hit")
	m.Purged("credit_reports", 2)
	m.LedgerGroup(3, true)
	require.NoError(t, m.RegisterGaugeFunc(metrics.NameWebhookBacklog, metrics.HelpWebhookBacklog, func() float64 { return 0 }))
	// The workflows' counter, through the SDK's workflow metrics handler, which
	// puts its root tags on every series (see sdkRootTags).
	require.Equal(t, metrics.NameFlowsNeedsAttention, workflows.MetricNeedsAttention)
	m.Temporal().WithTags(sdkRootTags()).WithTags(map[string]string{"flow": "withdrawal", "channel": "banksim", "reason": "deadline"}).
		Counter(workflows.MetricNeedsAttention).Inc(1)

	families, err := m.Registry().Gather()
	require.NoError(t, err)
	got := map[string]metrics.Series{}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "payflow_") {
			continue
		}
		s := metrics.Series{Name: f.GetName(), Kind: metrics.Kind(strings.ToLower(f.GetType().String()))}
		for _, l := range f.GetMetric()[0].GetLabel() {
			s.Labels = append(s.Labels, l.GetName())
		}
		got[s.Name] = s
	}
	for _, want := range metrics.Payflow {
		have, ok := got[want.Name]
		if !ok {
			t.Errorf("%s is in the catalog but not exported", want.Name)
			continue
		}
		delete(got, want.Name)
		require.Equal(t, want.Kind, have.Kind, want.Name)
		require.ElementsMatch(t, want.Labels, have.Labels, want.Name)
	}
	for name := range got {
		t.Errorf("%s is exported but not in metrics.Payflow", name)
	}
}

func sdkRootTags() map[string]string {
	tags := map[string]string{}
	for _, k := range metrics.SDKTags {
		tags[k] = "none"
	}
	return tags
}

var (
	// A metric name of the SDK: Name = TemporalMetricsPrefix + "suffix", or another
	// such constant + "suffix".
	sdkConst = regexp.MustCompile(`(?m)^\s*(\w+)\s*=\s*(\w+)\s*\+\s*"(\w+)"`)
	// A report of a metric: .Timer(metrics.X), .Counter(x), .Gauge(X).
	sdkReport = regexp.MustCompile(`[.\s](Timer|Counter|Gauge)\((?:metrics\.)?(\w+)\)`)
	// A variable set to a constant, reported through the variable (grpc.go).
	sdkAssign = regexp.MustCompile(`(\w+)\s*:?=\s*(?:metrics\.)?(\w+)\s*$`)
	// The SDK's root tags (RootTags).
	sdkRoot = regexp.MustCompile(`(?s)func RootTags\(.*?\{(.*?)\n\}`)
	sdkTag  = regexp.MustCompile(`(\w+TagName):`)
)

// Every SDK series of the catalog is the SDK's: read from the SDK's source in the
// module cache (the version go.mod requires), its name is one of the SDK's metric
// names, reported as a timer (a histogram in seconds through the bridge), a counter
// or a gauge as the catalog says; and the root tags are the SDK's.
func TestSDKSeriesAreTheSDKs(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "go.temporal.io/sdk").Output()
	require.NoError(t, err, "go list -m go.temporal.io/sdk")
	dir := strings.TrimSpace(string(out))
	read := func(rel string) string {
		b, err := os.ReadFile(filepath.Join(dir, rel))
		require.NoError(t, err)
		return string(b)
	}

	consts := map[string]string{"TemporalMetricsPrefix": "temporal_"}
	text := read("internal/common/metrics/constants.go")
	for changed := true; changed; {
		changed = false
		for _, c := range sdkConst.FindAllStringSubmatch(text, -1) {
			if base, ok := consts[c[2]]; ok && consts[c[1]] == "" {
				consts[c[1]], changed = base+c[3], true
			}
		}
	}
	names := map[string]string{} // metric name -> constant
	for c, name := range consts {
		names[name] = c
	}

	// How each constant is reported, over every Go file of the SDK's internal
	// packages.
	reported := map[string][]string{} // constant or variable -> Timer/Counter/Gauge
	assigned := map[string][]string{} // constant -> variables set to it
	files, err := filepath.Glob(filepath.Join(dir, "internal", "*.go"))
	require.NoError(t, err)
	more, err := filepath.Glob(filepath.Join(dir, "internal", "common", "metrics", "*.go"))
	require.NoError(t, err)
	for _, f := range append(files, more...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, r := range sdkReport.FindAllStringSubmatch(string(b), -1) {
			reported[r[2]] = append(reported[r[2]], r[1])
		}
		for _, line := range strings.Split(string(b), "\n") {
			if a := sdkAssign.FindStringSubmatch(line); a != nil {
				assigned[a[2]] = append(assigned[a[2]], a[1])
			}
		}
	}
	kinds := func(c string) []string {
		out := slices.Clone(reported[c])
		for _, v := range assigned[c] {
			out = append(out, reported[v]...)
		}
		return out
	}

	for _, s := range metrics.SDK {
		name, report := s.Name, "Counter"
		switch s.Kind {
		case metrics.Histogram:
			name, report = strings.TrimSuffix(s.Name, "_seconds"), "Timer"
		case metrics.Gauge:
			report = "Gauge"
		}
		c, ok := names[name]
		if !ok {
			t.Errorf("%s: the SDK has no metric %s", s.Name, name)
			continue
		}
		if !slices.Contains(kinds(c), report) {
			t.Errorf("%s: the SDK reports %s (%s) as %v, not as a %s", s.Name, name, c, kinds(c), report)
		}
	}

	root := sdkRoot.FindStringSubmatch(read("internal/common/metrics/tags.go"))
	require.NotNil(t, root, "RootTags")
	var tags []string
	for _, m := range sdkTag.FindAllStringSubmatch(root[1], -1) {
		tags = append(tags, tagValue(t, text, m[1]))
	}
	require.ElementsMatch(t, metrics.SDKTags, tags, "the SDK's root tags")
}

// tagValue reads a tag-name constant (NamespaceTagName = "namespace").
func tagValue(t *testing.T, text, name string) string {
	m := regexp.MustCompile(`\b` + name + `\s*=\s*"(\w+)"`).FindStringSubmatch(text)
	require.NotNil(t, m, name)
	return m[1]
}

// Lookup finds a histogram by its samples only, and nothing outside the catalog.
func TestLookup(t *testing.T) {
	for sample, want := range map[string]string{
		"payflow_flows_total":                                metrics.NameFlowsTotal,
		"payflow_flow_duration_seconds_bucket":               metrics.NameFlowDuration,
		"payflow_flow_duration_seconds_count":                metrics.NameFlowDuration,
		"temporal_activity_execution_latency_seconds_bucket": "temporal_activity_execution_latency_seconds",
	} {
		s, ok := metrics.Lookup(sample)
		require.True(t, ok, sample)
		require.Equal(t, want, s.Name)
	}
	for _, sample := range []string{"payflow_flow_duration_seconds", "payflow_flows_total_bucket", "payflow_flows_started", "go_goroutines"} {
		_, ok := metrics.Lookup(sample)
		require.False(t, ok, sample)
	}
}
