package worker

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/fx"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/bank/fund"
	"github.com/payflow/payflow/internal/bank/identity"
	"github.com/payflow/payflow/internal/cache"
	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/metrics"
	"github.com/payflow/payflow/internal/recon"
	"github.com/payflow/payflow/internal/safehttp"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/internal/yield"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
	"github.com/payflow/payflow/workflows"
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
	Starter   *starter.Starter
	Log       *logrus.Entry
	// Metrics counts flows reaching a terminal status; without it nothing is
	// counted.
	Metrics *metrics.Metrics `optional:"true"`
	// Cache keeps the bank's verification answers (package cache); without it
	// every verification asks the bank.
	Cache cache.Cache `optional:"true"`
}

// Module builds the worker and runs it for the life of the process.
var Module = fx.Module("worker",
	fx.Provide(func(p Params) sdkworker.Worker {
		// A reconciliation's checkpoint is made durable, heartbeated and sent to the
		// server at the same pace: a killed pass resumes from at most that far back.
		return New(p.Client, Options{TaskQueue: p.Config.TaskQueue, MaxHeartbeatThrottleInterval: p.Config.ReconHeartbeat}, NewDeps(p))
	}),
	fx.Invoke(Run),
	fx.Invoke(keepGauges),
	fx.Invoke(func(p Params) {
		if p.Metrics != nil {
			p.Ledger.ObserveGroups(p.Metrics.LedgerGroup)
		}
	}),
	fx.Invoke(func(lc fx.Lifecycle, s *starter.Starter, channels *bank.Registry, cfg config.Config, log *logrus.Entry) {
		lc.Append(fx.StartHook(func(ctx context.Context) error {
			return EnsureSchedules(ctx, s, channels, cfg, log)
		}))
	}),
)

// NewDeps builds the activity structs from the worker's dependencies.
func NewDeps(p Params) Deps {
	return Deps{
		Bank:        &activities.Bank{Channels: p.Channels, Store: p.Store, Log: p.Log},
		Payments:    &activities.Payments{Store: p.Store, Ledger: p.Ledger, Log: p.Log, Outcomes: p.Metrics},
		Topups:      &activities.Topups{Store: p.Store, Ledger: p.Ledger, Log: p.Log, Outcomes: p.Metrics},
		Holds:       &activities.Holds{Store: p.Store, Ledger: p.Ledger, Log: p.Log},
		Withdrawals: &activities.Withdrawals{Store: p.Store, Ledger: p.Ledger, Log: p.Log, Outcomes: p.Metrics},
		Refunds:     &activities.Refunds{Store: p.Store, Ledger: p.Ledger, Log: p.Log, Outcomes: p.Metrics},
		Webhooks: &activities.Webhooks{
			Store: p.Store, Log: p.Log,
			HTTP: safehttp.NewClient(safehttp.Options{AllowPrivate: p.Config.WebhookAllowPrivate, Timeout: p.Config.WebhookTimeout}),
		},
		Reconciliation: &activities.Reconciliation{
			Channels: p.Channels, Store: p.Store, Starter: p.Starter, Log: p.Log,
			Engine: recon.Config{
				ChunkLines: p.Config.ReconChunkLines, PageSize: p.Config.ReconPageSize, TempDir: p.Config.ReconTempDir,
				CheckpointEvery: p.Config.ReconHeartbeat, MaxRefsPerSecond: p.Config.ReconMaxRefsPerSecond,
			},
			HeartbeatEvery: p.Config.ReconHeartbeat,
			CarryDays:      p.Config.ReconCarryDays,
			Differences:    differenceCounter(p),
			FundFiles:      fund.Files{C: fund.New(p.Config.BanksimURL, &http.Client{Timeout: 30 * time.Second})},
		},
		Sweeper:     &activities.Sweeper{Store: p.Store, Starter: p.Starter, Log: p.Log, FundPoll: p.Config.FundPoll},
		Maintenance: maintenance(p),
		Identity:    identityActivities(p),
		Yield: &activities.Yield{
			Engine: &yield.Engine{DB: p.Store.DB(), Ledger: p.Ledger},
			Store:  p.Store, Starter: p.Starter, Log: p.Log,
			// The fund company is the bank simulator's /fund/ API.
			Income: fund.Income{C: fund.New(p.Config.BanksimURL, &http.Client{Timeout: 10 * time.Second})},
		},
		Fund: &activities.Fund{
			Store: p.Store, Ledger: p.Ledger, Log: p.Log,
			Company:     fund.Company{C: fund.New(p.Config.BanksimURL, &http.Client{Timeout: 8 * time.Second})},
			CallbackURL: strings.TrimRight(p.Config.PublicURL, "/") + "/v1/callbacks/fund",
		},
	}
}

// identityActivities builds the identity services' activities on the bank
// simulator's identity API (PAYFLOW_BANKSIM_URL). Its client gives up before the
// activity's own five-second attempt does, so that a bank that hangs is asked again.
func identityActivities(p Params) *activities.Identity {
	a := &activities.Identity{
		Store: p.Store, Ledger: p.Ledger, Log: p.Log,
		Bank:              identity.Bank{C: identity.New(p.Config.BanksimURL, &http.Client{Timeout: 4 * time.Second})},
		BureauCallbackURL: strings.TrimRight(p.Config.PublicURL, "/") + "/v1/callbacks/bureau",
	}
	if p.Cache != nil {
		a.Cache = p.Cache
	}
	return a
}

