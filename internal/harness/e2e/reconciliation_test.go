package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/payflow/payflow/banksim"
	"github.com/payflow/payflow/internal/recon"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// reconciliationBody is GET /v1/ops/reconciliations/{id}.
type reconciliationBody struct {
	models.Reconciliation
	Differences        []models.Difference `json:"differences"`
	HasMoreDifferences bool                `json:"has_more_differences"`
}

// openReconciliation posts a reconciliation request and returns the run.
func openReconciliation(t *testing.T, s *Stack, body string, wantStatus int) models.Reconciliation {
	t.Helper()
	r, err := s.Ops(context.Background(), "POST", "/v1/ops/reconciliations", body)
	require.NoError(t, err)
	require.Equal(t, wantStatus, r.Status, "%s", r.Body)
	var rec models.Reconciliation
	require.NoError(t, r.JSON(&rec))
	return rec
}

// waitReconciliation polls the ops API until the run has finished.
func waitReconciliation(t *testing.T, s *Stack, id string, within time.Duration) reconciliationBody {
	t.Helper()
	var got reconciliationBody
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		r, err := s.Ops(context.Background(), "GET", "/v1/ops/reconciliations/"+id, "")
		if !assert.NoError(c, err) || !assert.Equal(c, 200, r.Status, "%s", r.Body) {
			return
		}
		got = reconciliationBody{}
		assert.NoError(c, r.JSON(&got))
		assert.True(c, got.Status.Finished(), "status %s", got.Status)
	}, within, 250*time.Millisecond)
	require.Equal(t, models.ReconciliationCompleted, got.Status, "error %q", got.Error)
	return got
}

// allDifferences pages through a run's differences.
func allDifferences(t *testing.T, s *Stack, id string) []models.Difference {
	t.Helper()
	var all []models.Difference
	after := ""
	for {
		path := "/v1/ops/reconciliations/" + id + "/differences?limit=100"
		if after != "" {
			path += "&starting_after=" + after
		}
		r, err := s.Ops(context.Background(), "GET", path, "")
		require.NoError(t, err)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var page struct {
			Data    []models.Difference `json:"data"`
			HasMore bool                `json:"has_more"`
		}
		require.NoError(t, r.JSON(&page))
		all = append(all, page.Data...)
		if !page.HasMore {
			return all
		}
		after = page.Data[len(page.Data)-1].ID
	}
}

func bankAdmin(t *testing.T, s *Stack, path string, body any) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	r, err := s.Bank(context.Background(), "POST", path, string(b))
	require.NoError(t, err)
	require.Equal(t, 200, r.Status, "%s: %s", path, r.Body)
}

