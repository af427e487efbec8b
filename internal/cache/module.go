package cache

import (
	"context"
	"io"

	"github.com/sirupsen/logrus"
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/metrics"
)

// Params are Module's dependencies; the process's Metrics is optional (a process
// without metrics.Module gets an uncounted cache).
type Params struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    config.Config
	Log       *logrus.Entry
	Metrics   *metrics.Metrics `optional:"true"`
}

// Module provides the Cache of PAYFLOW_REDIS_URL (Memory when it is empty), counted
// in payflow_cache_requests_total when the process has metrics. At start it pings
// Redis and only warns when it does not answer: the process runs on misses until
// Redis is back. At stop it closes the pool.
var Module = fx.Module("cache",
	fx.Provide(func(p Params) (Cache, error) {
		lc, log := p.Lifecycle, p.Log
		c, err := New(p.Config.RedisURL, log)
		if err != nil {
			return nil, err
		}
		c = Instrument(c, p.Metrics)
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