// differenceCounter is the worker's metrics, when it has them.
func differenceCounter(p Params) activities.DifferenceCounter {
	if p.Metrics == nil {
		return nil
	}
	return p.Metrics
}

// maintenance builds the purge and ledger-check activities; the ledger check's result
// goes to the worker's metrics when it has them.
func maintenance(p Params) *activities.Maintenance {
	m := &activities.Maintenance{Store: p.Store, Ledger: p.Ledger, Log: p.Log}
	if p.Metrics != nil {
		m.Checks, m.Purged = p.Metrics, p.Metrics
	}
	return m
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

// EnsureSchedules creates or updates the flow sweeper's schedule, the purge and
// ledger-check schedules, the balance yield's daily schedule (PAYFLOW_YIELD_AT), and
// the daily reconciliation schedule of every channel in
// PAYFLOW_RECON_CHANNELS. A channel that is not configured is an error: the worker
// would otherwise start and never reconcile it.
func EnsureSchedules(ctx context.Context, s *starter.Starter, channels *bank.Registry, cfg config.Config, log *logrus.Entry) error {
	if err := s.EnsureFlowSweepSchedule(ctx, cfg.SweepEvery, cfg.SweepGrace); err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"schedule_id": workflows.FlowSweepScheduleID, "every": cfg.SweepEvery.String(), "grace": cfg.SweepGrace.String()}).
		Info("flow sweeper schedule ready")
	if err := ensureMaintenanceSchedules(ctx, s, cfg, log); err != nil {
		return err
	}
	if err := s.EnsureYieldSchedule(ctx, models.YieldProduct, cfg.YieldAt); err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"schedule_id": workflows.YieldScheduleID(models.YieldProduct), "at_utc": fmt.Sprintf("%02d:%02d", int(cfg.YieldAt.Hours()), int(cfg.YieldAt.Minutes())%60)}).
		Info("balance yield schedule ready")
	for _, ch := range cfg.ReconChannels {
		if _, err := channels.Get(ch); err != nil && ch != models.ReconChannelFund {
			return fmt.Errorf("PAYFLOW_RECON_CHANNELS: %w", err)
		}
		if err := s.EnsureReconciliationSchedule(ctx, ch, cfg.ReconAt); err != nil {
			return err
		}
		log.WithFields(logrus.Fields{"channel": ch, "schedule_id": workflows.ReconciliationScheduleID(ch), "at_utc": fmt.Sprintf("%02d:%02d", int(cfg.ReconAt.Hours()), int(cfg.ReconAt.Minutes())%60)}).
			Info("reconciliation schedule ready")
	}
	return nil
}

// PurgeInput is what the purge schedule deletes: what is past its retention
// (PAYFLOW_RETENTION_*, config.Retention).
func PurgeInput(cfg config.Config) models.PurgeInput {
	r := cfg.Retention
	return models.PurgeInput{
		NonceMaxAge: r.Nonces, IdempotencyMaxAge: r.IdempotencyKeys, EventMaxAge: r.Events,
		WebhookAttemptMaxAge: r.WebhookAttempts, AuditMaxAge: r.Audit, RateLimitMaxAge: r.RateLimits,
		BankCallbackMaxAge: r.BankCallbacks, PaymentCodeMaxAge: r.PaymentCodes,
		CreditReportMaxAge: cfg.CreditRetention,
	}
}

// ensureMaintenanceSchedules keeps the purge schedule, the measure schedule and the
// ledger-check schedule (PAYFLOW_LEDGER_CHECK_INTERVAL; 0: none), which the API
// processes ran as loops (and the webhook backlog as a count at every scrape)
// before.
func ensureMaintenanceSchedules(ctx context.Context, s *starter.Starter, cfg config.Config, log *logrus.Entry) error {
	in := PurgeInput(cfg)
	if err := s.EnsurePurgeSchedule(ctx, in); err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"schedule_id": workflows.PurgeScheduleID, "every": starter.PurgeEvery.String(),
		"nonce_max_age": in.NonceMaxAge.String(), "idempotency_max_age": in.IdempotencyMaxAge.String(),
		"event_max_age": in.EventMaxAge.String(), "webhook_attempt_max_age": in.WebhookAttemptMaxAge.String(),
		"audit_max_age": in.AuditMaxAge.String(), "rate_limit_max_age": in.RateLimitMaxAge.String(),
		"bank_callback_max_age": in.BankCallbackMaxAge.String()}).Info("purge schedule ready")
	if err := s.EnsureMeasureSchedule(ctx); err != nil {
		return err
	}
	log.WithFields(logrus.Fields{"schedule_id": workflows.MeasureScheduleID, "every": starter.MeasureEvery.String()}).
		Info("measure schedule ready")
	if err := s.EnsureLedgerCheckSchedule(ctx, cfg.LedgerCheckInterval); err != nil {
		return err
	}
	if cfg.LedgerCheckInterval > 0 {
		log.WithFields(logrus.Fields{"schedule_id": workflows.LedgerCheckScheduleID, "every": cfg.LedgerCheckInterval.String()}).
			Info("ledger check schedule ready")
	}
	return nil
}