// Real payments, differences planted at the bank, a run for today through the ops
// API: exactly the planted differences are found, matched payments are not reported,
// and a rerun is a new run of the same workflow id with the same report.
func TestReconciliationFindsPlantedDifferences(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		today := time.Now().UTC().Format(models.DayLayout)
		var matchedSuccess, altered, removed, declined, flowFailed, otherCurrency, late, unbooked models.Payment
		for _, p := range []struct {
			into   *models.Payment
			amount int64
			token  string
		}{{&matchedSuccess, 1111, "tok_success"}, {&altered, 2222, "tok_success"}, {&removed, 3333, "tok_success"},
			{&declined, 4444, "tok_decline"}, {&flowFailed, 5555, "tok_decline"}, {&otherCurrency, 6666, "tok_success"},
			{&late, 7171, "tok_decline"}, {&unbooked, 8181, "tok_success"}} {
			*p.into = createPayment(t, s, card(p.amount, p.token))
		}
		for _, p := range []*models.Payment{&matchedSuccess, &altered, &removed, &declined, &flowFailed, &otherCurrency, &late, &unbooked} {
			*p = waitPayment(t, s, p.ID, 60*time.Second)
		}
		require.Equal(t, models.PaymentFailed, declined.Status)
		require.Equal(t, models.PaymentFailed, flowFailed.Status)
		require.Equal(t, models.PaymentFailed, late.Status)
		require.Equal(t, models.PaymentSucceeded, unbooked.Status)

		// The bank finished the declined charge after all and says so in a callback
		// that arrives after our flow closed: the callback is acknowledged (the bank
		// stops resending), the payment stays failed, and only reconciliation, which
		// does not take the callback's word, can tell.
		bankAdmin(t, s, "/sim/statement/alter", map[string]any{"reference": late.ID, "status": "succeeded"})
		lateCallback(t, s, late, 7171)
		require.Equal(t, models.PaymentFailed, waitPayment(t, s, late.ID, 10*time.Second).Status, "a late callback moves nothing")

		// A copy of the database that lost a payment's journal: the run sees the
		// charge at the bank and our succeeded payment, and no booking.
		db, err := store.Open(s.DSN, 2)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		t.Cleanup(deleteJournals(t, db, unbooked.ID))

		ghost := models.NewID(models.PrefixPayment) // the bank has it; we never made it
		bankAdmin(t, s, "/sim/statement/inject", map[string]any{
			"date": today, "reference": ghost, "kind": "charge", "amount": 999, "currency": "CNY", "status": "succeeded",
		})
		bankAdmin(t, s, "/sim/statement/alter", map[string]any{"reference": altered.ID, "amount": 2223})
		bankAdmin(t, s, "/sim/statement/alter", map[string]any{"reference": removed.ID, "remove": true})
		// The bank's statement says it charged a payment our flow recorded as failed.
		bankAdmin(t, s, "/sim/statement/alter", map[string]any{"reference": flowFailed.ID, "status": "succeeded"})
		// The bank lists a charge twice, and another in USD where we charged CNY.
		bankAdmin(t, s, "/sim/statement/inject", map[string]any{
			"date": today, "reference": matchedSuccess.ID, "kind": "charge", "amount": 1111, "currency": "CNY", "status": "succeeded",
		})
		bankAdmin(t, s, "/sim/statement/alter", map[string]any{"reference": otherCurrency.ID, "remove": true})
		bankAdmin(t, s, "/sim/statement/inject", map[string]any{
			"date": today, "reference": otherCurrency.ID, "kind": "charge", "amount": 6666, "currency": "USD", "status": "succeeded",
		})
		// And its balance moved by 7 more than any line says.
		bankAdmin(t, s, "/sim/balances/adjust", map[string]any{"day": today, "currency": "CNY", "amount": 7})
		planted := map[string]bool{matchedSuccess.ID: true, altered.ID: true, removed.ID: true, declined.ID: true, flowFailed.ID: true,
			otherCurrency.ID: true, ghost: true, "balance/CNY": true, late.ID: true, unbooked.ID: true}

		rec := openReconciliation(t, s, fmt.Sprintf(`{"channel":"banksim","date":%q,"rerun":true}`, today), 202)
		require.Equal(t, workflows.ReconciliationWorkflowID("banksim", today), rec.WorkflowID)
		again := openReconciliation(t, s, fmt.Sprintf(`{"channel":"banksim","date":%q}`, today), 200)
		require.Equal(t, rec.ID, again.ID, "a second request for the day is the same run")

		got := waitReconciliation(t, s, rec.ID, 90*time.Second)
		type diff struct {
			kind models.DifferenceKind
			ref  string
		}
		// The removed line is in transit (the bank may book it tomorrow), not yet
		// missing at the bank. Other tests' payments of the day on this stack are
		// the stack's own business: only the planted references are checked.
		want := []diff{
			{models.DiffAmountMismatch, altered.ID},
			{models.DiffBalanceGap, "balance/CNY"},
			{models.DiffCurrencyMismatch, otherCurrency.ID},
			{models.DiffDuplicateReference, matchedSuccess.ID},
			{models.DiffInTransit, removed.ID},
			{models.DiffMissingOnOurSide, ghost},
			{models.DiffNotBooked, unbooked.ID},
			{models.DiffStatusMismatch, flowFailed.ID},
			{models.DiffStatusMismatch, late.ID},
		}
		byKindAndReference := func(d []diff) func(i, j int) bool {
			return func(i, j int) bool {
				if d[i].kind != d[j].kind {
					return d[i].kind < d[j].kind
				}
				return d[i].ref < d[j].ref
			}
		}
		sort.Slice(want, byKindAndReference(want))
		check := func(id string, counts models.ReconciliationCounts) []models.Difference {
			var diffs []models.Difference
			var found []diff
			for _, d := range allDifferences(t, s, id) {
				if planted[d.Reference] {
					diffs = append(diffs, d)
					found = append(found, diff{d.Kind, d.Reference})
				}
			}
			sort.Slice(found, byKindAndReference(found))
			require.Equal(t, want, found, "exactly the planted differences")
			require.GreaterOrEqual(t, counts.AmountMismatch, int64(1))
			require.GreaterOrEqual(t, counts.InTransit, int64(1))
			require.GreaterOrEqual(t, counts.MissingOnOurSide, int64(1))
			require.GreaterOrEqual(t, counts.StatusMismatch, int64(1))
			require.GreaterOrEqual(t, counts.CurrencyMismatch, int64(1))
			require.GreaterOrEqual(t, counts.DuplicateReference, int64(1))
			require.GreaterOrEqual(t, counts.BalanceGap, int64(1))
			require.GreaterOrEqual(t, counts.NotBooked, int64(1))
			require.GreaterOrEqual(t, counts.Matched, int64(2), "the success and the decline match")
			return diffs
		}
		diffs := check(rec.ID, got.Counts)
		for _, d := range diffs {
			switch d.Kind {
			case models.DiffAmountMismatch:
				require.Equal(t, int64(2222), d.Ours.Amount)
				require.Equal(t, int64(2223), d.Bank.Amount)
				require.Greater(t, d.Line, int64(1))
			case models.DiffInTransit:
				require.Equal(t, int64(3333), d.Ours.Amount)
				require.Equal(t, "booked", d.Ledger.Status, "its journal is there")
				require.Nil(t, d.Bank)
				require.Equal(t, today, d.Since)
			case models.DiffStatusMismatch:
				require.Equal(t, "failed", d.Ours.Status)
				require.Equal(t, "succeeded", d.Bank.Status)
				require.Equal(t, "not_booked", d.Ledger.Status)
			case models.DiffMissingOnOurSide:
				require.Equal(t, int64(999), d.Bank.Amount)
				require.Nil(t, d.Ours)
			case models.DiffNotBooked:
				require.Equal(t, "succeeded", d.Ours.Status)
				require.Equal(t, "succeeded", d.Bank.Status)
				require.Equal(t, "not_booked", d.Ledger.Status)
			}
		}

		// The run in Temporal: its search attributes and state query.
		c := temporalClient(t, s)
		desc, err := c.DescribeWorkflowExecution(ctx, rec.WorkflowID, "")
		require.NoError(t, err)
		require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, desc.WorkflowExecutionInfo.Status)
		sa := desc.WorkflowExecutionInfo.SearchAttributes.IndexedFields
		for k, v := range map[string]string{"PayflowFlow": "reconciliation", "PayflowChannel": "banksim", "PayflowStage": "done"} {
			var got string
			require.NoError(t, converter.GetDefaultDataConverter().FromPayload(sa[k], &got), k)
			require.Equal(t, v, got, k)
		}
		v, err := c.QueryWorkflow(ctx, rec.WorkflowID, "", workflows.QueryState)
		require.NoError(t, err)
		var st models.ReconciliationState
		require.NoError(t, v.Get(&st))
		require.Equal(t, rec.ID, st.ObjectID)
		require.Equal(t, models.StageDone, st.Stage)
		require.Equal(t, "completed", st.Status)

		// An operator resolves a follow-up, once.
		var amountDiff models.Difference
		for _, d := range diffs {
			if d.Kind == models.DiffAmountMismatch {
				amountDiff = d
			}
		}
		r, err := s.Ops(ctx, "POST", "/v1/ops/reconciliations/"+rec.ID+"/differences/"+amountDiff.ID+"/resolve", `{"note":"bank confirmed its statement was wrong"}`)
		require.NoError(t, err)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		r, err = s.Ops(ctx, "POST", "/v1/ops/reconciliations/"+rec.ID+"/differences/"+amountDiff.ID+"/resolve", `{"note":"again"}`)
		require.NoError(t, err)
		require.Equal(t, 409, r.Status, "%s", r.Body)

		// A rerun of the finished day: a new run, the same report.
		rerun := openReconciliation(t, s, fmt.Sprintf(`{"channel":"banksim","date":%q,"rerun":true}`, today), 202)
		require.NotEqual(t, rec.ID, rerun.ID)
		require.Equal(t, rec.Attempt+1, rerun.Attempt)
		require.Equal(t, rec.WorkflowID, rerun.WorkflowID)
		again2 := waitReconciliation(t, s, rerun.ID, 90*time.Second)
		check(rerun.ID, again2.Counts)
		desc2, err := c.DescribeWorkflowExecution(ctx, rec.WorkflowID, "")
		require.NoError(t, err)
		require.NotEqual(t, desc.WorkflowExecutionInfo.Execution.RunId, desc2.WorkflowExecutionInfo.Execution.RunId, "a new workflow run")
	})
}

