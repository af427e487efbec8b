package starter

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// closingWait bounds how long a new reconciliation run waits for the previous run of
// its day to close: that run recorded its end just before closing, so this is
// milliseconds, unless Temporal is slow.
const closingWait = 15 * time.Second

// StartReconciliation starts the workflow of a reconciliation run,
// reconciliation/<channel>/<date>, with the run's id as input.
//
// fresh says the run was just created: no workflow run of it can exist, and the
// workflow id's current run, if any, belongs to the previous run of the day, which has
// recorded its end and is closing; the start waits for it to close rather than being
// mistaken for it. Otherwise the call is idempotent: a run already going is left
// alone, and a run whose workflow never started (or was terminated) starts now.
func (s *Starter) StartReconciliation(ctx context.Context, in models.ReconciliationInput, fresh bool) error {
	id := workflows.ReconciliationWorkflowID(in.Channel, in.Date)
	opts := client.StartWorkflowOptions{
		ID:        id,
		TaskQueue: s.cfg.TaskQueue,
		// A day is reconciled again by a new run of the same workflow id.
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SAFlow.ValueSet(string(models.FlowReconciliation)),
			workflows.SAChannel.ValueSet(in.Channel),
			workflows.SAStage.ValueSet(string(workflows.ReconciliationStageAtStart)),
		),
	}
	if !fresh {
		_, err := s.client.ExecuteWorkflow(ctx, opts, workflows.ReconciliationWorkflow, in)
		if err != nil {
			return fmt.Errorf("start %s: %w", id, err)
		}
		return nil
	}
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL
	deadline := time.Now().Add(closingWait)
	for {
		_, err := s.client.ExecuteWorkflow(ctx, opts, workflows.ReconciliationWorkflow, in)
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if err == nil || !(errors.As(err, &started) || temporal.IsWorkflowExecutionAlreadyStartedError(err)) || time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("start %s: %w", id, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("start %s: %w", id, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// EnsureReconciliationSchedule creates the Temporal Schedule reconciliation/<channel>
// that opens the previous UTC day's run every day at the given time after midnight
// UTC, or, when it exists, updates its spec, action and policies to these. An
// operator's pause is kept. Every worker calls it at start; any number of calls leave
// one schedule.
func (s *Starter) EnsureReconciliationSchedule(ctx context.Context, channel string, at time.Duration) error {
	if at < 0 || at >= 24*time.Hour {
		return fmt.Errorf("reconciliation time of day %s is not within a day", at)
	}
	id := workflows.ReconciliationScheduleID(channel)
	at = at.Truncate(time.Second)
	spec := client.ScheduleSpec{
		Calendars: []client.ScheduleCalendarSpec{{
			Hour:    []client.ScheduleRange{{Start: int(at / time.Hour)}},
			Minute:  []client.ScheduleRange{{Start: int(at % time.Hour / time.Minute)}},
			Second:  []client.ScheduleRange{{Start: int(at % time.Minute / time.Second)}},
			Comment: "reconcile " + channel + "'s statement of the previous UTC day",
		}},
		TimeZoneName: "UTC",
	}
	action := &client.ScheduleWorkflowAction{
		ID:        id, // Temporal appends the scheduled time
		Workflow:  workflows.WorkflowScheduledReconciliation,
		Args:      []any{models.ScheduledReconciliationInput{Channel: channel}},
		TaskQueue: s.cfg.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SAFlow.ValueSet(string(models.FlowReconciliation)),
			workflows.SAChannel.ValueSet(channel),
		),
	}
	policy := client.SchedulePolicies{
		// A firing missed while Temporal was down still runs, for up to a day.
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: 24 * time.Hour,
	}
	return s.ensureSchedule(ctx, id, spec, action, policy)
}

// ensureSchedule creates the Temporal Schedule id with spec, action and policy, or,
// when it exists, updates its spec, action and policies to these, keeping an
// operator's pause. Workers call it at start: any number of calls leave one schedule,
// with the configuration of the last.
func (s *Starter) ensureSchedule(ctx context.Context, id string, spec client.ScheduleSpec, action *client.ScheduleWorkflowAction, policy client.SchedulePolicies) error {
	sc := s.client.ScheduleClient()
	_, err := sc.Create(ctx, client.ScheduleOptions{
		ID: id, Spec: spec, Action: action, Overlap: policy.Overlap, CatchupWindow: policy.CatchupWindow,
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("create schedule %s: %w", id, err)
	}
	err = sc.GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sch := in.Description.Schedule
			sch.Spec, sch.Action, sch.Policy = &spec, action, &policy
			return &client.ScheduleUpdate{Schedule: &sch}, nil
		},
	})
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", id, err)
	}
	return nil
}
