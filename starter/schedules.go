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

// PurgeEvery is how often the purge schedule fires.
const PurgeEvery = time.Minute

// EnsurePurgeSchedule creates the Temporal Schedule purge, which runs PurgeWorkflow
// every PurgeEvery with in (the ages of what it deletes), or, when it exists, updates
// it to these (an operator's pause is kept). Every worker calls it at start; any
// number of calls leave one schedule per namespace.
func (s *Starter) EnsurePurgeSchedule(ctx context.Context, in models.PurgeInput) error {
	if in.NonceMaxAge <= 0 || in.IdempotencyMaxAge <= 0 {
		return fmt.Errorf("purge schedule with nonce age %s and idempotency age %s: both must be positive", in.NonceMaxAge, in.IdempotencyMaxAge)
	}
	return s.ensureBackgroundSchedule(ctx, workflows.PurgeScheduleID, PurgeEvery, workflows.WorkflowPurge, in)
}

// MeasureEvery is how often the measure schedule counts the webhook backlog.
const MeasureEvery = time.Minute

// EnsureMeasureSchedule creates (or updates) the Temporal Schedule measure, which runs
// MeasureWorkflow every MeasureEvery, and triggers one run at once, so that
// payflow_webhook_backlog is fresh from the worker's start.
func (s *Starter) EnsureMeasureSchedule(ctx context.Context) error {
	id := workflows.MeasureScheduleID
	if err := s.ensureBackgroundSchedule(ctx, id, MeasureEvery, workflows.WorkflowMeasure, models.MeasureInput{}); err != nil {
		return err
	}
	return s.triggerNow(ctx, id)
}

// EnsureLedgerCheckSchedule creates (or updates) the Temporal Schedule ledger-check,
// which runs LedgerCheckWorkflow every `every`, and triggers one check at once, so that
// payflow_ledger_check_ok is fresh from the worker's start (the schedule's first
// firing may be up to `every` away). every == 0 turns the background check off: the
// schedule is deleted if it exists.
func (s *Starter) EnsureLedgerCheckSchedule(ctx context.Context, every time.Duration) error {
	id := workflows.LedgerCheckScheduleID
	if every == 0 {
		err := s.client.ScheduleClient().GetHandle(ctx, id).Delete(ctx)
		var notFound *serviceerror.NotFound
		if err != nil && !errors.As(err, &notFound) {
			return fmt.Errorf("delete schedule %s: %w", id, err)
		}
		return nil
	}
	if every < time.Second {
		// A schedule fires at most every second.
		every = time.Second
	}
	if err := s.ensureBackgroundSchedule(ctx, id, every, workflows.WorkflowLedgerCheck, models.LedgerCheckInput{}); err != nil {
		return err
	}
	return s.triggerNow(ctx, id)
}

// triggerNow runs schedule id once now, unless a run of it is going on.
func (s *Starter) triggerNow(ctx context.Context, id string) error {
	err := s.client.ScheduleClient().GetHandle(ctx, id).Trigger(ctx, client.ScheduleTriggerOptions{
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	if err != nil {
		return fmt.Errorf("trigger schedule %s: %w", id, err)
	}
	return nil
}

// ensureBackgroundSchedule keeps a schedule that runs workflow with in every `every`:
// one run at a time (a second would only do the same work again), and firings missed
// while Temporal or the workers were down are not run one by one (the next run does
// everything due by then).
func (s *Starter) ensureBackgroundSchedule(ctx context.Context, id string, every time.Duration, workflow string, in any) error {
	spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	action := &client.ScheduleWorkflowAction{
		ID:        id, // Temporal appends the scheduled time
		Workflow:  workflow,
		Args:      []any{in},
		TaskQueue: s.cfg.TaskQueue,
	}
	policy := client.SchedulePolicies{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: time.Minute}
	return s.ensureSchedule(ctx, id, spec, action, policy)
}

// EnsureReconciliationSchedule creates the Temporal Schedule reconciliation/<channel>
// that opens the previous UTC day's run every day at the given time after midnight
// UTC, or, when it exists, updates its spec, action and policies to these. An
// operator's pause is kept. Every worker calls it at start; any number of calls leave
// one schedule.
func (s *Starter) EnsureReconciliationSchedule(ctx context.Context, channel string, at time.Duration) error {
	spec, err := dailySpec("reconciliation", at, "reconcile "+channel+"'s statement of the previous UTC day")
	if err != nil {
		return err
	}
	id := workflows.ReconciliationScheduleID(channel)
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
	return s.ensureSchedule(ctx, id, spec, action, dailyPolicy)
}

// dailySpec fires once a day at `at` after midnight UTC (what names the schedule in
// the error of a time that is not within a day).
func dailySpec(what string, at time.Duration, comment string) (client.ScheduleSpec, error) {
	if at < 0 || at >= 24*time.Hour {
		return client.ScheduleSpec{}, fmt.Errorf("%s time of day %s is not within a day", what, at)
	}
	at = at.Truncate(time.Second)
	return client.ScheduleSpec{
		Calendars: []client.ScheduleCalendarSpec{{
			Hour:    []client.ScheduleRange{{Start: int(at / time.Hour)}},
			Minute:  []client.ScheduleRange{{Start: int(at % time.Hour / time.Minute)}},
			Second:  []client.ScheduleRange{{Start: int(at % time.Minute / time.Second)}},
			Comment: comment,
		}},
		TimeZoneName: "UTC",
	}, nil
}

// dailyPolicy: a firing missed while Temporal was down still runs, for up to a day.
var dailyPolicy = client.SchedulePolicies{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: 24 * time.Hour}

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
