package sim

import (
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/config"
)

// Module contributes the banksim channel to the registry when it is configured
// (PAYFLOW_CHANNELS), and nothing otherwise: an unconfigured channel is neither
// offered to merchants nor given a callback route.
var Module = fx.Module("bank-sim",
	fx.Provide(fx.Annotate(
		func(cfg config.Config) []bank.Channel {
			if !cfg.ChannelEnabled(Name) {
				return nil
			}
			return []bank.Channel{New(cfg.BanksimURL, cfg.PublicURL+"/v1/callbacks/"+Name, cfg.BankTimeout)}
		},
		fx.ResultTags(`group:"channels,flatten"`),
	)),
)
