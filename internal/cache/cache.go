// Package cache is payflow's cache: Redis when PAYFLOW_REDIS_URL names one, else a
// bounded in-process map. Redis is the cache, never storage: nothing is kept only
// here, every entry has a TTL, and whatever is cached can be recomputed from the
// database or a bank. Hence the rule for callers: any error from Get is a miss
// (recompute, and log the error without the key's elements), and an error from Set
// or Delete costs only a later recomputation. A Redis that is down answers errors
// within its short timeouts, never hangs a request.
//
// Keys must not hold personal data (card numbers, ID numbers, phones, names): key a
// value about identity elements by models.IdentityKey.
package cache

import (
	"context"
	"errors"
	"time"

	"github.com/sirupsen/logrus"
)

// Cache is a byte cache with a TTL per entry.
type Cache interface {
	// Get returns the value of key and true, or false on a miss (absent or expired).
	// An error (Redis unreachable or slow) must be treated as a miss.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Set stores value under key for ttl, which must be positive: a cache entry that
	// never expires would be storage.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes key; deleting an absent key is no error.
	Delete(ctx context.Context, key string) error
	// Ping reports whether the cache answers (always nil for Memory).
	Ping(ctx context.Context) error
	// Name is "redis" or "memory", for logs and health output.
	Name() string
}

// KeyPrefix is put before every key payflow stores in Redis, so that payflow's keys
// are told apart from another application's on a shared Redis (and tests use their
// own prefix).
const KeyPrefix = "payflow:"

// DefaultMemoryEntries bounds the in-process cache.
const DefaultMemoryEntries = 10000

// ErrTTL is Set's answer to a ttl that is not positive.
var ErrTTL = errors.New("cache: the ttl must be positive (an entry that never expires is storage, not cache)")

// New returns Redis at url (redis://[user:password@]host:port/db, or rediss:// for
// TLS) with KeyPrefix, or, when url is empty, a Memory of DefaultMemoryEntries. It
// does not connect: a Redis that is down at start makes Gets miss, it does not stop
// the process.
func New(url string, log *logrus.Entry) (Cache, error) {
	if url == "" {
		log.WithField("cache", "memory").Info("cache: in-process (PAYFLOW_REDIS_URL is empty)")
		return NewMemory(DefaultMemoryEntries), nil
	}
	r, err := NewRedis(url, KeyPrefix)
	if err != nil {
		return nil, err
	}
	// The address and database only: the URL may carry a password.
	log.WithFields(logrus.Fields{"cache": "redis", "addr": r.opts.Addr, "db": r.opts.DB}).Info("cache: redis")
	return r, nil
}

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return ErrTTL
	}
	return nil
}