// lateCallback posts, as the bank signs it, a callback saying payment p's charge of
// amount succeeded, after its flow closed; payflow acknowledges it with 200.
func lateCallback(t *testing.T, s *Stack, p models.Payment, amount int64) {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"reference": p.ID, "kind": "charge", "amount": amount, "currency": "CNY", "status": "succeeded",
		"bank_id": "sim_late_" + p.ID, "created_at": time.Now().UTC(), "event_id": "evt_late_" + p.ID,
	})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, s.APIURLs[0]+"/v1/callbacks/banksim", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	// The stacks run with the local default callback secret.
	req.Header.Set(banksim.SignatureHeader, banksim.SignCallback("banksim_callback_secret", time.Now().Unix(), body))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "a late callback is acknowledged")
}

// deleteJournals deletes the journals of a flow and their entries, as a copy of
// the database that lost them would be, and returns what puts them back (the
// stack's ledger is checked after the suite).
func deleteJournals(t *testing.T, db *store.DB, flowID string) (restore func()) {
	t.Helper()
	var journals, entries []map[string]any
	require.NoError(t, db.Table("journals").Where("flow_id = ?", flowID).Find(&journals).Error)
	require.NotEmpty(t, journals, "the flow booked journals")
	ids := make([]any, 0, len(journals))
	for _, j := range journals {
		ids = append(ids, j["id"])
	}
	require.NoError(t, db.Table("entries").Where("journal_id IN ?", ids).Find(&entries).Error)
	require.NotEmpty(t, entries)
	require.NoError(t, db.Exec("DELETE FROM entries WHERE journal_id IN ?", ids).Error)
	require.NoError(t, db.Exec("DELETE FROM journals WHERE flow_id = ?", flowID).Error)
	return func() {
		require.NoError(t, db.Table("journals").Create(&journals).Error)
		require.NoError(t, db.Table("entries").Create(&entries).Error)
	}
}

