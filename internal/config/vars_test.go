package config

import (
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// Variables is the whole list: every PAYFLOW_* name that Load reads is in it, and
// nothing else.
func TestVariablesAreWhatLoadReads(t *testing.T) {
	src, err := os.ReadFile("config.go")
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	for _, m := range regexp.MustCompile(`"(PAYFLOW_[A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1) {
		read[m[1]] = true
	}
	listed := map[string]bool{}
	for _, v := range Variables {
		if listed[v.Name] {
			t.Errorf("%s is listed twice", v.Name)
		}
		listed[v.Name] = true
	}
	if missing, extra := diff(read, listed), diff(listed, read); len(missing)+len(extra) > 0 {
		t.Fatalf("Variables and Load disagree: read but not listed %v; listed but not read %v", missing, extra)
	}
}

// Each listed default is the value Load uses when the variable is unset: setting
// every variable to its listed default loads the same configuration as setting none.
func TestVariablesDefaultsAreLoadsDefaults(t *testing.T) {
	unset, err := load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defaults := map[string]string{}
	for _, v := range Variables {
		defaults[v.Name] = v.Default
	}
	set, err := load(func(k string) string { return defaults[k] })
	if err != nil {
		t.Fatalf("the listed defaults do not load: %v", err)
	}
	// Only whether PAYFLOW_BANKSIM_URL was named differs: production asks for it.
	set.banksimURLSet = false
	if !reflect.DeepEqual(unset, set) {
		t.Fatalf("the listed defaults load another configuration:\nunset:    %+v\ndefaults: %+v", unset, set)
	}
}

// docs/configuration.md has a row for every variable, with its default, and (above
// its section of the variables of tools and tests) none other.
func TestConfigurationPageListsEveryVariable(t *testing.T) {
	page, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	processes, _, ok := strings.Cut(string(page), "\n"+OtherVariablesHeading+"\n")
	if !ok {
		t.Fatalf("docs/configuration.md has no line %q", OtherVariablesHeading)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(processes, "\n") {
		if m := regexp.MustCompile("^\\| `(PAYFLOW_[A-Z0-9_]+)` \\|").FindStringSubmatch(line); m != nil {
			rows[m[1]] = line
		}
	}
	listed := map[string]bool{}
	for _, v := range Variables {
		listed[v.Name] = true
		row, ok := rows[v.Name]
		if !ok {
			t.Errorf("docs/configuration.md has no row | `%s` |", v.Name)
			continue
		}
		if want := "`" + v.Default + "`"; v.Default != "" && !strings.Contains(row, want) {
			t.Errorf("docs/configuration.md: the row of %s does not show its default %s", v.Name, want)
		}
	}
	documented := map[string]bool{}
	for name := range rows {
		documented[name] = true
	}
	if extra := diff(documented, listed); len(extra) > 0 {
		t.Errorf("docs/configuration.md documents variables Load does not read: %v", extra)
	}
}

// diff is the sorted names in a and not in b.
func diff(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
