package wallet

import (
	"fmt"

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

// Get returns the registered wallet provider name as a TradeChannel, or
// bank.ErrUnknownChannel when it is not registered or is not a wallet provider.
func Get(reg *bank.Registry, name string) (TradeChannel, error) {
	ch, err := reg.Get(name)
	if err != nil {
		return nil, err
	}
	tc, ok := ch.(TradeChannel)
	if !ok {
		return nil, fmt.Errorf("%w: %q is not a wallet provider", bank.ErrUnknownChannel, name)
	}
	return tc, nil
}
