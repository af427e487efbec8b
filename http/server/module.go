package server

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"
	"go.uber.org/fx"

	"github.com/payflow/payflow/http/callbacks"
	"github.com/payflow/payflow/http/merchant"
	"github.com/payflow/payflow/http/ops"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/starter"
)

// Params are the API's dependencies.
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    config.Config
	Store     *store.Store
	Ledger    *ledger.Ledger
	Starter   *starter.Starter
	Channels  *bank.Registry
	Log       *logrus.Entry
}

type checker struct {
	name string
	fn   func(context.Context) error
}

func (c checker) Name() string                    { return c.name }
func (c checker) Check(ctx context.Context) error { return c.fn(ctx) }

// Module serves the API for the life of the process, and purges expired nonces and
// idempotency keys in the background.
var Module = fx.Module("http",
	fx.Provide(func(p Params) *Server {
		log := p.Log.WithField("component", "api")
		now := time.Now
		deps := Deps{
			Merchant: &merchant.Handler{
				Store: p.Store, Ledger: p.Ledger, Starter: p.Starter,
				Channels: p.Channels.Names(), DefaultChannel: p.Config.DefaultChannel, Log: log, Now: now,
			},
			Ops: &ops.Handler{
				Ledger: p.Ledger, Log: log,
				Reconciliations: p.Store, Reconciler: p.Starter, Channels: p.Channels.Names(), Now: now,
			},
			Callbacks: &callbacks.Handler{
				Secrets: map[string]string{"banksim": p.Config.BanksimCallbackSecret},
				Flows:   p.Store, Signaler: p.Starter, Log: log, Now: now,
				Transfers: p.Store,
			},
			Merchants: p.Store,
			OpsTokens: p.Config.OpsTokens,
			Checkers: []Checker{
				checker{"database", p.Store.DB().Ping},
				checker{"temporal", p.Starter.CheckHealth},
			},
			Tolerance: p.Config.SignatureTolerance,
			Now:       now,
			Log:       log,
		}
		return New(p.Config.APIAddr, NewRouter(deps), log)
	}),
	fx.Invoke(func(lc fx.Lifecycle, s *Server, st *store.Store, cfg config.Config, log *logrus.Entry) {
		ctx, cancel := context.WithCancel(context.Background())
		lc.Append(fx.StartStopHook(
			func() error {
				go purgeLoop(ctx, st, cfg.SignatureTolerance, log)
				return s.Start()
			},
			func(stopCtx context.Context) error {
				cancel()
				return s.Stop(stopCtx)
			},
		))
	}),
)

// purgeLoop deletes nonces older than the signature window (twice the tolerance, as
// a margin) and idempotency keys older than 24 hours, every minute.
func purgeLoop(ctx context.Context, st *store.Store, tolerance time.Duration, log *logrus.Entry) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		if _, err := st.PurgeNonces(ctx, now.Add(-2*tolerance)); err != nil && ctx.Err() == nil {
			log.WithError(err).Warn("purge nonces")
		}
		if _, err := st.PurgeIdempotencyKeys(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			log.WithError(err).Warn("purge idempotency keys")
		}
	}
}
