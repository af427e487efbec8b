package worker

import (
	"context"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/fx"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/metrics"
	"github.com/payflow/payflow/internal/safehttp"
	"github.com/payflow/payflow/internal/store"
)

// Params are the worker's dependencies.
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    config.Config
	Client    client.Client
	Store     *store.Store
	Ledger    *ledger.Ledger
	Channels  *bank.Registry
	Log       *logrus.Entry
	// Metrics counts flows reaching a terminal status; without it nothing is
	// counted.
	Metrics *metrics.Metrics `optional:"true"`
}

// Module builds the worker and runs it for the life of the process.
var Module = fx.Module("worker",
	fx.Provide(func(p Params) sdkworker.Worker {
		return New(p.Client, Options{TaskQueue: p.Config.TaskQueue}, NewDeps(p))
	}),
	fx.Invoke(Run),
)

// NewDeps builds the activity structs from the worker's dependencies.
func NewDeps(p Params) Deps {
	return Deps{
		Bank:        &activities.Bank{Channels: p.Channels, Store: p.Store, Log: p.Log},
		Payments:    &activities.Payments{Store: p.Store, Ledger: p.Ledger, Log: p.Log, Outcomes: p.Metrics},
		Topups:      &activities.Topups{Ledger: p.Ledger, Log: p.Log, Outcomes: p.Metrics},
		Holds:       &activities.Holds{Ledger: p.Ledger, Log: p.Log},
		Withdrawals: &activities.Withdrawals{Ledger: p.Ledger, Log: p.Log, Outcomes: p.Metrics},
		Refunds:     &activities.Refunds{Store: p.Store, Ledger: p.Ledger, Log: p.Log, Outcomes: p.Metrics},
		Webhooks: &activities.Webhooks{
			Store: p.Store, Log: p.Log,
			HTTP: safehttp.NewClient(safehttp.Options{AllowPrivate: p.Config.WebhookAllowPrivate, Timeout: p.Config.WebhookTimeout}),
		},
	}
}

// Run starts the worker with the process and stops it (finishing the tasks in hand)
// when the process stops.
func Run(lc fx.Lifecycle, w sdkworker.Worker, log *logrus.Entry) {
	lc.Append(fx.StartStopHook(
		func(context.Context) error {
			log.Info("worker starting")
			return w.Start()
		},
		w.Stop,
	))
}
