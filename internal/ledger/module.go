package ledger

import (
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/store"
)

// Module provides the Ledger, with the group commit of PAYFLOW_LEDGER_GROUP.
var Module = fx.Module("ledger", fx.Provide(func(db *store.DB, cfg config.Config) *Ledger {
	l := New(db)
	l.SetGroup(cfg.LedgerGroup, cfg.LedgerGroupSlots)
	return l
}))
