package ledger

import "go.uber.org/fx"

// Module provides the Ledger.
var Module = fx.Module("ledger", fx.Provide(New))