// midnightDay and midnightNext are the days the midnight test's pair crosses
// between (no other test touches them).
const (
	midnightDay  = "2025-07-01"
	midnightNext = "2025-07-02"
)

// A payment we recorded and booked at 23:59:59.6 that the bank executed 0.4 s
// later, on the next day: the first day's run carries it as in transit (not two
// differences), and the next day's run finds its line and reports nothing.
func TestReconciliationCarriesAPairAcrossMidnight(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		p := waitPayment(t, s, createPayment(t, s, card(7777, "tok_success")).ID, 60*time.Second)
		require.Equal(t, models.PaymentSucceeded, p.Status)
		booked := time.Date(2025, 7, 1, 23, 59, 59, 600_000_000, time.UTC)
		db, err := store.Open(s.DSN, 2)
		require.NoError(t, err)
		defer db.Close()
		// Our bank layer's record and the journals move to the evening of the day;
		// the bank's line to just after midnight.
		require.NoError(t, db.Exec("UPDATE bank_transfers SET created_at = ? WHERE reference = ?", booked, p.ID).Error)
		require.NoError(t, db.Exec("UPDATE entries SET created_at = ? WHERE journal_id IN (SELECT id FROM journals WHERE flow_id = ?)", booked, p.ID).Error)
		require.NoError(t, db.Exec("UPDATE journals SET created_at = ? WHERE flow_id = ?", booked, p.ID).Error)
		bankAdmin(t, s, "/sim/statement/alter", map[string]any{"reference": p.ID, "remove": true})
		bankAdmin(t, s, "/sim/statement/inject", map[string]any{
			"date": midnightNext, "reference": p.ID, "kind": "charge", "amount": 7777, "currency": "CNY", "status": "succeeded",
			"time": midnightNext + "T00:00:00.4Z",
		})

		first := openReconciliation(t, s, fmt.Sprintf(`{"channel":"banksim","date":%q}`, midnightDay), 202)
		got := waitReconciliation(t, s, first.ID, 90*time.Second)
		require.Zero(t, got.Counts.Differences(), "%+v", got.Counts)
		require.Equal(t, int64(1), got.Counts.InTransit)
		diffs := allDifferences(t, s, first.ID)
		require.Len(t, diffs, 1, "%+v", diffs)
		d := diffs[0]
		require.Equal(t, models.DiffInTransit, d.Kind)
		require.Equal(t, p.ID, d.Reference)
		require.Equal(t, midnightDay, d.Since)
		require.Nil(t, d.Bank)
		require.Equal(t, int64(7777), d.Ours.Amount)
		require.Equal(t, "booked", d.Ledger.Status)

		next := openReconciliation(t, s, fmt.Sprintf(`{"channel":"banksim","date":%q}`, midnightNext), 202)
		got = waitReconciliation(t, s, next.ID, 90*time.Second)
		require.Empty(t, allDifferences(t, s, next.ID), "the pair matched: nothing to report, no balance gap")
		require.Equal(t, int64(1), got.Counts.Matched)
		require.Zero(t, got.Counts.InTransit)
		require.Zero(t, got.Counts.Differences())
	})
}

