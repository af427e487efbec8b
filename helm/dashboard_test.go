package helm_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/payflow/payflow/internal/metrics"
)

// dashboardFile is the chart's Grafana dashboard.
const dashboardFile = "payflow/dashboards/payflow.json"

// dashboard is the part of a Grafana dashboard this test reads.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID      int     `json:"id"`
	Type    string  `json:"type"`
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func readDashboard(t *testing.T, b []byte) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	return d
}

// labelValuesOf reads the metric of a Grafana label_values(metric{...}, label) query.
var labelValuesOf = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// checkDashboard returns what is wrong with a dashboard's queries (a series nothing
// exports, a label it lacks, a value the code never gives it) and the series its
// panels read.
func checkDashboard(d dashboard) (problems, series []string) {
	known := knownValues()
	ids := map[int]string{}
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if other, ok := ids[p.ID]; ok {
				problems = append(problems, fmt.Sprintf("panels %q and %q share the id %d", other, p.Title, p.ID))
			}
			ids[p.ID] = p.Title
			if p.Type != "row" && len(p.Targets) == 0 {
				problems = append(problems, fmt.Sprintf("panel %q has no query", p.Title))
			}
			for _, target := range p.Targets {
				ps, names := checkExpr(target.Expr, known)
				for _, problem := range ps {
					problems = append(problems, fmt.Sprintf("panel %q: %s", p.Title, problem))
				}
				series = append(series, names...)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		text, _ := q["query"].(string)
		m := labelValuesOf.FindStringSubmatch(text)
		if m == nil {
			problems = append(problems, fmt.Sprintf("variable %s: %q is not label_values(series, label)", v.Name, text))
			continue
		}
		ps, _ := checkExpr(m[1], known)
		for _, problem := range ps {
			problems = append(problems, fmt.Sprintf("variable %s: %s", v.Name, problem))
		}
	}
	return problems, series
}

// dashboardSeries are the series the dashboard must show: flows started and
// finished, end-to-end and bank latency, flows waiting in a stage, webhook backlog
// and failures, the ledger check, reconciliation differences open, and the Temporal
// SDK's task latencies.
var dashboardSeries = []string{
	metrics.NameFlowsStartedTotal,
	metrics.NameFlowsTotal,
	metrics.NameFlowDuration + "_bucket",
	"temporal_activity_execution_latency_seconds_bucket",
	metrics.NameFlowsInStage,
	metrics.NameWebhookBacklog,
	"temporal_activity_execution_failed",
	metrics.NameLedgerCheckOK,
	metrics.NameLedgerCheckLastRun,
	metrics.NameReconciliationDifferencesOpen,
	"temporal_workflow_task_schedule_to_start_latency_seconds_bucket",
	"temporal_activity_schedule_to_start_latency_seconds_bucket",
	"temporal_workflow_task_execution_latency_seconds_bucket",
}

// Every query of the chart's dashboard (panels and variables) selects series that
// payflow's processes export, with their labels and label values; the dashboard
// shows each series it must.
func TestDashboardQueriesNameExportedSeries(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	d := readDashboard(t, b)
	if d.UID == "" || d.Title == "" {
		t.Errorf("the dashboard needs a uid and a title (have %q, %q)", d.UID, d.Title)
	}
	problems, series := checkDashboard(d)
	for _, p := range problems {
		t.Error(p)
	}
	for _, want := range dashboardSeries {
		if !slices.Contains(series, want) {
			t.Errorf("no panel shows %s", want)
		}
	}
}

// Every panel's query is PromQL that Prometheus parses, once Grafana has put in its
// variables: promtool check rules on the queries as recording rules.
func TestDashboardQueriesParse(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	vars := strings.NewReplacer("$__rate_interval", "2m", "${namespace}", ".*", "$namespace", ".*")
	var rules []map[string]string
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for i, target := range p.Targets {
				rules = append(rules, map[string]string{"record": fmt.Sprintf("dashboard:panel_%d_%d", p.ID, i), "expr": vars.Replace(target.Expr)})
			}
			walk(p.Panels)
		}
	}
	walk(readDashboard(t, b).Panels)
	dir := t.TempDir()
	writeYAML(t, filepath.Join(dir, "dashboard.yaml"), map[string]any{
		"groups": []any{map[string]any{"name": "dashboard", "rules": rules}},
	})
	promtool(t, dir, "check", "rules", "dashboard.yaml")
}

