package helm_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// alertTests is the promtool unit test file of the chart's alerts.
const alertTests = "alerts_test.yaml"

// promtoolBin is the promtool that make tools installs (from Debian's prometheus
// package).
func promtoolBin(t *testing.T) string {
	return toolBin(t, "promtool", "make tools (or make alerts-check)")
}

// ruleGroups renders the chart's PrometheusRule (release pf, namespace payments, as
// alerts_test.yaml's series are labelled) and returns its groups as a Prometheus
// rules file holds them.
func ruleGroups(t *testing.T) map[string]any {
	t.Helper()
	m := render(t, "--set", "metrics.prometheusRule.enabled=true")
	rules := m.ofKind("PrometheusRule")
	if len(rules) != 1 {
		t.Fatalf("want one PrometheusRule, have %d", len(rules))
	}
	var pr struct {
		Spec map[string]any `yaml:"spec"`
	}
	rules[0].decode(t, &pr)
	return pr.Spec
}

// alertRules lists the rules of the groups that are alerts.
func alertRules(groups map[string]any) []map[string]any {
	var out []map[string]any
	for _, g := range groups["groups"].([]any) {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			if rule := r.(map[string]any); rule["alert"] != nil {
				out = append(out, rule)
			}
		}
	}
	return out
}

func writeYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func promtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(promtoolBin(t), args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out.String())
}

// The rendered rules pass promtool check rules (expressions and annotation
// templates parse), and every alert behaves as helm/alerts_test.yaml says under
// promtool test rules: each fires in one case and stays quiet in another, over
// series the code exports. The prose annotations (description, runbook_url) are
// left out of the unit tests' comparison; the summary, templated from the labels
// and the value, is compared.
func TestAlertsFireAndStayQuiet(t *testing.T) {
	groups := ruleGroups(t)
	dir := t.TempDir()
	writeYAML(t, filepath.Join(dir, "rules-full.yaml"), groups)
	promtool(t, dir, "check", "rules", "rules-full.yaml")

	for _, r := range alertRules(groups) {
		if a, ok := r["annotations"].(map[string]any); ok {
			for k := range a {
				if k != "summary" {
					delete(a, k)
				}
			}
		}
	}
	writeYAML(t, filepath.Join(dir, "rules.yaml"), groups)
	tests, err := os.ReadFile(alertTests)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, alertTests), tests, 0o644); err != nil {
		t.Fatal(err)
	}
	promtool(t, dir, "test", "rules", alertTests)
}

// unitTests is the part of a promtool test file this test reads.
type unitTests struct {
	Tests []struct {
		Name        string `yaml:"name"`
		InputSeries []struct {
			Series string `yaml:"series"`
		} `yaml:"input_series"`
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// Every alert of the chart has a firing case and a quiet case in
// helm/alerts_test.yaml, and the file tests no alert the chart lacks; every input
// series is one payflow's processes export (or Prometheus' up), with labels it
// carries and values the code gives them; and every alert's expression selects
// only such series.
func TestAlertTestsCoverEveryAlertWithRealSeries(t *testing.T) {
	b, err := os.ReadFile(alertTests)
	if err != nil {
		t.Fatal(err)
	}
	var ut unitTests
	if err := yaml.Unmarshal(b, &ut); err != nil {
		t.Fatal(err)
	}
	known := knownValues()
	firing, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range ut.Tests {
		for _, in := range tc.InputSeries {
			sels, err := selectors(in.Series)
			if err != nil || len(sels) != 1 {
				t.Errorf("%s: input series %q is not one selector (%v)", tc.Name, in.Series, err)
				continue
			}
			for _, p := range checkSelector(sels[0], known) {
				t.Errorf("%s: %s", tc.Name, p)
			}
		}
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				firing[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}

	var alerts []string
	for _, r := range alertRules(ruleGroups(t)) {
		name := r["alert"].(string)
		alerts = append(alerts, name)
		if !firing[name] {
			t.Errorf("%s: no case in %s where it fires", name, alertTests)
		}
		if !quiet[name] {
			t.Errorf("%s: no case in %s where it stays quiet", name, alertTests)
		}
		problems, _ := checkExpr(r["expr"].(string), known)
		for _, p := range problems {
			t.Errorf("alert %s: %s", name, p)
		}
	}
	for name := range firing {
		if !slices.Contains(alerts, name) {
			t.Errorf("%s tests the alert %s, which the chart does not have", alertTests, name)
		}
	}
}
