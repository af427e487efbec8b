package main

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/config"
)

// Only the configured channels (and the auto router over them) are in the registry
// the API and the worker use: a channel a deployment does not configure is neither
// offered to merchants nor given a callback route, and the router's default routes
// follow the configured channels.
func TestChannelModulesRegisterConfiguredChannels(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"local defaults", nil, []string{"alipaysim", "auto", "banksim", "stripe", "wxpaysim"}},
		{"a wallet provider", map[string]string{"PAYFLOW_CHANNELS": "stripe,wxpaysim", "PAYFLOW_DEFAULT_CHANNEL": "stripe", "PAYFLOW_WXPAYSIM_NOTIFY_SECRET": "w"}, []string{"auto", "stripe", "wxpaysim"}},
		{"stripe only", map[string]string{"PAYFLOW_CHANNELS": "stripe", "PAYFLOW_DEFAULT_CHANNEL": "stripe"}, []string{"auto", "stripe"}},
		{"banksim only", map[string]string{"PAYFLOW_CHANNELS": "banksim", "PAYFLOW_BANKSIM_CALLBACK_SECRET": "s"}, []string{"auto", "banksim"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"PAYFLOW_CHANNELS", "PAYFLOW_DEFAULT_CHANNEL", "PAYFLOW_BANKSIM_CALLBACK_SECRET", "PAYFLOW_AUTO_ROUTES", "PAYFLOW_WXPAYSIM_NOTIFY_SECRET"} {
				t.Setenv(k, tc.env[k])
			}
			cfg, err := config.Load()
			require.NoError(t, err)
			var names []string
			app := fx.New(fx.NopLogger, fx.Supply(cfg), channelModules(),
				fx.Invoke(func(r *bank.Registry) { names = r.Names() }))
			require.NoError(t, app.Err())
			require.Equal(t, tc.want, names)
		})
	}
}
