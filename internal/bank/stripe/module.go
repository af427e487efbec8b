package stripe

import (
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/config"
)

// Module contributes the stripe channel to the registry.
var Module = fx.Module("bank-stripe",
	fx.Provide(fx.Annotate(
		func(cfg config.Config) (bank.Channel, error) {
			return New(Options{BaseURL: cfg.StripeURL, APIKey: cfg.StripeAPIKey, Timeout: cfg.BankTimeout})
		},
		fx.ResultTags(`group:"channels"`),
	)),
)
