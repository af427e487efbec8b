package helm_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/payflow/payflow/internal/metrics"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/worker"
	"github.com/payflow/payflow/workflows"
)

// This file reads the series a PromQL expression selects, for the tests of the
// chart's alerts and dashboard: every selector must name a series payflow's
// processes export (internal/metrics' catalog), with labels those series carry and,
// where the code fixes them, label values they take.

// matcher is one label matcher of a selector: name op "value".
type matcher struct {
	label, op, value string
}

// selector is one vector selector: a metric name and its matchers.
type selector struct {
	name     string
	matchers []matcher
}

func (s selector) String() string {
	var b strings.Builder
	b.WriteString(s.name)
	if len(s.matchers) > 0 {
		b.WriteByte('{')
		for i, m := range s.matchers {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s%s%q", m.label, m.op, m.value)
		}
		b.WriteByte('}')
	}
	return b.String()
}

type token struct {
	kind byte // 'i' identifier, 's' string, 'n' number or duration, 'v' Grafana variable, 'p' punctuation
	text string
}

var promToken = regexp.MustCompile(`^(?:` +
	`(?P<i>[a-zA-Z_:][a-zA-Z0-9_:]*)` +
	`|(?P<s>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`" + `)` +
	`|(?P<n>[0-9.][0-9a-zA-Z.]*)` +
	`|(?P<v>\$\{[^}]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*)` +
	`|(?P<p>=~|!~|!=|==|>=|<=|[-+*/%^=<>(){}\[\],:@])` +
	`)`)

func lex(expr string) ([]token, error) {
	var out []token
	for rest := strings.TrimSpace(expr); rest != ""; rest = strings.TrimSpace(rest) {
		m := promToken.FindStringSubmatch(rest)
		if m == nil {
			return nil, fmt.Errorf("cannot read %q", rest)
		}
		for i, name := range promToken.SubexpNames() {
			if name != "" && m[i] != "" {
				out = append(out, token{kind: name[0], text: m[i]})
				break
			}
		}
		rest = rest[len(m[0]):]
	}
	return out, nil
}

// promKeywords are identifiers that are not metric names; the grouping ones take a
// parenthesized list of labels.
var (
	promKeywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
		"group_left", "group_right", "inf", "nan", "Inf", "NaN",
		// Aggregations, which may be followed by by (...) rather than their argument.
		"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
		"bottomk", "topk", "quantile", "limitk", "limit_ratio"}
	promGrouping = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}
)

// selectors returns every vector selector of a PromQL expression (Grafana's
// $variables allowed).
func selectors(expr string) ([]selector, error) {
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	var out []selector
	skip := func(i int, open, close string) (int, error) {
		depth := 0
		for ; i < len(toks); i++ {
			switch toks[i].text {
			case open:
				depth++
			case close:
				depth--
				if depth == 0 {
					return i, nil
				}
			}
		}
		return 0, fmt.Errorf("%s: unclosed %s", expr, open)
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		next := ""
		if i+1 < len(toks) {
			next = toks[i+1].text
		}
		switch {
		case t.text == "[":
			if i, err = skip(i, "[", "]"); err != nil {
				return nil, err
			}
		case t.kind == 'i' && slices.Contains(promGrouping, t.text) && next == "(":
			if i, err = skip(i+1, "(", ")"); err != nil {
				return nil, err
			}
		case t.kind == 'i' && (next == "(" || slices.Contains(promKeywords, t.text)):
			// A function, an aggregation or a keyword.
		case t.kind == 'i' || t.text == "{":
			s := selector{}
			if t.kind == 'i' {
				s.name = t.text
				if next != "{" {
					out = append(out, s)
					continue
				}
				i++
			}
			end, err := skip(i, "{", "}")
			if err != nil {
				return nil, err
			}
			body := toks[i+1 : end]
			for len(body) > 0 {
				if len(body) < 3 || body[0].kind != 'i' || body[2].kind != 's' {
					return nil, fmt.Errorf("%s: cannot read the matchers %v", expr, body)
				}
				m := matcher{label: body[0].text, op: body[1].text, value: unquote(body[2].text)}
				if m.label == "__name__" && m.op == "=" {
					s.name = m.value
				} else {
					s.matchers = append(s.matchers, m)
				}
				body = body[3:]
				if len(body) > 0 && body[0].text == "," {
					body = body[1:]
				}
			}
			out = append(out, s)
			i = end
		}
	}
	return out, nil
}

