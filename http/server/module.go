package server

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"
	"go.uber.org/fx"

	"github.com/payflow/payflow/http/callbacks"
	"github.com/payflow/payflow/http/codec"
	"github.com/payflow/payflow/http/hosted"
	"github.com/payflow/payflow/http/merchant"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/ops"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/metrics"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/internal/temporalx"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// Services are the application services the API calls (package starter).
type Services struct {
	fx.In
	Payments        *starter.Payments
	Refunds         *starter.Refunds
	Wallets         *starter.Wallets
	Events          *starter.Events
	Reconciliations *starter.Reconciliations
	Merchants       *starter.Merchants
	Identity        *starter.Identity
	Yield           *starter.Yield
	Fund            *starter.Fund
}

// Params are the API's dependencies.
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    config.Config
	Store     *store.Store
	Ledger    *ledger.Ledger
	Starter   *starter.Starter
	Services  Services
	Channels  *bank.Registry
	Log       *logrus.Entry
	Codec     *temporalx.Codec
	Metrics   *metrics.Metrics
}

type checker struct {
	name string
	fn   func(context.Context) error
}

func (c checker) Name() string                    { return c.name }
func (c checker) Check(ctx context.Context) error { return c.fn(ctx) }

// Module serves the API for the life of the process. Background work (purging expired
// nonces, idempotency keys and secrets; the ledger check) runs on the worker, as
// Temporal Schedules (package worker).
var Module = fx.Module("http",
	fx.Provide(func(p Params) *Server {
		log := p.Log.WithField("component", "api")
		now := time.Now
		// Failed ops-token attempts are counted per client address in rate_limits
		// rows shared by every replica (a per-replica count would multiply an
		// attacker's guesses by the replicas and reset with each restart).
		guard := &middleware.OpsGuard{
			Attempts: p.Store, Audit: p.Store, Now: now,
			Budget: store.AttemptBudget{Attempts: int64(p.Config.OpsAuthFailures), Window: p.Config.OpsAuthWindow},
		}
		deps := Deps{
			Merchant: &merchant.Handler{
				Payments: p.Services.Payments, Refunds: p.Services.Refunds, Wallets: p.Services.Wallets, Events: p.Services.Events,
				Identity: p.Services.Identity, Yield: p.Services.Yield, Fund: p.Services.Fund,
				Channels: p.Channels.Names(), DefaultChannel: p.Config.DefaultChannel, Log: log,
			},
			Ops: &ops.Handler{
				Ledger: checkedLedger{p.Ledger, p.Metrics}, Store: p.Store, Flows: p.Starter, FlowLister: p.Starter,
				FlowActs: p.Starter, References: p.Store, Merchants: p.Services.Merchants, Log: log,
				Reconciliations: p.Services.Reconciliations, Channels: append(p.Channels.Names(), models.ReconChannelFund), Now: now,
				CreditReports: p.Services.Identity, Yield: p.Services.Yield,
			},
			// One callback route per configured channel that takes callbacks, each
			// verified with that channel's own secret.
			Callbacks: &callbacks.Handler{
				Verifiers: callbacks.ForChannels(p.Channels.Names(), callbacks.Secrets{
					Banksim: p.Config.BanksimCallbackSecret, StripeWebhook: p.Config.StripeWebhookSecret,
					Wallets: p.Config.WalletNotifySecrets,
				}),
				Flows: p.Store, Events: p.Store, Signaler: p.Starter, Log: log, Now: now,
				// The credit bureau's callbacks, mounted with the banksim route (its
				// secret signs them).
				Bureau: &callbacks.Bureau{Reports: p.Store, Signaler: p.Starter},
				Fund:   p.Services.Fund,
			},
			Hosted:         &hosted.Handler{Payments: p.Services.Payments, Channels: p.Channels.Names(), Log: log},
			Merchants:      p.Store,
			RateLimit:      store.TokenBucket{Rate: int64(p.Config.RateLimitRPS), Burst: int64(p.Config.RateLimitBurst)},
			OpsTokens:      p.Config.OpsTokens,
			OpsGuard:       guard,
			TrustedProxies: p.Config.TrustedProxies,
			Checkers: []Checker{
				checker{"database", p.Store.DB().Ping},
				checker{"temporal", p.Starter.CheckHealth},
			},
			Tolerance: p.Config.SignatureTolerance,
			Now:       now,
			Log:       log,
			Codec: &codec.Handler{
				Codec: p.Codec, OpsTokens: p.Config.OpsTokens, OpsGuard: guard, AllowedOrigins: p.Config.CodecAllowedOrigins,
				TrustLocalUI: p.Config.CodecTrustLocalUI, Log: log.WithField("component", "codec"),
			},
			Metrics:  p.Metrics.Handler(log),
			Requests: p.Metrics,
		}
		routes := make([]string, 0, len(deps.Callbacks.Verifiers))
		for _, v := range deps.Callbacks.Verifiers {
			routes = append(routes, v.Channel())
			if _, ok := v.(callbacks.Banksim); ok {
				routes = append(routes, "bureau")
			}
		}
		log.WithField("channels", routes).Info("bank callback routes")
		if p.Config.OpsAddr == p.Config.APIAddr {
			return New(p.Config.APIAddr, NewRouter(deps), log)
		}
		// The operators' listener, apart from merchant traffic.
		opsSrv := New(p.Config.OpsAddr, NewOpsRouter(deps), log.WithField("listener", "ops"))
		p.Lifecycle.Append(fx.StartStopHook(opsSrv.Start, opsSrv.Stop))
		return New(p.Config.APIAddr, NewMerchantRouter(deps), log)
	}),
	fx.Invoke(func(lc fx.Lifecycle, s *Server, st *store.Store, m *metrics.Metrics, log *logrus.Entry) error {
		if err := ExportWebhookBacklog(m, st, log); err != nil {
			return err
		}
		lc.Append(fx.StartStopHook(s.Start, s.Stop))
		return nil
	}),
)

// ExportWebhookBacklog exports payflow_webhook_backlog on m: at each scrape, the
// backlog the worker's measure schedule counted last (one row read by its key, never
// a count over the events; 0 before the first count), so that a scrape costs the
// same whatever the events table holds and every replica shows the same value.
func ExportWebhookBacklog(m *metrics.Metrics, st *store.Store, log *logrus.Entry) error {
	return m.RegisterGaugeFunc(metrics.NameWebhookBacklog, metrics.HelpWebhookBacklog, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, _, _, err := st.StoredWebhookBacklog(ctx)
		if err != nil {
			log.WithError(err).Warn("webhook backlog gauge")
			return 0
		}
		return float64(n)
	})
}
