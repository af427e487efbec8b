//go:build cluster

package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/models"
)

// replicaTurn spreads requests over the API replicas in turn; retried counts the
// creating requests sent again after a 5xx or no answer.
var replicaTurn, retried atomic.Int64

func nextReplica() int { return int(replicaTurn.Add(1) % int64(len(c.Payflow.APIURLs))) }

// create sends a creating POST the way a merchant's backend does: through the next
// replica, and again with the same Idempotency-Key (from the next replica) while the
// answer is a 5xx or no answer at all, until ctx ends. It returns the answer and the
// replica that gave it.
func create(ctx context.Context, target string, body any, want int) (*client.Response, int, error) {
	key := "ct-" + models.NewID("")
	var last string
	for {
		replica := nextReplica()
		r, err := c.Payflow.Client(replica).Post(ctx, target, body, key)
		switch {
		case err == nil && r.Status == want:
			return r, replica, nil
		case err == nil && r.Status < 500:
			return r, replica, fmt.Errorf("POST %s: HTTP %d: %s", target, r.Status, r.Body)
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("HTTP %d: %s", r.Status, r.Body)
		}
		retried.Add(1)
		select {
		case <-ctx.Done():
			return nil, replica, fmt.Errorf("POST %s: gave up: %s", target, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// object is what every flow's object answers with.
type object struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	FailureCode string `json:"failure_code"`
	WorkflowID  string `json:"workflow_id"`
}

// waitFinal polls target, through the replicas in turn, until the object's status is
// none of pending; transient errors (a replica restarting) are polled through.
func waitFinal(ctx context.Context, target string, pending ...string) (object, error) {
	var o object
	var last string
	for {
		r, err := c.Payflow.Client(nextReplica()).Get(ctx, target)
		switch {
		case err != nil:
			last = err.Error()
		case r.Status != 200:
			last = fmt.Sprintf("HTTP %d: %s", r.Status, r.Body)
		default:
			if err := json.Unmarshal(r.Body, &o); err != nil {
				return o, err
			}
			still := false
			for _, p := range pending {
				still = still || o.Status == p
			}
			if !still {
				return o, nil
			}
			last = "status " + o.Status
		}
		select {
		case <-ctx.Done():
			return o, fmt.Errorf("%s did not finish: %s", target, last)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// executions asks the bank how many times it executed a reference.
func executions(ctx context.Context, ref string) (int, error) {
	r, err := c.Payflow.Bank(ctx, "GET", "/sim/executions?reference="+ref, "")
	if err != nil {
		return 0, err
	}
	if r.Status != 200 {
		return 0, fmt.Errorf("executions of %s: HTTP %d: %s", ref, r.Status, r.Body)
	}
	var e struct{ Count int }
	if err := json.Unmarshal(r.Body, &e); err != nil {
		return 0, err
	}
	return e.Count, nil
}

func ledgerCheck(ctx context.Context) (ledger.CheckReport, error) {
	var rep ledger.CheckReport
	r, err := c.Payflow.Ops(ctx, "GET", "/v1/ops/ledger/check", "")
	if err != nil {
		return rep, err
	}
	if r.Status != 200 {
		return rep, fmt.Errorf("ledger check: HTTP %d: %s", r.Status, r.Body)
	}
	return rep, json.Unmarshal(r.Body, &rep)
}

func setBankFaults(ctx context.Context, faults string) error {
	r, err := c.Payflow.Bank(ctx, "POST", "/sim/faults", faults)
	if err != nil {
		return err
	}
	if r.Status != 200 {
		return fmt.Errorf("faults: HTTP %d: %s", r.Status, r.Body)
	}
	return nil
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
