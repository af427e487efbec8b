package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/sirupsen/logrus"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/payflow/payflow/http/server"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/bank/auto"
	"github.com/payflow/payflow/internal/bank/sim"
	"github.com/payflow/payflow/internal/bank/stripe"
	"github.com/payflow/payflow/internal/bank/wallet"
	"github.com/payflow/payflow/internal/cache"
	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/merchants"
	"github.com/payflow/payflow/internal/metrics"
	"github.com/payflow/payflow/internal/profiling"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/internal/temporalx"
	"github.com/payflow/payflow/starter"
	"github.com/payflow/payflow/worker"
)

// newLogger builds the process's base logger: structured, to stderr, with the role.
func newLogger(cfg config.Config, role string) *logrus.Entry {
	l := logrus.New()
	l.SetOutput(os.Stderr)
	if strings.EqualFold(cfg.LogFormat, "json") {
		l.SetFormatter(&logrus.JSONFormatter{})
	} else {
		l.SetFormatter(&logrus.TextFormatter{DisableColors: true, FullTimestamp: true})
	}
	if lvl, err := logrus.ParseLevel(cfg.LogLevel); err == nil {
		l.SetLevel(lvl)
	}
	return l.WithField("role", role)
}

// common is what every long-running role shares.
func common(cfg config.Config, log *logrus.Entry) fx.Option {
	return fx.Options(
		fx.Supply(cfg, log),
		fx.WithLogger(func() fxevent.Logger { return fxevent.NopLogger }),
		store.Module,
		ledger.Module,
	)
}

// channelModules are the bank channels: each real channel contributes to the
// registry's "channels" group; the auto router decorates the registry with itself.
func channelModules() fx.Option {
	return fx.Options(bank.Module, sim.Module, stripe.Module, wallet.Module, auto.Module)
}

// loadConfig parses the command's flags, then reads the configuration.
func loadConfig(fs *flag.FlagSet, args []string) (config.Config, error) {
	if err := parseFlags(fs, args); err != nil {
		return config.Config{}, err
	}
	if fs.NArg() > 0 {
		return config.Config{}, usageError{fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))}
	}
	cfg, err := config.Load()
	if err != nil {
		return config.Config{}, err
	}
	// The flag set is named after the subcommand, which is the process's role; in
	// production a role refuses the public defaults of what it uses before it starts.
	seed := fs.Lookup("seed-demo")
	if err := cfg.CheckProduction(config.Role(fs.Name()), seed != nil && seed.Value.String() == "true"); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

func runAPI(args []string) error {
	return runService("api", args, func(cfg config.Config) fx.Option {
		return fx.Options(
			metrics.Module,
			temporalx.Module,
			starter.Module,
			server.Module,
			profiling.Serve(cfg.PprofAddr),
		)
	})
}

func runWorker(args []string) error {
	return runService("worker", args, func(cfg config.Config) fx.Option {
		return fx.Options(
			metrics.Module,
			metrics.Serve(cfg.WorkerMetricsAddr),
			temporalx.Module,
			starter.Module, // the reconciliation schedules and runs it opens
			cache.Module,
			worker.Module,
			profiling.Serve(cfg.PprofAddr),
		)
	})
}

// runService is payflow api and payflow worker: an fx app of what every process
// has (the configuration, the logger, the store, the channels) and of the role's
// own modules, run until SIGINT/SIGTERM.
func runService(role string, args []string, modules func(config.Config) fx.Option) error {
	cfg, err := loadConfig(flag.NewFlagSet(role, flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	log := newLogger(cfg, role)
	return runApp(fx.New(common(cfg, log), channelModules(), modules(cfg)), log)
}

// runApp starts an fx app, runs it until SIGINT/SIGTERM, and stops it.
func runApp(app *fx.App, log *logrus.Entry) error {
	if err := app.Err(); err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(context.Background(), app.StartTimeout())
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		return err
	}
	sig := <-app.Wait()
	log.WithField("signal", sig.Signal.String()).Info("stopping")
	stopCtx, cancel2 := context.WithTimeout(context.Background(), app.StopTimeout())
	defer cancel2()
	return app.Stop(stopCtx)
}

func runMigrate(args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	seed := fs.Bool("seed-demo", false, "also create the demo merchant (PAYFLOW_DEMO_MERCHANT_ID / _SECRET)")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	log := newLogger(cfg, "migrate")
	return migrateAndSeed(context.Background(), cfg, log, *seed)
}

// migrateAndSeed applies migrations and, when asked, seeds the demo merchant.
func migrateAndSeed(ctx context.Context, cfg config.Config, log *logrus.Entry, seed bool) error {
	var st *store.Store
	var l *ledger.Ledger
	var db *store.DB
	app := fx.New(common(cfg, log), fx.Populate(&st, &l, &db))
	if err := app.Err(); err != nil {
		return err
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	log.WithField("applied", applied).Info("migrations up to date")
	if seed {
		svc := &merchants.Service{Store: st, Ledger: l}
		created, err := svc.SeedDemo(ctx, merchants.Demo{ID: cfg.DemoMerchantID, Secret: cfg.DemoMerchantSecret, WebhookSecret: cfg.DemoWebhookSecret})
		if err != nil {
			return fmt.Errorf("seed demo merchant: %w", err)
		}
		log.WithFields(logrus.Fields{"merchant_id": cfg.DemoMerchantID, "created": created}).Info("demo merchant ready")
	}
	return nil
}
