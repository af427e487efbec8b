// Command release1worker is payflow's worker as the first release shipped it, for the
// rolling-upgrade test of make test-cluster: the same process as `payflow worker`
// (configuration, activities, every other workflow), except that the payment
// workflow registered under PaymentWorkflow is the frozen release-1 code of
// internal/e2e/release1. Payments started on it and finished on today's worker prove
// that today's workflow replays release 1's histories (workflows/versions.go).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/activity"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/bank/auto"
	"github.com/payflow/payflow/internal/bank/sim"
	"github.com/payflow/payflow/internal/bank/stripe"
	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/harness/e2e/release1"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/internal/temporalx"
	"github.com/payflow/payflow/starter"
	"github.com/payflow/payflow/worker"
	"github.com/payflow/payflow/workflows"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "release1worker:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	l := logrus.New()
	l.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	log := l.WithFields(logrus.Fields{"role": "worker", "build": "release1"})
	app := fx.New(
		fx.Supply(cfg, log),
		fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }),
		store.Module, ledger.Module,
		bank.Module, sim.Module, stripe.Module, auto.Module,
		temporalx.Module,
		starter.Module, // the reconciliation activities start runs through it
		fx.Provide(newWorker),
		fx.Invoke(worker.Run),
	)
	if err := app.Err(); err != nil {
		return err
	}
	if err := app.Start(context.Background()); err != nil {
		return err
	}
	<-app.Wait()
	return app.Stop(context.Background())
}

// newWorker registers what payflow's worker registers, with release 1's payment
// workflow in place of today's.
func newWorker(p worker.Params) sdkworker.Worker {
	w := sdkworker.New(p.Client, p.Config.TaskQueue, sdkworker.Options{})
	for _, r := range worker.Workflows() {
		fn := r.Fn
		if r.Name == workflows.WorkflowPayment {
			fn = release1.PaymentWorkflow
		}
		w.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: r.Name})
	}
	for _, a := range worker.Activities(worker.NewDeps(p)) {
		w.RegisterActivityWithOptions(a.Fn, activity.RegisterOptions{Name: a.Name})
	}
	return w
}
