package starter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// FlowFilter selects open flows by their search attributes.
type FlowFilter struct {
	Flow       models.Flow
	Stage      models.Stage
	MerchantID string
	// OlderThan keeps flows started more than this long ago (0: any age).
	OlderThan time.Duration
	Limit     int
	PageToken []byte
}

// OpenFlow is one running flow as operators see it.
type OpenFlow struct {
	ID         string        `json:"id"`
	WorkflowID string        `json:"workflow_id"`
	Flow       models.Flow   `json:"flow"`
	Stage      models.Stage  `json:"stage"`
	MerchantID string        `json:"merchant_id"`
	StartedAt  time.Time     `json:"started"`
	Age        time.Duration `json:"-"`
	AgeSeconds int64         `json:"age_seconds"`
	AgeText    string        `json:"age"`
}

// VisibilityQuery is the Temporal visibility query of a filter: the same query an
// operator types in Temporal Web.
func VisibilityQuery(f FlowFilter, now time.Time) string {
	q := []string{`ExecutionStatus="Running"`}
	if f.Flow != "" {
		q = append(q, fmt.Sprintf("%s=%q", workflows.SAFlow.GetName(), string(f.Flow)))
	} else {
		q = append(q, fmt.Sprintf("%s IS NOT NULL", workflows.SAFlow.GetName()))
	}
	if f.Stage != "" {
		q = append(q, fmt.Sprintf("%s=%q", workflows.SAStage.GetName(), string(f.Stage)))
	}
	if f.MerchantID != "" {
		q = append(q, fmt.Sprintf("%s=%q", workflows.SAMerchant.GetName(), f.MerchantID))
	}
	if f.OlderThan > 0 {
		q = append(q, fmt.Sprintf("StartTime < %q", now.Add(-f.OlderThan).UTC().Format(time.RFC3339)))
	}
	return strings.Join(q, " AND ")
}

// ListOpenFlows lists running flows from Temporal visibility (newest first, as
// visibility orders them), one page at a time.
func (s *Starter) ListOpenFlows(ctx context.Context, f FlowFilter) ([]OpenFlow, []byte, error) {
	now := time.Now()
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 50
	}
	resp, err := s.client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Query: VisibilityQuery(f, now), PageSize: int32(f.Limit), NextPageToken: f.PageToken,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list open flows: %w", err)
	}
	out := make([]OpenFlow, 0, len(resp.Executions))
	for _, e := range resp.Executions {
		flow, merchant, objectID, err := workflows.ParseWorkflowID(e.Execution.WorkflowId)
		if err != nil {
			// Not a merchant flow (a reconciliation or a webhook delivery): keep its
			// workflow id as its id.
			objectID = e.Execution.WorkflowId
		}
		of := OpenFlow{ID: objectID, WorkflowID: e.Execution.WorkflowId, Flow: flow, MerchantID: merchant}
		if sa := e.SearchAttributes.GetIndexedFields(); sa != nil {
			of.Stage = models.Stage(decodeKeyword(sa[workflows.SAStage.GetName()].GetData()))
			if of.Flow == "" {
				of.Flow = models.Flow(decodeKeyword(sa[workflows.SAFlow.GetName()].GetData()))
			}
		}
		if st := e.GetStartTime(); st != nil {
			of.StartedAt = st.AsTime().UTC()
			of.Age = now.Sub(of.StartedAt).Truncate(time.Second)
			of.AgeSeconds = int64(of.Age / time.Second)
			of.AgeText = of.Age.String()
		}
		out = append(out, of)
	}
	return out, resp.NextPageToken, nil
}

// decodeKeyword reads a Keyword search attribute's JSON string value.
func decodeKeyword(b []byte) string {
	s := strings.TrimSpace(string(b))
	return strings.Trim(s, `"`)
}

// CountOpenFlows counts the running money flows in stage, from Temporal visibility
// (the query of VisibilityQuery with that stage).
func (s *Starter) CountOpenFlows(ctx context.Context, stage models.Stage) (int64, error) {
	resp, err := s.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Query: VisibilityQuery(FlowFilter{Stage: stage}, time.Now()),
	})
	if err != nil {
		return 0, fmt.Errorf("count flows in %s: %w", stage, err)
	}
	return resp.GetCount(), nil
}
