package store

import (
	"context"

	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/secretbox"
)

// Module provides the database handle (closed on stop) and the Store.
var Module = fx.Module("store",
	fx.Provide(
		func(lc fx.Lifecycle, cfg config.Config) (*DB, error) {
			db, err := Open(cfg.DBDSN, cfg.DBMaxOpenConns)
			if err != nil {
				return nil, err
			}
			lc.Append(fx.StopHook(func(context.Context) error { return db.Close() }))
			return db, nil
		},
		func(cfg config.Config) (*secretbox.Box, error) { return secretbox.New(cfg.SecretsKey) },
		New,
	),
)
