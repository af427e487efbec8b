package stripe

import (
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/config"
)

// Module contributes the stripe channel to the registry when it is configured
// (PAYFLOW_CHANNELS), and nothing otherwise.
var Module = fx.Module("bank-stripe",
	fx.Provide(fx.Annotate(
		func(cfg config.Config) ([]bank.Channel, error) {
			if !cfg.ChannelEnabled(Name) {
				return nil, nil
			}
			ch, err := New(Options{BaseURL: cfg.StripeURL, APIKey: cfg.StripeAPIKey, Timeout: cfg.BankTimeout})
			if err != nil {
				return nil, err
			}
			return []bank.Channel{ch}, nil
		},
		fx.ResultTags(`group:"channels,flatten"`),
	)),
)