// Every worker keeps the channel's daily schedule; temporal schedule list shows it;
// a firing opens the previous UTC day's run.
func TestReconciliationSchedule(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		c := temporalClient(t, s)
		id := workflows.ReconciliationScheduleID("banksim")
		h := c.ScheduleClient().GetHandle(ctx, id)
		desc, err := h.Describe(ctx)
		require.NoError(t, err)
		action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
		require.True(t, ok, "%T", desc.Schedule.Action)
		require.Equal(t, workflows.WorkflowScheduledReconciliation, action.Workflow)
		require.Equal(t, s.TaskQueue, action.TaskQueue)
		require.Len(t, desc.Schedule.Spec.Calendars, 1)
		cal := desc.Schedule.Spec.Calendars[0]
		require.Equal(t, 2, cal.Hour[0].Start, "PAYFLOW_RECON_AT defaults to 02:00 UTC")
		require.Equal(t, 0, cal.Minute[0].Start)

		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{})
			if !assert.NoError(ct, err) {
				return
			}
			var ids []string
			for it.HasNext() {
				e, err := it.Next()
				if !assert.NoError(ct, err) {
					return
				}
				ids = append(ids, e.ID)
			}
			assert.Contains(ct, ids, id)
		}, 20*time.Second, 250*time.Millisecond)
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			out, err := exec.Command(filepath.Join(binDir, "temporal"), "schedule", "list",
				"--address", temporal.Addr, "--namespace", s.Opts.Namespace).CombinedOutput()
			if assert.NoError(ct, err, "%s", out) {
				assert.Contains(ct, string(out), id)
			}
		}, 20*time.Second, 250*time.Millisecond)

		// A firing now reconciles yesterday.
		yesterday := workflows.PreviousDay(time.Now())
		require.NoError(t, h.Trigger(ctx, client.ScheduleTriggerOptions{}))
		var launched string
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			d, err := h.Describe(ctx)
			if assert.NoError(ct, err) && assert.NotEmpty(ct, d.Info.RecentActions) {
				launched = d.Info.RecentActions[len(d.Info.RecentActions)-1].StartWorkflowResult.WorkflowID
			}
		}, 20*time.Second, 250*time.Millisecond)
		require.True(t, strings.HasPrefix(launched, id+"-"), launched)
		var res models.ScheduledReconciliationResult
		wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		require.NoError(t, c.GetWorkflow(wctx, launched, "").Get(wctx, &res))
		require.Equal(t, yesterday, res.Date)
		require.Equal(t, workflows.ReconciliationWorkflowID("banksim", yesterday), res.WorkflowID)
		got := waitReconciliation(t, s, res.ReconciliationID, 60*time.Second)
		require.Equal(t, yesterday, got.Date)
		require.Equal(t, "banksim", got.Channel)
	})
}