// The check fails on a panel whose query names a series nothing exports, a label
// the series lacks, or a value the code never gives the label.
func TestDashboardCheckFailsOnUnknownSeries(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]string{
		`sum(rate(payflow_payments_started_total[5m]))`:                                 "no payflow process exports payflow_payments_started_total",
		`sum by (flow) (rate(payflow_flows_total{merchant="m"}[5m]))`:                   "has no label merchant",
		`max(payflow_flows_in_stage{stage="waiting_for_bank"})`:                         `stage is never "waiting_for_bank"`,
		`rate(temporal_activity_execution_failed{activity_type="DeliverWebhooks"}[5m])`: `activity_type is never "DeliverWebhooks"`,
		`histogram_quantile(0.9, rate(payflow_flow_duration_seconds[5m]))`:              "no payflow process exports payflow_flow_duration_seconds",
		`rate({__name__=~"payflow_.*"}[5m])`:                                            "a selector without a metric name",
	} {
		d := readDashboard(t, b)
		d.Panels = append(d.Panels, panel{ID: 999, Type: "timeseries", Title: "doctored", Targets: []struct {
			Expr string `json:"expr"`
		}{{Expr: expr}}})
		problems, _ := checkDashboard(d)
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("%s: want a problem with %q, have %v", expr, want, problems)
		}
	}
}

// The chart ships the dashboard as a ConfigMap with the sidecar's label when
// metrics.grafanaDashboard is enabled, and not otherwise; the label, extra labels,
// annotations and namespace are values.
func TestDashboardConfigMap(t *testing.T) {
	file, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if m := render(t); len(m.ofKind("ConfigMap")) > 0 {
		for _, o := range m.ofKind("ConfigMap") {
			if strings.HasSuffix(o.Metadata.Name, "-dashboard") {
				t.Fatalf("dashboard ConfigMap %s rendered while disabled", o.Metadata.Name)
			}
		}
	}
	for _, c := range []struct {
		args       []string
		label, val string
		namespace  string
	}{
		{args: []string{"--set", "metrics.grafanaDashboard.enabled=true"}, label: "grafana_dashboard", val: "1"},
		{args: []string{"-f", prodValues, "--set", "metrics.grafanaDashboard.enabled=true",
			"--set", "metrics.grafanaDashboard.label=dashboards", "--set", "metrics.grafanaDashboard.labelValue=payments",
			"--set", "metrics.grafanaDashboard.annotations.grafana_folder=Payments", "--set", "metrics.grafanaDashboard.namespace=monitoring"},
			label: "dashboards", val: "payments", namespace: "monitoring"},
	} {
		m := render(t, c.args...)
		o := m.get(t, "ConfigMap", name("dashboard"))
		var cm struct {
			Metadata struct {
				Namespace   string            `yaml:"namespace"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Data map[string]string `yaml:"data"`
		}
		o.decode(t, &cm)
		if cm.Metadata.Labels[c.label] != c.val {
			t.Errorf("%v: labels %v, want %s=%q", c.args, cm.Metadata.Labels, c.label, c.val)
		}
		if cm.Metadata.Namespace != c.namespace {
			t.Errorf("%v: namespace %q, want %q", c.args, cm.Metadata.Namespace, c.namespace)
		}
		if c.namespace != "" && cm.Metadata.Annotations["grafana_folder"] != "Payments" {
			t.Errorf("%v: annotations %v", c.args, cm.Metadata.Annotations)
		}
		var shipped, want any
		if err := json.Unmarshal([]byte(cm.Data["payflow.json"]), &shipped); err != nil {
			t.Fatalf("the ConfigMap's payflow.json is not JSON: %v", err)
		}
		if err := json.Unmarshal(file, &want); err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(shipped)
		b, _ := json.Marshal(want)
		if string(a) != string(b) {
			t.Errorf("%v: the ConfigMap's payflow.json is not %s", c.args, dashboardFile)
		}
	}
}
