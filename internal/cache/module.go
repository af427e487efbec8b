package cache

import (
	"context"
	"io"

	"github.com/sirupsen/logrus"
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/config"
)

// Module provides the Cache of PAYFLOW_REDIS_URL (Memory when it is empty). At start
// it pings Redis and only warns when it does not answer: the process runs on misses
// until Redis is back. At stop it closes the pool.
var Module = fx.Module("cache",
	fx.Provide(func(lc fx.Lifecycle, cfg config.Config, log *logrus.Entry) (Cache, error) {
		c, err := New(cfg.RedisURL, log)
		if err != nil {
			return nil, err
		}
		lc.Append(fx.Hook{
			OnStart: func(ctx context.Context) error {
				if err := c.Ping(ctx); err != nil {
					log.WithError(err).Warn("cache: redis does not answer; every lookup misses until it does")
				}
				return nil
			},
			OnStop: func(context.Context) error {
				if cl, ok := c.(io.Closer); ok {
					return cl.Close()
				}
				return nil
			},
		})
		return c, nil
	}),
)
