package main

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	temporal "go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// Names of the raw workflows, on a task queue of their own.
const (
	baselineQueue       = "bench-baseline"
	fourActivitiesName  = "BenchFourActivities"
	emptyName           = "BenchEmpty"
	oneActivityName     = "BenchOneActivity"
	noopActivityName    = "BenchNoop"
	baselineActivitiesN = 4
)

// fourActivities is the baseline a payment is held to: four sequential regular
// activities that do nothing, as many workflow tasks and activity round trips as a
// payment's validate, charge, post and notify would need at least.
func fourActivities(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	for i := 0; i < baselineActivitiesN; i++ {
		if err := workflow.ExecuteActivity(ctx, noopActivityName).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// oneActivity is what a synchronous payment's latency is held to: the least a flow
// that calls the bank once costs, started and awaited by a client (ExecuteWorkflow,
// then Get).
func oneActivity(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	return workflow.ExecuteActivity(ctx, noopActivityName).Get(ctx, nil)
}

// emptyWorkflow is the engine's ceiling: a workflow that does nothing.
func emptyWorkflow(workflow.Context) error { return nil }

func noop(context.Context) error { return nil }

// rawOps are the raw workflows' operations: each starts its workflow and waits for
// its end.
type rawOps struct {
	four, one, empty func(context.Context) error
}

// temporalOps starts a worker of the raw workflows in this process, on the dev
// server, and returns an operation that runs each to its end, and the worker's stop.
func temporalOps(tc temporal.Client) (ops rawOps, stop func(), err error) {
	w := sdkworker.New(tc, baselineQueue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(fourActivities, workflow.RegisterOptions{Name: fourActivitiesName})
	w.RegisterWorkflowWithOptions(emptyWorkflow, workflow.RegisterOptions{Name: emptyName})
	w.RegisterWorkflowWithOptions(oneActivity, workflow.RegisterOptions{Name: oneActivityName})
	w.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: noopActivityName})
	if err := w.Start(); err != nil {
		return rawOps{}, nil, err
	}
	op := func(name string) func(context.Context) error {
		return func(ctx context.Context) error {
			run, err := tc.ExecuteWorkflow(ctx, temporal.StartWorkflowOptions{
				ID: "bench/" + name + "/" + models.NewID(""), TaskQueue: baselineQueue,
			}, name)
			if err != nil {
				return err
			}
			return run.Get(ctx, nil)
		}
	}
	return rawOps{four: op(fourActivitiesName), one: op(oneActivityName), empty: op(emptyName)}, w.Stop, nil
}
