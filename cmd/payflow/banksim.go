package main

import (
	"context"
	"flag"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/banksim"
	"github.com/payflow/payflow/internal/config"
)

func runBanksim(args []string) error {
	cfg, err := loadConfig(flag.NewFlagSet("banksim", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	log := newLogger(cfg, "banksim")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := banksim.New(banksimConfig(cfg, log))
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.ListenAndServe(ctx)
}

// banksimConfig is the simulator's configuration from payflow's: the bank's
// callbacks and each wallet provider's notifications go to the API's callback
// routes (signed with the secrets the API verifies them with), and checkout
// pages are on the simulator's public URL.
func banksimConfig(cfg config.Config, log *logrus.Entry) banksim.Config {
	public := strings.TrimRight(cfg.PublicURL, "/")
	wallets := map[string]banksim.WalletConfig{}
	for _, p := range config.WalletChannels {
		wallets[p] = banksim.WalletConfig{
			NotifySecret:     cfg.WalletNotifySecrets[p],
			DefaultNotifyURL: public + "/v1/callbacks/" + p,
		}
	}
	return banksim.Config{
		Addr:               cfg.BanksimAddr,
		DBPath:             cfg.BanksimDBPath,
		CallbackSecret:     cfg.BanksimCallbackSecret,
		DefaultCallbackURL: public + "/v1/callbacks/banksim",
		Channel:            "banksim",
		Wallets:            wallets,
		PublicURL:          cfg.BanksimPublicURL,
		Logger:             log,
	}
}
