package main

import (
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/banksim"
	"github.com/payflow/payflow/internal/config"
)

// The simulator signs each provider's notifications with the secret the API
// verifies them with, sends them to the API's route of that provider, and
// links checkout pages on its public URL.
func TestBanksimConfigWiresTheWalletProviders(t *testing.T) {
	t.Setenv("PAYFLOW_PUBLIC_URL", "https://api.example.test/")
	t.Setenv("PAYFLOW_BANKSIM_PUBLIC_URL", "https://banksim.example.test")
	t.Setenv("PAYFLOW_ALIPAYSIM_NOTIFY_SECRET", "ali-secret")
	t.Setenv("PAYFLOW_WXPAYSIM_NOTIFY_SECRET", "")
	cfg, err := config.Load()
	require.NoError(t, err)
	got := banksimConfig(cfg, logrus.NewEntry(logrus.New()))
	require.Equal(t, map[string]banksim.WalletConfig{
		banksim.ProviderAlipay: {NotifySecret: "ali-secret", DefaultNotifyURL: "https://api.example.test/v1/callbacks/alipaysim"},
		banksim.ProviderWxpay: {NotifySecret: banksim.DefaultWalletNotifySecret(banksim.ProviderWxpay),
			DefaultNotifyURL: "https://api.example.test/v1/callbacks/wxpaysim"},
	}, got.Wallets)
	require.Equal(t, "https://banksim.example.test", got.PublicURL)
	require.Equal(t, "https://api.example.test/v1/callbacks/banksim", got.DefaultCallbackURL)
}
