package sim

import (
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/config"
)

// Module contributes the banksim channel to the registry.
var Module = fx.Module("bank-sim",
	fx.Provide(fx.Annotate(
		func(cfg config.Config) bank.Channel {
			return New(cfg.BanksimURL, cfg.PublicURL+"/v1/callbacks/"+Name, cfg.BankTimeout)
		},
		fx.ResultTags(`group:"channels"`),
	)),
)
