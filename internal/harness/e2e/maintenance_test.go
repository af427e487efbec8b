package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// Every worker keeps the purge schedule (every minute; each kind of record kept
// for its PAYFLOW_RETENTION_*, here the defaults), the measure schedule (every
// minute: the webhook backlog the API's /metrics shows) and the ledger-check
// schedule (PAYFLOW_LEDGER_CHECK_INTERVAL, default 5m), which the API processes ran
// as loops, and as a count at every scrape, before: `temporal schedule list` shows
// them, and a firing of each runs its workflow to completion (a ledger check of the
// suite's ledger finds it whole).
func TestMaintenanceSchedules(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		c := temporalClient(t, s)

		purge := describeSchedule(t, c, workflows.PurgeScheduleID, workflows.WorkflowPurge, s.TaskQueue, time.Minute)
		var in models.PurgeInput
		scheduleArg(t, purge, &in)
		day := 24 * time.Hour
		require.Equal(t, models.PurgeInput{
			NonceMaxAge: 11 * time.Minute, IdempotencyMaxAge: day, EventMaxAge: 90 * day, WebhookAttemptMaxAge: 30 * day,
			RateLimitMaxAge: time.Hour, BankCallbackMaxAge: 7 * day, PaymentCodeMaxAge: day, CreditReportMaxAge: 90 * day,
		}, in, "nonces kept twice the default tolerance of 300 s and a minute, idempotency keys a day, the audit log forever, credit reports' content 90 days, ...")
		describeSchedule(t, c, workflows.MeasureScheduleID, workflows.WorkflowMeasure, s.TaskQueue, time.Minute)
		describeSchedule(t, c, workflows.LedgerCheckScheduleID, workflows.WorkflowLedgerCheck, s.TaskQueue, 5*time.Minute)
		requireListed(t, s, workflows.PurgeScheduleID, workflows.MeasureScheduleID, workflows.LedgerCheckScheduleID)

		// The run completes: its deletes ran (what they delete is the store's
		// TestPurgeBatchKeepsWhatIsStillNeeded and activities' TestPurge).
		var purged models.PurgeResult
		triggerAndWait(t, c, workflows.PurgeScheduleID, &purged)
		require.Empty(t, purged.More)

		// The worker's count is stored, and the API shows the stored count (read
		// together: a scheduled run may count again in between).
		var measured models.MeasureResult
		triggerAndWait(t, c, workflows.MeasureScheduleID, &measured)
		db, err := store.Open(s.DSN, 2)
		require.NoError(t, err)
		defer db.Close()
		st := store.New(db, nil)
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			n, at, ok, err := st.StoredWebhookBacklog(context.Background())
			if !assert.NoError(ct, err) || !assert.True(ct, ok) {
				return
			}
			assert.False(ct, at.Before(measured.MeasuredAt.Truncate(time.Microsecond)), "stored at %s, measured at %s", at, measured.MeasuredAt)
			api, err := scrapeMetrics(s.APIURLs[0] + "/metrics")
			if assert.NoError(ct, err) {
				assert.Regexp(ct, fmt.Sprintf(`(?m)^payflow_webhook_backlog %d$`, n), api)
			}
		}, 20*time.Second, 250*time.Millisecond)

		var checked models.LedgerCheckResult
		triggerAndWait(t, c, workflows.LedgerCheckScheduleID, &checked)
		require.True(t, checked.OK, "%+v", checked)
		require.Positive(t, checked.Journals, "the suite's payments are in the ledger")
	})
}

// describeSchedule checks that schedule id runs workflow on taskQueue every `every`
// and returns its action.
func describeSchedule(t *testing.T, c client.Client, id, workflow, taskQueue string, every time.Duration) *client.ScheduleWorkflowAction {
	t.Helper()
	desc, err := c.ScheduleClient().GetHandle(context.Background(), id).Describe(context.Background())
	require.NoError(t, err, id)
	action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	require.True(t, ok, "%T", desc.Schedule.Action)
	require.Equal(t, workflow, action.Workflow)
	require.Equal(t, taskQueue, action.TaskQueue)
	require.Len(t, desc.Schedule.Spec.Intervals, 1)
	require.Equal(t, every, desc.Schedule.Spec.Intervals[0].Every, id)
	return action
}

// scheduleArg decodes the schedule action's one argument into v.
func scheduleArg(t *testing.T, action *client.ScheduleWorkflowAction, v any) {
	t.Helper()
	require.Len(t, action.Args, 1)
	payload, ok := action.Args[0].(*commonpb.Payload)
	require.True(t, ok, "%T", action.Args[0])
	require.NoError(t, dataConverter().FromPayload(payload, v))
}

// requireListed checks that `temporal schedule list` shows the schedules ids in the
// stack's namespace (what an operator sees, as in Temporal Web's Schedules page).
func requireListed(t *testing.T, s *Stack, ids ...string) {
	t.Helper()
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		out, err := exec.Command(filepath.Join(binDir, "temporal"), "schedule", "list",
			"--address", temporal.Addr, "--namespace", s.Opts.Namespace).CombinedOutput()
		if assert.NoError(ct, err, "%s", out) {
			for _, id := range ids {
				assert.Contains(ct, string(out), id)
			}
		}
	}, 20*time.Second, 250*time.Millisecond)
}

// triggerAndWait fires schedule id now and waits for the run it launched to complete
// with its result in res.
func triggerAndWait(t *testing.T, c client.Client, id string, res any) {
	t.Helper()
	ctx := context.Background()
	h := c.ScheduleClient().GetHandle(ctx, id)
	before := time.Now()
	require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
	var launched string
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		d, err := h.Describe(ctx)
		if !assert.NoError(ct, err) {
			return
		}
		for _, a := range d.Info.RecentActions {
			if a.ActualTime.After(before.Add(-time.Second)) {
				launched = a.StartWorkflowResult.WorkflowID
			}
		}
		assert.NotEmpty(ct, launched)
	}, 20*time.Second, 250*time.Millisecond)
	require.True(t, strings.HasPrefix(launched, id+"-"), launched)
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	require.NoError(t, c.GetWorkflow(wctx, launched, "").Get(wctx, res))
}
