package auto

import (
	"fmt"

	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/config"
)

// Module adds the auto channel to the registry. The router needs the channels it
// routes, which the registry is built from, so it cannot join the "channels" group
// (a cycle): it decorates the registry instead, with a new registry holding every
// channel and the router.
//
// Module is fx.Options on purpose, not fx.Module: a decoration inside fx.Module is
// seen only inside that module, and every consumer of *bank.Registry (the API's
// channel list, the worker's activities) must see the auto channel.
var Module = fx.Options(fx.Decorate(Decorate))

// Decorate returns a registry of reg's channels and the router over them, with the
// routes of cfg.AutoRoutes.
func Decorate(reg *bank.Registry, cfg config.Config) (*bank.Registry, error) {
	routes, err := ParseRoutes(cfg.AutoRoutes)
	if err != nil {
		return nil, fmt.Errorf("PAYFLOW_AUTO_ROUTES: %w", err)
	}
	router, err := New(routes, reg.Get)
	if err != nil {
		return nil, fmt.Errorf("PAYFLOW_AUTO_ROUTES: %w", err)
	}
	out := bank.NewRegistry(router)
	for _, name := range reg.Names() {
		ch, err := reg.Get(name)
		if err != nil {
			return nil, err
		}
		out.Add(ch)
	}
	return out, nil
}
