package cache

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"time"

	"github.com/redis/go-redis/v9"
)

// Timeouts of the Redis client, short because a cache that is slow is worse than a
// miss: a request waits at most about DialTimeout + ReadTimeout on a Redis that is
// down or stalled, then recomputes. A URL's own dial_timeout, read_timeout,
// write_timeout or pool_timeout query parameters take precedence.
const (
	RedisDialTimeout  = time.Second
	RedisReadTimeout  = 500 * time.Millisecond
	RedisWriteTimeout = 500 * time.Millisecond
	RedisPoolTimeout  = time.Second
)

// Redis is the Cache on a Redis server (go-redis v9: RESP3, a connection pool,
// timeouts). Every key is stored under its prefix.
type Redis struct {
	c      *redis.Client
	opts   *redis.Options
	prefix string
}

// NewRedis returns a Redis client of url (redis.ParseURL: redis://[user:password@]
// host:port/db, rediss:// for TLS) whose keys are prefixed by prefix. It does not
// connect; Ping does.
func NewRedis(url, prefix string) (*Redis, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		// net/url's errors quote the whole URL, and it may hold a password: only
		// what is wrong with it is reported.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cache: PAYFLOW_REDIS_URL: %w", err)
	}
	return newRedis(opts, prefix), nil
}

func newRedis(opts *redis.Options, prefix string) *Redis {
	if opts.DialTimeout == 0 {
		opts.DialTimeout = RedisDialTimeout
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = RedisReadTimeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = RedisWriteTimeout
	}
	if opts.PoolTimeout == 0 {
		opts.PoolTimeout = RedisPoolTimeout
	}
	// One dial and no retry: the defaults (5 dials, 3 retries with backoff) would turn
	// a Redis that is down into seconds per Get. A failed command is a miss; the next
	// one dials again.
	opts.DialerRetries = 1
	opts.MaxRetries = -1
	// A caller's deadline shorter than the timeouts is honoured too.
	opts.ContextTimeoutEnabled = true
	return &Redis{c: redis.NewClient(opts), opts: opts, prefix: prefix}
}

func (r *Redis) key(k string) string { return r.prefix + k }

func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	v, err := r.c.Get(ctx, r.key(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache: redis get: %w", err)
	}
	return v, true, nil
}

func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	if err := r.c.Set(ctx, r.key(key), value, ttl).Err(); err != nil {
		return fmt.Errorf("cache: redis set: %w", err)
	}
	return nil
}

func (r *Redis) Delete(ctx context.Context, key string) error {
	if err := r.c.Del(ctx, r.key(key)).Err(); err != nil {
		return fmt.Errorf("cache: redis delete: %w", err)
	}
	return nil
}

func (r *Redis) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cache: redis ping %s: %w", r.opts.Addr, err)
	}
	return nil
}

func (r *Redis) Name() string { return "redis" }

// Close closes the connection pool.
func (r *Redis) Close() error { return r.c.Close() }
