package starter

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

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