func unquote(s string) string {
	s = s[1 : len(s)-1]
	return strings.NewReplacer(`\"`, `"`, `\'`, `'`, `\\`, `\`).Replace(s)
}

// targetLabels are the labels Prometheus adds to every series it scrapes through
// the chart's ServiceMonitors; a scraped label of the same name (the Temporal SDK's
// namespace tag) is kept as exported_<name>.
var targetLabels = []string{"job", "instance", "namespace", "pod", "service", "endpoint", "container"}

// knownValues are the values the code gives some labels: a selector that names
// another value selects nothing.
func knownValues() map[string][]string {
	flows := []string{string(models.FlowPayment), string(models.FlowTopup), string(models.FlowWithdrawal),
		string(models.FlowRefund), string(models.FlowReconciliation), string(models.FlowWebhook)}
	var stages, kinds []string
	for _, s := range worker.GaugeStages {
		stages = append(stages, string(s))
	}
	for _, k := range models.DifferenceKinds {
		kinds = append(kinds, string(k))
	}
	return map[string][]string{
		"flow":          flows,
		"workflow_type": append(slices.Clone(workflows.AllWorkflowNames), "none"),
		"activity_type": append(slices.Clone(workflows.AllActivityNames), "none"),
		"stage":         stages,
		"kind":          kinds,
		"reason":        {"deadline", "mismatch"},
	}
}

// plainAlternation matches a regular expression that is only a|b|c of literal values.
var plainAlternation = regexp.MustCompile(`^[A-Za-z0-9_]+(\|[A-Za-z0-9_]+)*$`)

// checkSelector reports what is wrong with one selector: a series nothing exports,
// a label it does not carry, a value the code never gives a label.
func checkSelector(s selector, known map[string][]string) []string {
	var problems []string
	if s.name == "" {
		return []string{fmt.Sprintf("%s: a selector without a metric name (name the series)", s)}
	}
	var labels []string
	switch series, ok := metrics.Lookup(s.name); {
	case s.name == "up":
		// Prometheus' own, per target.
	case !ok:
		return []string{fmt.Sprintf("%s: no payflow process exports %s (internal/metrics' catalog)", s, s.name)}
	default:
		labels = slices.Clone(series.Labels)
		if series.Kind == metrics.Histogram && strings.HasSuffix(s.name, "_bucket") {
			labels = append(labels, "le")
		}
		if slices.Contains(series.Labels, "namespace") {
			labels = append(labels, "exported_namespace")
		}
	}
	labels = append(labels, targetLabels...)
	for _, m := range s.matchers {
		if !slices.Contains(labels, m.label) {
			problems = append(problems, fmt.Sprintf("%s: %s has no label %s (it has %v)", s, s.name, m.label, labels))
			continue
		}
		values, fixed := known[m.label]
		if !fixed || m.op == "!=" || m.op == "!~" || strings.Contains(m.value, "$") {
			continue
		}
		if m.op == "=~" && !plainAlternation.MatchString(m.value) {
			continue
		}
		for _, v := range strings.Split(m.value, "|") {
			if !slices.Contains(values, v) {
				problems = append(problems, fmt.Sprintf("%s: %s is never %q (it is one of %v)", s, m.label, v, values))
			}
		}
	}
	return problems
}

// checkExpr checks every selector of a PromQL expression and returns the problems
// and the series it names.
func checkExpr(expr string, known map[string][]string) (problems, names []string) {
	sels, err := selectors(expr)
	if err != nil {
		return []string{err.Error()}, nil
	}
	for _, s := range sels {
		problems = append(problems, checkSelector(s, known)...)
		names = append(names, s.name)
	}
	return problems, names
}
