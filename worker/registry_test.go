package worker

import (
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/workflows"
)

// sdkName is the name the SDK derives from a function or method value, which is what
// a workflow calling `bankActs.Charge` asks the server to run.
func sdkName(fn any) string {
	full := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	parts := strings.Split(full, ".")
	return strings.TrimSuffix(parts[len(parts)-1], "-fm")
}

// TestRegisteredNamesAreTheConstants: what the worker registers is exactly the set of
// name constants, and each constant is the name the SDK derives from the function the
// workflows call, so that a rename cannot silently orphan running flows.
func TestRegisteredNamesAreTheConstants(t *testing.T) {
	d := Deps{Bank: &activities.Bank{}, Payments: &activities.Payments{}, Topups: &activities.Topups{},
		Holds: &activities.Holds{}, Withdrawals: &activities.Withdrawals{}, Refunds: &activities.Refunds{}, Webhooks: &activities.Webhooks{},
		Reconciliation: &activities.Reconciliation{}, Sweeper: &activities.Sweeper{}}
	check := func(kind string, regs []Registration, want []string) {
		var got []string
		for _, r := range regs {
			if n := sdkName(r.Fn); n != r.Name {
				t.Errorf("%s %s is registered under %q but workflows call it as %q", kind, n, r.Name, n)
			}
			got = append(got, r.Name)
		}
		want = append([]string(nil), want...)
		sort.Strings(got)
		sort.Strings(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s registered %v, constants %v", kind, got, want)
		}
	}
	check("workflow", Workflows(), workflows.AllWorkflowNames)
	check("activity", Activities(d), workflows.AllActivityNames)
}
