package config

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Local runs use every channel with public local secrets; a deployment names its
// channels, and each named channel's callback secret must then be its own. The
// defaults that name channels (auto routes, reconciliation) follow the configured
// channels, so that a deployment without banksim does not depend on it.
func TestChannels(t *testing.T) {
	tests := []struct {
		name              string
		env               map[string]string
		channels          []string
		autoRoutes        string
		recon             []string
		stripeWebhook     string
		wantErr           string
		banksimSecretWant string
		walletSecrets     map[string]string
	}{
		{
			// The wallet providers are channels, but the auto router sends cards only
			// to card channels.
			name: "local defaults", channels: []string{"banksim", "stripe", "alipaysim", "wxpaysim"},
			autoRoutes: `[{"channels":["banksim","stripe"]}]`, recon: []string{"banksim", "alipaysim", "wxpaysim"},
			banksimSecretWant: "banksim_callback_secret",
			walletSecrets:     map[string]string{"alipaysim": "alipaysim_notify_secret", "wxpaysim": "wxpaysim_notify_secret"},
		},
		{
			name: "wallet providers named with their own secrets",
			env: map[string]string{"PAYFLOW_CHANNELS": "stripe,wxpaysim,alipaysim", "PAYFLOW_DEFAULT_CHANNEL": "stripe",
				"PAYFLOW_ALIPAYSIM_NOTIFY_SECRET": "a1", "PAYFLOW_WXPAYSIM_NOTIFY_SECRET": "w1"},
			channels: []string{"stripe", "wxpaysim", "alipaysim"}, autoRoutes: `[{"channels":["stripe"]}]`,
			recon:             []string{"alipaysim", "wxpaysim"},
			banksimSecretWant: "banksim_callback_secret",
			walletSecrets:     map[string]string{"alipaysim": "a1", "wxpaysim": "w1"},
		},
		{
			name:     "only a wallet provider: auto routes over it",
			env:      map[string]string{"PAYFLOW_CHANNELS": "wxpaysim", "PAYFLOW_DEFAULT_CHANNEL": "wxpaysim", "PAYFLOW_WXPAYSIM_NOTIFY_SECRET": "w1"},
			channels: []string{"wxpaysim"}, autoRoutes: `[{"channels":["wxpaysim"]}]`,
			recon:             []string{"wxpaysim"},
			banksimSecretWant: "banksim_callback_secret",
			walletSecrets:     map[string]string{"alipaysim": "alipaysim_notify_secret", "wxpaysim": "w1"},
		},
		{
			name:    "a wallet provider named without its secret",
			env:     map[string]string{"PAYFLOW_CHANNELS": "stripe,alipaysim", "PAYFLOW_DEFAULT_CHANNEL": "stripe"},
			wantErr: "PAYFLOW_ALIPAYSIM_NOTIFY_SECRET must be set",
		},
		{
			name:     "stripe only, as the chart's defaults",
			env:      map[string]string{"PAYFLOW_CHANNELS": "stripe", "PAYFLOW_DEFAULT_CHANNEL": "stripe", "PAYFLOW_STRIPE_WEBHOOK_SECRET": "whsec_x"},
			channels: []string{"stripe"}, autoRoutes: `[{"channels":["stripe"]}]`, recon: nil, stripeWebhook: "whsec_x",
			banksimSecretWant: "banksim_callback_secret",
		},
		{
			name:     "banksim named with its own secret",
			env:      map[string]string{"PAYFLOW_CHANNELS": "banksim, stripe", "PAYFLOW_BANKSIM_CALLBACK_SECRET": "s3cret"},
			channels: []string{"banksim", "stripe"}, autoRoutes: `[{"channels":["banksim","stripe"]}]`, recon: []string{"banksim"},
			banksimSecretWant: "s3cret",
		},
		{
			name:    "banksim named without its secret",
			env:     map[string]string{"PAYFLOW_CHANNELS": "banksim"},
			wantErr: "PAYFLOW_BANKSIM_CALLBACK_SECRET must be set",
		},
		{
			name:    "an unknown channel",
			env:     map[string]string{"PAYFLOW_CHANNELS": "stripe,paypal", "PAYFLOW_DEFAULT_CHANNEL": "stripe"},
			wantErr: `"paypal" is not a channel`,
		},
		{
			name:    "auto is the router, not a channel",
			env:     map[string]string{"PAYFLOW_CHANNELS": "auto,stripe", "PAYFLOW_DEFAULT_CHANNEL": "stripe"},
			wantErr: `"auto" is not a channel`,
		},
		{
			name:    "a channel twice",
			env:     map[string]string{"PAYFLOW_CHANNELS": "stripe,stripe", "PAYFLOW_DEFAULT_CHANNEL": "stripe"},
			wantErr: `"stripe" appears twice`,
		},
		{
			name:    "a default channel that is not configured",
			env:     map[string]string{"PAYFLOW_CHANNELS": "stripe"},
			wantErr: "PAYFLOW_DEFAULT_CHANNEL",
		},
		{
			name:     "auto as the default channel",
			env:      map[string]string{"PAYFLOW_CHANNELS": "stripe", "PAYFLOW_DEFAULT_CHANNEL": "auto"},
			channels: []string{"stripe"}, autoRoutes: `[{"channels":["stripe"]}]`,
			banksimSecretWant: "banksim_callback_secret",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(env(tc.env))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.channels, c.Channels)
			require.Equal(t, tc.autoRoutes, c.AutoRoutes)
			require.Equal(t, tc.recon, c.ReconChannels)
			require.Equal(t, tc.stripeWebhook, c.StripeWebhookSecret)
			require.Equal(t, tc.banksimSecretWant, c.BanksimCallbackSecret)
			if tc.walletSecrets != nil {
				require.Equal(t, tc.walletSecrets, c.WalletNotifySecrets)
			}
			for _, ch := range KnownChannels {
				require.Equal(t, strings.Contains(strings.Join(tc.channels, ","), ch), c.ChannelEnabled(ch), ch)
			}
		})
	}
}