// killDay is the day the kill test reconciles (no other test touches it).
const killDay = "2025-06-15"

// killLines is the size of each side in the kill test: at the stacks' pace of 20000
// references a second, the matching runs for a few seconds.
const killLines = 60_000

// A worker killed in the middle of a big run: a new worker resumes the matching from
// the last heartbeat, not from the start, and the report is exactly the expected one,
// with every difference stored once.
func TestReconciliationResumesAfterWorkerKill(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		ctx := context.Background()
		start := time.Now()
		want := seedKillDay(t, s)
		t.Logf("seeded %d statement lines and %d records in %s", want.StatementLines, want.OurRecords, time.Since(start).Round(time.Millisecond))
		start = time.Now()

		rec := openReconciliation(t, s, fmt.Sprintf(`{"channel":"banksim","date":%q}`, killDay), 202)
		c := temporalClient(t, s)
		var seen recon.Checkpoint
		require.EventuallyWithT(t, func(ct *assert.CollectT) {
			d, err := c.DescribeWorkflowExecution(ctx, rec.WorkflowID, "")
			if !assert.NoError(ct, err) || !assert.Len(ct, d.PendingActivities, 1, "the pass ended before it could be killed") {
				return
			}
			details := d.PendingActivities[0].HeartbeatDetails
			if !assert.NotNil(ct, details) {
				return
			}
			var cp recon.Checkpoint
			if assert.NoError(ct, dataConverter().FromPayloads(details, &cp)) {
				seen = cp
				assert.Equal(ct, recon.PhaseMatching, cp.Phase)
				assert.NotEmpty(ct, cp.LastReference)
			}
		}, 3*time.Minute, 100*time.Millisecond)
		for _, w := range s.Workers {
			w.Kill()
		}
		t.Logf("killed the worker after %s at %+v", time.Since(start).Round(time.Millisecond), seen)
		start = time.Now()
		_, err := s.StartWorker()
		require.NoError(t, err)

		got := waitReconciliation(t, s, rec.ID, 3*time.Minute)
		require.Equal(t, want, got.Counts)
		diffs := allDifferences(t, s, rec.ID)
		require.Len(t, diffs, int(want.Differences()+want.InTransit), "every difference and in-transit item stored once")
		seenKeys := map[string]bool{}
		for _, d := range diffs {
			k := fmt.Sprintf("%s|%s|%d", d.Kind, d.Reference, d.Line)
			require.False(t, seenKeys[k], "stored twice: %s", k)
			seenKeys[k] = true
		}

		var res models.ReconciliationResult
		require.NoError(t, c.GetWorkflow(ctx, rec.WorkflowID, "").Get(ctx, &res))
		require.True(t, res.Resumed, "the new worker resumed from the heartbeat")
		require.GreaterOrEqual(t, res.SkippedLines, seen.MergedLines, "it skipped at least what the killed worker had merged")
		require.Positive(t, res.SkippedLines)
		require.Equal(t, want, res.Counts)
		t.Logf("resumed and finished in %s: skipped %d of %d statement lines", time.Since(start).Round(time.Millisecond), res.SkippedLines, want.StatementLines)
	})
}

