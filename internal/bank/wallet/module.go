package wallet

import (
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/config"
)

// Module contributes each configured wallet provider (PAYFLOW_CHANNELS) to the
// registry, served by the simulator at PAYFLOW_BANKSIM_URL, its notifications
// sent to /v1/callbacks/{provider} on the public URL. An unconfigured provider
// is neither offered nor given a callback route.
var Module = fx.Module("bank-wallet",
	fx.Provide(fx.Annotate(Channels, fx.ResultTags(`group:"channels,flatten"`))),
)

// Channels returns the adapters of the wallet providers cfg enables.
func Channels(cfg config.Config) []bank.Channel {
	var out []bank.Channel
	for _, p := range Providers {
		if cfg.ChannelEnabled(p) {
			out = append(out, New(p, cfg.BanksimURL, cfg.PublicURL+"/v1/callbacks/"+p, cfg.BankTimeout))
		}
	}
	return out
}
