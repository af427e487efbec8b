package main

import (
	"context"
	"flag"
	"os/signal"
	"syscall"

	"github.com/payflow/payflow/banksim"
)

func runBanksim(args []string) error {
	cfg, err := loadConfig(flag.NewFlagSet("banksim", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	log := newLogger(cfg, "banksim")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := banksim.New(banksim.Config{
		Addr:               cfg.BanksimAddr,
		DBPath:             cfg.BanksimDBPath,
		CallbackSecret:     cfg.BanksimCallbackSecret,
		DefaultCallbackURL: cfg.PublicURL + "/v1/callbacks/banksim",
		Channel:            "banksim",
		Logger:             log,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.ListenAndServe(ctx)
}