// seedKillDay plants killLines statement lines at the bank (in shuffled order) and
// killLines of our records, with a difference every few hundred references, and
// returns the counts the run must report.
func seedKillDay(t *testing.T, s *Stack) models.ReconciliationCounts {
	t.Helper()
	var want models.ReconciliationCounts
	type bankLine struct {
		Date      string `json:"date"`
		Reference string `json:"reference"`
		Kind      string `json:"kind"`
		Amount    int64  `json:"amount"`
		Currency  string `json:"currency"`
		Status    string `json:"status"`
		Time      string `json:"time"`
	}
	var lines []bankLine
	var ours [][]any
	at := killDay + "T12:00:00Z"
	created, err := time.Parse(time.RFC3339, at)
	require.NoError(t, err)
	// Most references are charges the bank declined and our payment failed: the
	// three sides agree without a journal, so the seeding writes no ledger.
	var objects [][]any
	for i := 0; i < killLines; i++ {
		ref := fmt.Sprintf("pay_kill%08d", i)
		amount := int64(100 + i%9000)
		line := bankLine{Date: killDay, Reference: ref, Kind: "charge", Amount: amount, Currency: "CNY", Status: "failed", Time: at}
		record := []any{ref, "banksim", "charge", "mch_demo", amount, "CNY", "failed", created}
		object := []any{ref, "mch_demo", amount, "CNY", "card", "banksim", "failed", "payment-" + ref, created, created}
		switch i % 500 {
		case 1: // ours succeeded, the bank has no line yet: in transit
			object[6] = "succeeded"
			record[6] = "succeeded"
			ours = append(ours, record)
			objects = append(objects, object)
			want.OurRecords++
			want.InTransit++
			continue
		case 2: // only the bank's
			lines = append(lines, line)
			want.MissingOnOurSide++
			continue
		case 3:
			line.Amount++
			want.AmountMismatch++
		case 4: // the bank charged it, our payment failed
			line.Status = "succeeded"
			want.StatusMismatch++
		default:
			want.Matched++
		}
		lines = append(lines, line)
		ours = append(ours, record)
		objects = append(objects, object)
		want.OurRecords++
	}
	want.StatementLines = int64(len(lines))
	// The bank's order is its own: not by reference.
	for i := range lines {
		j := (i*7919 + 13) % len(lines)
		lines[i], lines[j] = lines[j], lines[i]
	}
	start := time.Now()
	body, err := json.Marshal(map[string]any{"lines": lines})
	require.NoError(t, err)
	r, err := s.Bank(context.Background(), "POST", "/sim/statement/inject", string(body))
	require.NoError(t, err)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	t.Logf("injected at the bank in %s", time.Since(start).Round(time.Millisecond))

	db, err := store.Open(s.DSN, 2)
	require.NoError(t, err)
	defer db.Close()
	insertRows(t, db, "INSERT INTO bank_transfers (reference, channel, kind, merchant_id, amount, currency, status, created_at) VALUES ", ours)
	insertRows(t, db, "INSERT INTO payments (id, merchant_id, amount, currency, source_type, channel, status, workflow_id, created_at, updated_at) VALUES ", objects)
	return want
}

// insertRows inserts rows with the statement's head, 500 rows per statement.
func insertRows(t *testing.T, db *store.DB, head string, rows [][]any) {
	t.Helper()
	const batch = 500
	for i := 0; i < len(rows); i += batch {
		part := rows[i:min(i+batch, len(rows))]
		var sql strings.Builder
		sql.WriteString(head)
		var args []any
		for j, row := range part {
			if j > 0 {
				sql.WriteString(",")
			}
			sql.WriteString("(" + strings.TrimSuffix(strings.Repeat("?,", len(row)), ",") + ")")
			args = append(args, row...)
		}
		require.NoError(t, db.Exec(sql.String(), args...).Error)
	}
}
