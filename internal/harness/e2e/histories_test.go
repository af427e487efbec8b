package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/payflow/payflow/internal/temporalx"
	"github.com/payflow/payflow/workflows"
)

// recordHistories writes the history of one completed workflow per flow and scenario
// (a payment by token, ...) into dir, as the replay tests read them. It runs after the
// suite when PAYFLOW_RECORD_HISTORIES names a directory: that is how
// workflows/testdata is refreshed for a released version (see docs/upgrades.md).
//
// Payloads are written opened (the codec's Decode), as the histories recorded before
// payloads were sealed hold them: a recorded history then does not depend on the key
// it was recorded with (PAYFLOW_PAYLOAD_KEYS), and TestReplayEncryptedHistories, which
// seals every payload of a history as a worker writes it, does not seal one twice.
func recordHistories(ctx context.Context, addr, namespace, taskQueue, dir, prefix string) error {
	codec := payloadCodec()
	c, err := client.Dial(temporalx.ClientConfig{Address: addr, Namespace: namespace, Codec: codec}.Options())
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
			err = proxy.VisitPayloads(ctx, hist, proxy.VisitPayloadsOptions{
				SkipSearchAttributes: true,
				Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
					return codec.Decode(ps)
				},
			})
			if err != nil {
				return fmt.Errorf("open the payloads of %s: %w", e.Execution.WorkflowId, err)
			}
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
// token, a wallet, a payout destination, whether it notifies a webhook), and a
// webhook delivery by how many attempts it took, so that one of each is kept.
func scenario(workflowType string, h *historypb.History) string {
	name := strings.ToLower(strings.TrimSuffix(workflowType, "Workflow"))
	if len(h.Events) == 0 {
		return name
	}
	if workflowType == workflows.WorkflowWebhookDelivery {
		return fmt.Sprintf("%s-attempts-%d", name, lastActivityAttempt(h))
	}
	attrs := h.Events[0].GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || len(attrs.GetInput().GetPayloads()) == 0 {
		return name
	}
	var in struct {
		Token  string `json:"token"`
		Source struct {
			Type  string `json:"type"`
			Token string `json:"token"`
		} `json:"source"`
		Destination struct {
			BankAccount string `json:"bank_account"`
		} `json:"destination"`
		BankAccount string `json:"bank_account"`
		NotifyURL   string `json:"notify_url"`
	}
	if dataConverter().FromPayload(attrs.GetInput().GetPayloads()[0], &in) != nil {
		return name
	}
	switch {
	case in.Source.Token != "":
		name += "-" + in.Source.Token
	case in.Token != "":
		name += "-" + in.Token
	case in.Source.Type != "":
		name += "-" + in.Source.Type
	case in.Destination.BankAccount != "":
		name += "-" + in.Destination.BankAccount
	case in.BankAccount != "":
		name += "-" + in.BankAccount
	}
	if in.NotifyURL != "" {
		name += "-notify"
	}
	return name + outcome(h)
}

// outcome is "-<status>-<failure code>" from the workflow's result, so that a
// declined, a compensated and a rejected run of one flow are kept apart.
func outcome(h *historypb.History) string {
	last := h.Events[len(h.Events)-1].GetWorkflowExecutionCompletedEventAttributes()
	if last == nil || len(last.GetResult().GetPayloads()) == 0 {
		return ""
	}
	var res struct {
		Status      string `json:"status"`
		FailureCode string `json:"failure_code"`
	}
	if dataConverter().FromPayload(last.GetResult().GetPayloads()[0], &res) != nil || res.Status == "" {
		return ""
	}
	if res.FailureCode == "" {
		return "-" + res.Status
	}
	return "-" + res.Status + "-" + res.FailureCode
}

// lastActivityAttempt is the attempt number of the history's last started activity
// (the server records only the attempt that ended an activity's retries).
func lastActivityAttempt(h *historypb.History) int32 {
	var n int32
	for _, e := range h.Events {
		if a := e.GetActivityTaskStartedEventAttributes(); a != nil {
			n = a.GetAttempt()
		}
	}
	return n
}
