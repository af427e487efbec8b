//go:build cluster

package clustertest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/chaos"
	"github.com/payflow/payflow/internal/ledger"
)

// driver sends the tests' merchant requests through the API replicas in turn, and
// again with the same Idempotency-Key after a 5xx or no answer (internal/chaos, which
// make chaos uses too). Built on first use, once TestMain has started the cluster.
var driver = sync.OnceValue(func() *chaos.Driver {
	d := &chaos.Driver{Bank: c.Payflow.Bank, Ops: c.Payflow.Ops, KeyPrefix: "ct-"}
	for i := range c.Payflow.APIURLs {
		d.Clients = append(d.Clients, c.Payflow.Client(i))
	}
	return d
})

func nextReplica() int { return driver().NextReplica() }

// create sends a creating POST the way a merchant's backend does (chaos.Driver.Create)
// and returns the answer and the replica that gave it.
func create(ctx context.Context, target string, body any, want int) (*client.Response, int, error) {
	return driver().Create(ctx, target, body, want)
}

// object is what every flow's object answers with.
type object = chaos.Object

// waitFinal polls target, through the replicas in turn, until the object's status is
// none of pending; transient errors (a replica restarting) are polled through.
func waitFinal(ctx context.Context, target string, pending ...string) (object, error) {
	return driver().WaitFinal(ctx, target, pending...)
}

// executions asks the bank how many times it executed a reference.
func executions(ctx context.Context, ref string) (int, error) {
	return driver().Executions(ctx, ref)
}

func ledgerCheck(ctx context.Context) (ledger.CheckReport, error) {
	return driver().LedgerCheck(ctx)
}

func setBankFaults(ctx context.Context, faults string) error {
	return driver().SetBankFaults(ctx, faults)
}

// workflowTaskPids lists, in order, the process ids of the workers that completed
// the workflow's tasks (from each WorkflowTaskCompleted event's identity, which the
// SDK sets to <pid>@<host>@).
func workflowTaskPids(ctx context.Context, workflowID string) ([]int, error) {
	it := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var pids []int
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		if a := ev.GetWorkflowTaskCompletedEventAttributes(); a != nil {
			pid, err := strconv.Atoi(strings.SplitN(a.Identity, "@", 2)[0])
			if err != nil {
				return nil, fmt.Errorf("identity %q of %s: %w", a.Identity, workflowID, err)
			}
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// versionMarkers lists the change ids of the GetVersion markers in a history.
func versionMarkers(ctx context.Context, workflowID string) ([]string, error) {
	it := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []string
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		if m := ev.GetMarkerRecordedEventAttributes(); m != nil && m.MarkerName == "Version" {
			if p := m.Details["change-id"].GetPayloads(); len(p) > 0 {
				var id string
				if err := dc.FromPayload(p[0], &id); err == nil {
					out = append(out, id)
				}
			}
		}
	}
	return out, nil
}

func countReq(query string) *workflowservice.CountWorkflowExecutionsRequest {
	return &workflowservice.CountWorkflowExecutionsRequest{Query: query}
}
