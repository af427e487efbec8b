package auto

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/config"
)

// Wired as cmd/payflow wires it, the router is in the registry every other module
// sees, next to the channels it routes.
func TestModuleAddsTheRouterToTheRegistry(t *testing.T) {
	tests := []struct {
		name    string
		routes  string
		want    []string
		wantErr string
	}{
		{"default routes", DefaultRoutes, []string{"auto", "banksim", "stripe"}, ""},
		{"a route to a channel that does not exist", `[{"channels":["paypal"]}]`, nil, "PAYFLOW_AUTO_ROUTES"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var names []string
			app := fx.New(fx.NopLogger,
				fx.Supply(config.Config{AutoRoutes: tc.routes}),
				bank.Module,
				fx.Module("channels",
					fx.Provide(
						fx.Annotate(func() bank.Channel { return &fakeChannel{name: "banksim"} }, fx.ResultTags(`group:"channels"`)),
						fx.Annotate(func() bank.Channel { return &fakeChannel{name: "stripe"} }, fx.ResultTags(`group:"channels"`)),
					),
				),
				Module,
				fx.Module("consumer", fx.Invoke(func(r *bank.Registry) { names = r.Names() })),
			)
			if tc.wantErr != "" {
				require.ErrorContains(t, app.Err(), tc.wantErr)
				return
			}
			require.NoError(t, app.Err())
			require.Equal(t, tc.want, names)
		})
	}
}

// The configuration's default is the router's documented default.
func TestConfigDefaultIsDefaultRoutes(t *testing.T) {
	t.Setenv("PAYFLOW_AUTO_ROUTES", "")
	cfg, err := config.Load()
	require.NoError(t, err)
	require.Equal(t, DefaultRoutes, cfg.AutoRoutes)
}
