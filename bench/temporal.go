package main

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
	temporal "go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/bench/load"
	"github.com/payflow/payflow/models"
)

// Names of the raw workflows, on a task queue of their own.
const (
	baselineQueue       = "bench-baseline"
	fourActivitiesName  = "BenchFourActivities"
	emptyName           = "BenchEmpty"
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

// empty is the engine's ceiling: a workflow that does nothing.
func empty(workflow.Context) error { return nil }

func noop(context.Context) error { return nil }

// temporalBaselines measures both raw workflows on the dev server, from a worker in
// this process, at the payments' concurrency.
func temporalBaselines(ctx context.Context, tc temporal.Client, o options, procs map[string]int, res *Results) (load.Result, load.Result, error) {
	w := sdkworker.New(tc, baselineQueue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(fourActivities, workflow.RegisterOptions{Name: fourActivitiesName})
	w.RegisterWorkflowWithOptions(empty, workflow.RegisterOptions{Name: emptyName})
	w.RegisterActivityWithOptions(noop, activity.RegisterOptions{Name: noopActivityName})
	if err := w.Start(); err != nil {
		return load.Result{}, load.Result{}, err
	}
	defer w.Stop()
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
	measure := func(name string) load.Result {
		say("temporal %s: warm-up %s, then %d clients for %s", name, o.warmup, o.concurrency, o.duration)
		_ = load.Measure(o.warmup, o.concurrency, op(name))
		cpu0 := cpuSeconds(procs)
		r := load.Measure(o.duration, o.concurrency, op(name))
		if name == fourActivitiesName {
			res.CPUDuringBaseline = cpuDelta(cpu0, cpuSeconds(procs), r.Elapsed)
		}
		return r
	}
	b := measure(fourActivitiesName)
	e := measure(emptyName)
	res.setTemporal(b, e)
	return b, e, ctx.Err()
}
