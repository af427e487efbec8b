package worker

import (
	"context"
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

// TestEveryActivityMethodIsRegistered: each exported method of the activity structs
// with an activity's shape (a context first, an error last) is registered, so that a
// new activity a workflow calls cannot be left out of the worker (the workflow unit
// tests register the structs whole and would not notice).
func TestEveryActivityMethodIsRegistered(t *testing.T) {
	d := Deps{Bank: &activities.Bank{}, Payments: &activities.Payments{}, Topups: &activities.Topups{},
		Holds: &activities.Holds{}, Withdrawals: &activities.Withdrawals{}, Refunds: &activities.Refunds{}, Webhooks: &activities.Webhooks{},
		Reconciliation: &activities.Reconciliation{}, Sweeper: &activities.Sweeper{}, Maintenance: &activities.Maintenance{}}
	registered := map[string]bool{}
	for _, r := range Activities(d) {
		registered[r.Name] = true
	}
	ctxType := reflect.TypeOf((*context.Context)(nil)).Elem()
	errType := reflect.TypeOf((*error)(nil)).Elem()
	v := reflect.ValueOf(d)
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() || !strings.HasPrefix(f.Type().Elem().PkgPath(), "github.com/payflow/payflow/activities") {
			continue
		}
		typ := f.Type()
		for m := 0; m < typ.NumMethod(); m++ {
			mt := typ.Method(m).Type
			if mt.NumIn() < 2 || mt.In(1) != ctxType || mt.NumOut() == 0 || mt.Out(mt.NumOut()-1) != errType {
				continue
			}
			if name := typ.Method(m).Name; !registered[name] {
				t.Errorf("%s.%s has an activity's shape but the worker does not register it", typ.Elem().Name(), name)
			}
		}
	}
}
