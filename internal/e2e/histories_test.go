package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// recordHistories writes the history of one completed workflow per flow and scenario
// (a payment by token, ...) into dir, as the replay tests read them. It runs after the
// suite when PAYFLOW_RECORD_HISTORIES names a directory: that is how
// workflows/testdata is refreshed for a released version (see docs/upgrades.md).
func recordHistories(ctx context.Context, addr, namespace, taskQueue, dir, prefix string) error {
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: namespace})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	seen := map[string]bool{}
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query:         fmt.Sprintf(`TaskQueue=%q AND ExecutionStatus="Completed"`, taskQueue),
			NextPageToken: token,
		})
		if err != nil {
			return err
		}
		for _, e := range resp.Executions {
			hist, err := history(ctx, c, e.Execution.WorkflowId, e.Execution.RunId)
			if err != nil {
				return err
			}
			name := prefix + scenario(e.Type.Name, hist)
			if seen[name] {
				continue
			}
			seen[name] = true
			b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
				return err
			}
		}
		if token = resp.NextPageToken; len(token) == 0 {
			return nil
		}
	}
}

func history(ctx context.Context, c client.Client, id, run string) (*historypb.History, error) {
	it := c.GetWorkflowHistory(ctx, id, run, false, 0)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		h.Events = append(h.Events, ev)
	}
	return h, nil
}

// scenario names a history by its workflow type and what its input chose (a card
// token, a wallet, a payout destination), so that one of each is kept.
func scenario(workflowType string, h *historypb.History) string {
	name := strings.ToLower(strings.TrimSuffix(workflowType, "Workflow"))
	if len(h.Events) == 0 {
		return name
	}
	attrs := h.Events[0].GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || len(attrs.GetInput().GetPayloads()) == 0 {
		return name
	}
	var in struct {
		Source struct {
			Type  string `json:"type"`
			Token string `json:"token"`
		} `json:"source"`
		Destination struct {
			BankAccount string `json:"bank_account"`
		} `json:"destination"`
	}
	if json.Unmarshal(attrs.GetInput().GetPayloads()[0].GetData(), &in) != nil {
		return name
	}
	switch {
	case in.Source.Token != "":
		return name + "-" + in.Source.Token
	case in.Source.Type != "":
		return name + "-" + in.Source.Type
	case in.Destination.BankAccount != "":
		return name + "-" + in.Destination.BankAccount
	}
	return name
}
