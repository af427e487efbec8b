package metrics

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// sdkTimerBuckets span a poll answered at once to a workflow that ran for hours
// (temporal_workflow_endtoend_latency).
var sdkTimerBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600}

// sdkCollector holds every series the Temporal SDK reported, one per name and tag
// set. The SDK reports one name with different tag sets (temporal_request with and
// without task_queue), which a fixed-label prometheus vector cannot hold; so each
// series is its own metric with its tags as constant labels, and the collector is
// unchecked (it describes nothing up front), which Prometheus' registry allows.
type sdkCollector struct {
	mu       sync.RWMutex
	counters map[string]prometheus.Counter
	gauges   map[string]prometheus.Gauge
	timers   map[string]prometheus.Histogram
}

func newSDKCollector() *sdkCollector {
	return &sdkCollector{
		counters: map[string]prometheus.Counter{},
		gauges:   map[string]prometheus.Gauge{},
		timers:   map[string]prometheus.Histogram{},
	}
}

// Describe implements prometheus.Collector; it describes nothing, which makes the
// collector unchecked: the series are not known until the SDK reports them.
func (c *sdkCollector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c *sdkCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, m := range c.counters {
		m.Collect(ch)
	}
	for _, m := range c.gauges {
		m.Collect(ch)
	}
	for _, m := range c.timers {
		m.Collect(ch)
	}
}

// series returns the metric of name and labels (whose canonical form is key) from
// set, creating it with mk the first time.
func series[M any](c *sdkCollector, set map[string]M, name, key string, mk func() M) M {
	id := name + "\xff" + key
	c.mu.RLock()
	m, ok := set[id]
	c.mu.RUnlock()
	if ok {
		return m
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m, ok := set[id]; ok {
		return m
	}
	m = mk()
	set[id] = m
	return m
}

func sdkHelp(name string) string { return "Temporal SDK metric " + name + "." }

// sdkHandler implements the SDK's client.MetricsHandler over an sdkCollector.
type sdkHandler struct {
	c    *sdkCollector
	tags prometheus.Labels
	key  string
}

var _ client.MetricsHandler = (*sdkHandler)(nil)

func newSDKHandler(c *sdkCollector) *sdkHandler {
	return &sdkHandler{c: c, tags: prometheus.Labels{}}
}

// WithTags implements client.MetricsHandler: the new tags are added to (or replace)
// the handler's.
func (h *sdkHandler) WithTags(tags map[string]string) client.MetricsHandler {
	merged := maps.Clone(h.tags)
	for k, v := range tags {
		merged[sanitizeName(k)] = v
	}
	keys := slices.Sorted(maps.Keys(merged))
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(merged[k])
		b.WriteByte('\xff')
	}
	return &sdkHandler{c: h.c, tags: merged, key: b.String()}
}

// Counter implements client.MetricsHandler.
func (h *sdkHandler) Counter(name string) client.MetricsCounter {
	name = sanitizeName(name)
	m := series(h.c, h.c.counters, name, h.key, func() prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: sdkHelp(name), ConstLabels: h.tags})
	})
	return sdkCounter{m}
}

// Gauge implements client.MetricsHandler.
func (h *sdkHandler) Gauge(name string) client.MetricsGauge {
	name = sanitizeName(name)
	m := series(h.c, h.c.gauges, name, h.key, func() prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: sdkHelp(name), ConstLabels: h.tags})
	})
	return sdkGauge{m}
}

// Timer implements client.MetricsHandler: a histogram in seconds, named with the
// _seconds suffix Prometheus expects (temporal_request_latency_seconds).
func (h *sdkHandler) Timer(name string) client.MetricsTimer {
	name = sanitizeName(name) + "_seconds"
	m := series(h.c, h.c.timers, name, h.key, func() prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: name, Help: sdkHelp(name), ConstLabels: h.tags, Buckets: sdkTimerBuckets,
		})
	})
	return sdkTimer{m}
}

type sdkCounter struct{ c prometheus.Counter }

// Inc implements client.MetricsCounter. A negative delta (never sent by the SDK)
// is dropped: a Prometheus counter only goes up.
func (c sdkCounter) Inc(d int64) {
	if d > 0 {
		c.c.Add(float64(d))
	}
}

type sdkGauge struct{ g prometheus.Gauge }

// Update implements client.MetricsGauge.
func (g sdkGauge) Update(v float64) { g.g.Set(v) }

type sdkTimer struct{ h prometheus.Histogram }

// Record implements client.MetricsTimer.
func (t sdkTimer) Record(d time.Duration) { t.h.Observe(d.Seconds()) }

// sanitizeName maps a name or tag key to Prometheus' [a-zA-Z_][a-zA-Z0-9_]*.
func sanitizeName(s string) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	for i, r := range b {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9'
		if !ok {
			b[i] = '_'
		}
	}
	return string(b)
}
