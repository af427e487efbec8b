package bank

import "go.uber.org/fx"

// Module provides the channel registry from the channels other modules contribute to
// the "channels" value group.
var Module = fx.Module("bank",
	fx.Provide(fx.Annotate(NewRegistry, fx.ParamTags(`group:"channels"`))),
)
