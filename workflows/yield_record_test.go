package workflows_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// TestRecordYieldHistories records the histories of the balance yield's workflows
// (testdata/v9-yield-*.json, v9-scheduledyield.json) on a Temporal dev server, with
// activities that answer as the real ones would (the income published on the third
// ask, a range retried once), so that the replay tests hold the shape of this
// release. It runs only when asked:
//
//	PAYFLOW_RECORD_YIELD_HISTORIES=workflows/testdata PAYFLOW_TEMPORAL_CLI=bin/temporal \
//	  go test ./workflows -run TestRecordYieldHistories
func TestRecordYieldHistories(t *testing.T) {
	dir := os.Getenv("PAYFLOW_RECORD_YIELD_HISTORIES")
	if dir == "" {
		t.Skip("PAYFLOW_RECORD_YIELD_HISTORIES names no directory: nothing to record")
	}
	ctx := context.Background()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{ExistingPath: os.Getenv("PAYFLOW_TEMPORAL_CLI"), LogLevel: "error"})
	require.NoError(t, err)
	defer srv.Stop()
	c := srv.Client()
	const queue = "record-yield"
	w := sdkworker.New(c, queue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(workflows.YieldWorkflow, workflow.RegisterOptions{Name: workflows.WorkflowYield})
	w.RegisterWorkflowWithOptions(workflows.ScheduledYieldWorkflow, workflow.RegisterOptions{Name: workflows.WorkflowScheduledYield})
	var asks, rangeTries atomic.Int32
	acts := map[string]any{
		workflows.ActivityYieldIncome: func(ctx context.Context, in models.YieldIncomeInput) (models.YieldIncomeResult, error) {
			if asks.Add(1) < 3 {
				return models.YieldIncomeResult{}, temporal.NewApplicationError("not published", models.ErrTypeIncomeNotPublished)
			}
			return models.YieldIncomeResult{IncomePer10k: 512300}, nil
		},
		workflows.ActivityPlanYieldRanges: func(ctx context.Context, in models.PlanYieldRangesInput) (models.PlanYieldRangesResult, error) {
			return models.PlanYieldRangesResult{Ranges: []models.YieldRange{{UpTo: "acct_m"}, {After: "acct_m"}}}, nil
		},
		workflows.ActivityCreditYieldRange: func(ctx context.Context, in models.CreditYieldRangeInput) (models.CreditYieldRangeResult, error) {
			if in.Range.After == "" && rangeTries.Add(1) == 1 {
				activity.RecordHeartbeat(ctx, map[string]any{"last_account": "acct_c", "totals": models.YieldTotals{Wallets: 3, Credited: 4}})
				return models.CreditYieldRangeResult{}, temporal.NewApplicationError("worker lost", models.ErrTypeInterrupted)
			}
			return models.CreditYieldRangeResult{Totals: models.YieldTotals{Wallets: 5, Credited: 7, Carried: 123456789}, Resumed: in.Range.After == ""}, nil
		},
		workflows.ActivityFinishYieldRun: func(ctx context.Context, in models.FinishYieldRunInput) (models.FinishYieldRunResult, error) {
			return models.FinishYieldRunResult{Recorded: true}, nil
		},
		workflows.ActivityOpenYieldRun: func(ctx context.Context, in models.OpenYieldRunInput) (models.OpenYieldRunResult, error) {
			return models.OpenYieldRunResult{RunID: "yr_recorded2", Status: models.YieldRunRunning, Created: true}, nil
		},
	}
	for name, fn := range acts {
		w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
	require.NoError(t, w.Start())
	defer w.Stop()

	record := func(file string, wf any, in any, id string) {
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue, WorkflowExecutionTimeout: time.Minute}, wf, in)
		require.NoError(t, err)
		require.NoError(t, run.Get(ctx, nil))
		it := c.GetWorkflowHistory(ctx, id, run.GetRunID(), false, 0)
		h := &historypb.History{}
		for it.HasNext() {
			ev, err := it.Next()
			require.NoError(t, err)
			h.Events = append(h.Events, ev)
		}
		b, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(h)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, file), b, 0o644))
	}
	record("v9-yield-completed.json", workflows.WorkflowYield,
		models.YieldInput{RunID: "yr_recorded1", ProductID: models.YieldProduct, Date: "2026-03-01"}, "yield/prd_mmf/2026-03-01")
	record("v9-scheduledyield.json", workflows.WorkflowScheduledYield, models.ScheduledYieldInput{ProductID: models.YieldProduct}, "yield/prd_mmf-manual")
	if asks.Load() < 3 || rangeTries.Load() < 2 {
		require.NoError(t, errors.New("the recorded run did not retry as planned"))
	}
}
