package cache

import (
	"context"
	"time"

	"github.com/payflow/payflow/internal/metrics"
)

// instrumented counts every call of its Cache in payflow_cache_requests_total, so
// that a hit ratio falling (or errors rising: Redis down) shows on the dashboard.
type instrumented struct {
	Cache
	m *metrics.Metrics
}

// Instrument returns c counting its calls in m; a nil m is c itself.
func Instrument(c Cache, m *metrics.Metrics) Cache {
	if m == nil {
		return c
	}
	return instrumented{Cache: c, m: m}
}

func (i instrumented) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, ok, err := i.Cache.Get(ctx, key)
	result := "miss"
	switch {
	case err != nil:
		result = "error"
	case ok:
		result = "hit"
	}
	i.m.CacheRequest(i.Name(), "get", result)
	return v, ok, err
}

func (i instrumented) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	err := i.Cache.Set(ctx, key, value, ttl)
	i.m.CacheRequest(i.Name(), "set", okOrError(err))
	return err
}

func (i instrumented) Delete(ctx context.Context, key string) error {
	err := i.Cache.Delete(ctx, key)
	i.m.CacheRequest(i.Name(), "delete", okOrError(err))
	return err
}

// Close closes the underlying cache when it has a pool to close (Redis).
func (i instrumented) Close() error {
	if c, ok := i.Cache.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

func okOrError(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}
