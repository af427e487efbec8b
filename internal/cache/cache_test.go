package cache

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sirupsen/logrus"
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/metrics"
)

// testRedisURL is the Redis the tests use: PAYFLOW_TEST_REDIS_URL, else the local
// one. Without it the tests fail (make test and .ci/run start it), they never skip.
func testRedisURL() string {
	if u := os.Getenv("PAYFLOW_TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// flushDB is the database TestRedisFlushMakesMisses empties: not the one the other
// tests (or anyone else on a shared Redis) use.
const flushDB = 15

func quietLog() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// rawRedis is a plain client of the test Redis in database db (-1: the URL's own).
func rawRedis(t *testing.T, db int) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(testRedisURL())
	if err != nil {
		t.Fatalf("PAYFLOW_TEST_REDIS_URL: %v", err)
	}
	if db >= 0 {
		opts.DB = db
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newTestRedis is a Redis cache of the test Redis (database db, -1: the URL's) under
// a prefix of this test alone; it fails the test when Redis does not answer, and
// deletes the test's keys at the end.
func newTestRedis(t *testing.T, db int) *Redis {
	t.Helper()
	opts, err := redis.ParseURL(testRedisURL())
	if err != nil {
		t.Fatalf("PAYFLOW_TEST_REDIS_URL: %v", err)
	}
	if db >= 0 {
		opts.DB = db
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "payflowtest:" + strings.NewReplacer("/", ".", " ", "_").Replace(t.Name()) + ":" + hex.EncodeToString(b[:]) + ":"
	r := newRedis(opts, prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := r.Ping(ctx); err != nil {
		_ = r.Close()
		t.Fatalf("Redis is not reachable at %s (set PAYFLOW_TEST_REDIS_URL to move it; make test and .ci/run need it): %v", opts.Addr, err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		iter := r.c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			_ = r.c.Del(ctx, iter.Val()).Err()
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleaning up %s*: %v", prefix, err)
		}
		_ = r.Close()
	})
	return r
}

// implementations are both caches, each fresh for t.
func implementations(t *testing.T) []Cache {
	return []Cache{NewMemory(100), newTestRedis(t, -1)}
}

func TestCacheContract(t *testing.T) {
	ctx := context.Background()
	type step struct {
		op      string // get, set, del
		key     string
		value   string
		ttl     time.Duration
		wantHit bool
		wantErr error
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"absent key misses", []step{{op: "get", key: "a"}}},
		{"set then get", []step{{op: "set", key: "a", value: "1", ttl: time.Minute}, {op: "get", key: "a", value: "1", wantHit: true}}},
		{"overwrite", []step{
			{op: "set", key: "a", value: "1", ttl: time.Minute}, {op: "set", key: "a", value: "two", ttl: time.Minute},
			{op: "get", key: "a", value: "two", wantHit: true},
		}},
		{"delete", []step{
			{op: "set", key: "a", value: "1", ttl: time.Minute}, {op: "del", key: "a"}, {op: "get", key: "a"},
		}},
		{"delete absent", []step{{op: "del", key: "nothing"}}},
		{"keys are distinct", []step{
			{op: "set", key: "a", value: "1", ttl: time.Minute}, {op: "get", key: "A"}, {op: "get", key: "a ", wantHit: false},
		}},
		{"empty value is a hit", []step{{op: "set", key: "e", value: "", ttl: time.Minute}, {op: "get", key: "e", value: "", wantHit: true}}},
		{"binary value", []step{{op: "set", key: "b", value: "\x00\xff\r\n", ttl: time.Minute}, {op: "get", key: "b", value: "\x00\xff\r\n", wantHit: true}}},
		{"zero ttl refused", []step{{op: "set", key: "z", value: "1", ttl: 0, wantErr: ErrTTL}, {op: "get", key: "z"}}},
		{"negative ttl refused", []step{{op: "set", key: "z", value: "1", ttl: -time.Second, wantErr: ErrTTL}, {op: "get", key: "z"}}},
	}
	for _, c := range implementations(t) {
		for i, tc := range tests {
			t.Run(c.Name()+"/"+tc.name, func(t *testing.T) {
				// Each case its own keys.
				k := func(s string) string { return fmt.Sprintf("case%d:%s", i, s) }
				for n, s := range tc.steps {
					switch s.op {
					case "set":
						if err := c.Set(ctx, k(s.key), []byte(s.value), s.ttl); !errors.Is(err, s.wantErr) {
							t.Fatalf("step %d: Set(%q) = %v, want %v", n, s.key, err, s.wantErr)
						}
					case "del":
						if err := c.Delete(ctx, k(s.key)); err != nil {
							t.Fatalf("step %d: Delete(%q) = %v", n, s.key, err)
						}
					case "get":
						v, ok, err := c.Get(ctx, k(s.key))
						if err != nil || ok != s.wantHit || (ok && !bytes.Equal(v, []byte(s.value))) {
							t.Fatalf("step %d: Get(%q) = %q, %v, %v; want %q, %v, nil", n, s.key, v, ok, err, s.value, s.wantHit)
						}
					}
				}
			})
		}
		if err := c.Ping(ctx); err != nil {
			t.Errorf("%s: Ping = %v", c.Name(), err)
		}
	}
}

// An entry is a hit until its TTL has passed and a miss after; a Set renews it.
func TestCacheTTL(t *testing.T) {
	ctx := context.Background()
	for _, c := range implementations(t) {
		t.Run(c.Name(), func(t *testing.T) {
			const ttl = 300 * time.Millisecond
			start := time.Now()
			for _, k := range []string{"short", "renewed"} {
				if err := c.Set(ctx, k, []byte("v"), ttl); err != nil {
					t.Fatal(err)
				}
			}
			if _, ok, err := c.Get(ctx, "short"); !ok || err != nil {
				if time.Since(start) < ttl {
					t.Fatalf("Get before the TTL: hit %v, err %v", ok, err)
				}
			}
			time.Sleep(ttl / 2)
			if err := c.Set(ctx, "renewed", []byte("v2"), 10*time.Second); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Until(start.Add(ttl + 200*time.Millisecond)))
			if v, ok, err := c.Get(ctx, "short"); ok || err != nil {
				t.Fatalf("Get after the TTL = %q, %v, %v; want a miss", v, ok, err)
			}
			if v, ok, err := c.Get(ctx, "renewed"); !ok || err != nil || string(v) != "v2" {
				t.Fatalf("Get of the renewed entry = %q, %v, %v; want v2", v, ok, err)
			}
		})
	}
}

// Redis emptied under the cache (FLUSHDB, a restart without persistence, an
// eviction) is a miss, not an error, and the cache works on.
func TestRedisFlushMakesMisses(t *testing.T) {
	ctx := context.Background()
	r := newTestRedis(t, flushDB)
	for i := range 5 {
		if err := r.Set(ctx, fmt.Sprint(i), []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, err := r.Get(ctx, "0"); !ok || err != nil {
		t.Fatalf("Get before the flush: %v, %v", ok, err)
	}
	if err := rawRedis(t, flushDB).FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if v, ok, err := r.Get(ctx, fmt.Sprint(i)); ok || err != nil {
			t.Fatalf("Get(%d) after FLUSHDB = %q, %v, %v; want a miss without error", i, v, ok, err)
		}
	}
	if err := r.Set(ctx, "0", []byte("again"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := r.Get(ctx, "0"); !ok || err != nil || string(v) != "again" {
		t.Fatalf("Get after setting again = %q, %v, %v", v, ok, err)
	}
}

// Keys are stored under the prefix, and another prefix does not see them.
func TestRedisPrefix(t *testing.T) {
	ctx := context.Background()
	a, b := newTestRedis(t, -1), newTestRedis(t, -1)
	if err := a.Set(ctx, "k", []byte("a's"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, err := rawRedis(t, -1).Get(ctx, a.prefix+"k").Result(); err != nil || v != "a's" {
		t.Fatalf("raw GET %sk = %q, %v", a.prefix, v, err)
	}
	if v, ok, err := b.Get(ctx, "k"); ok || err != nil {
		t.Fatalf("another prefix sees the key: %q, %v, %v", v, ok, err)
	}
}

// A Redis that is down (nothing listens) or stalled (accepts, never answers)
// answers every call with an error in bounded time; it never hangs.
func TestRedisDownAnswersErrorsQuickly(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	_ = closed.Close()

	stalled, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := stalled.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = stalled.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})

	// At most a dial and a read timeout, with room for a loaded machine.
	const bound = RedisDialTimeout + RedisReadTimeout + 1500*time.Millisecond
	for name, addr := range map[string]string{"closed port": closedAddr, "stalled server": stalled.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			r, err := NewRedis("redis://"+addr+"/0", "payflowtest:")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ctx := context.Background()
			calls := map[string]func() error{
				"get": func() error {
					_, ok, err := r.Get(ctx, "k")
					if ok {
						t.Error("Get of an unreachable Redis is a hit")
					}
					return err
				},
				"set":    func() error { return r.Set(ctx, "k", []byte("v"), time.Minute) },
				"delete": func() error { return r.Delete(ctx, "k") },
				"ping":   func() error { return r.Ping(ctx) },
			}
			for op, call := range calls {
				start := time.Now()
				err := call()
				if took := time.Since(start); took > bound {
					t.Errorf("%s took %v (bound %v)", op, took, bound)
				}
				if err == nil {
					t.Errorf("%s of an unreachable Redis answered no error", op)
				}
			}
		})
	}
}

func TestMemoryEvictsLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(3)
	for _, k := range []string{"a", "b", "c"} {
		if err := m.Set(ctx, k, []byte(k), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := m.Get(ctx, "a"); !ok { // a is now the most recent; b the least
		t.Fatal("a missing")
	}
	if err := m.Set(ctx, "d", []byte("d"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if m.Len() != 3 {
		t.Fatalf("Len = %d, want 3", m.Len())
	}
	for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, ok, _ := m.Get(ctx, k); ok != want {
			t.Errorf("%s: hit %v, want %v", k, ok, want)
		}
	}
}

// Expiry on a controlled clock: a hit up to the instant before expiry, a miss from
// it, and the expired entry is dropped.
func TestMemoryExpiryExact(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_000_000, 0)
	m := NewMemory(10)
	m.now = func() time.Time { return now }
	if err := m.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute - time.Nanosecond)
	if _, ok, _ := m.Get(ctx, "k"); !ok {
		t.Fatal("miss before the TTL")
	}
	now = now.Add(time.Nanosecond)
	if _, ok, _ := m.Get(ctx, "k"); ok {
		t.Fatal("hit at the TTL")
	}
	if m.Len() != 0 {
		t.Fatalf("the expired entry is still held: Len = %d", m.Len())
	}
}

// Memory holds copies: changing the slice given to Set or returned by Get changes
// nothing cached (Redis behaves so by nature).
func TestMemoryCopies(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(10)
	in := []byte("abc")
	if err := m.Set(ctx, "k", in, time.Minute); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	out, _, _ := m.Get(ctx, "k")
	out[1] = 'Y'
	if again, _, _ := m.Get(ctx, "k"); string(again) != "abc" {
		t.Fatalf("cached value changed to %q", again)
	}
}

// Concurrent use (run with -race) keeps the bound.
func TestMemoryConcurrent(t *testing.T) {
	ctx := context.Background()
	m := NewMemory(50)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := fmt.Sprint((g*7 + i) % 120)
				switch i % 3 {
				case 0:
					_ = m.Set(ctx, k, []byte(k), time.Minute)
				case 1:
					if v, ok, _ := m.Get(ctx, k); ok && string(v) != k {
						t.Errorf("Get(%s) = %q", k, v)
					}
				case 2:
					_ = m.Delete(ctx, k)
				}
			}
		}()
	}
	wg.Wait()
	if m.Len() > 50 {
		t.Fatalf("Len = %d over the bound 50", m.Len())
	}
}

func TestNew(t *testing.T) {
	c, err := New("", quietLog())
	if err != nil || c.Name() != "memory" {
		t.Fatalf(`New("") = %v, %v; want memory`, c, err)
	}
	c, err = New("redis://127.0.0.1:6379/3", quietLog())
	if err != nil || c.Name() != "redis" {
		t.Fatalf("New(redis://...) = %v, %v; want redis", c, err)
	}
	r := c.(*Redis)
	defer r.Close()
	if r.prefix != KeyPrefix || r.opts.DB != 3 || r.opts.DialTimeout != RedisDialTimeout || r.opts.ReadTimeout != RedisReadTimeout {
		t.Fatalf("New(redis://...): prefix %q db %d dial %v read %v", r.prefix, r.opts.DB, r.opts.DialTimeout, r.opts.ReadTimeout)
	}
	for _, bad := range []string{"http://127.0.0.1:6379", "redis://127.0.0.1:6379/notadb", "redis://user:s3cretpw@127.0.0.1:notaport/0", "redis://127.0.0.1:6379/0?bogus=1"} {
		_, err := New(bad, quietLog())
		if err == nil {
			t.Errorf("New(%q) accepted it", bad)
			continue
		}
		if strings.Contains(err.Error(), "s3cretpw") {
			t.Errorf("New(%q)'s error shows the password: %v", bad, err)
		}
	}
}

// Module provides the Cache of the configuration.
func TestModule(t *testing.T) {
	for url, want := range map[string]string{"": "memory", testRedisURL(): "redis"} {
		var c Cache
		m := metrics.New()
		app := fx.New(fx.NopLogger, fx.Supply(config.Config{RedisURL: url}, quietLog(), m), Module, fx.Populate(&c))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := app.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if c.Name() != want {
			t.Errorf("PAYFLOW_REDIS_URL %q: cache %s, want %s", url, c.Name(), want)
		}
		if err := c.Ping(ctx); err != nil {
			t.Errorf("PAYFLOW_REDIS_URL %q: Ping = %v", url, err)
		}
		if _, _, err := c.Get(ctx, "payflowtest:module:absent"); err != nil {
			t.Errorf("PAYFLOW_REDIS_URL %q: Get = %v", url, err)
		}
		if n := counterValue(t, m, want, "get", "miss"); n != 1 {
			t.Errorf("PAYFLOW_REDIS_URL %q: the module's cache is not counted in the process's metrics (%v misses)", url, n)
		}
		if err := app.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
}

// Instrument counts each call by cache, op and result, and passes the answers on.
func TestInstrument(t *testing.T) {
	ctx := context.Background()
	m := metrics.New()
	for _, inner := range implementations(t) {
		c := Instrument(inner, m)
		_, _, _ = c.Get(ctx, "absent")
		_ = c.Set(ctx, "k", []byte("v"), time.Minute)
		if v, ok, err := c.Get(ctx, "k"); !ok || err != nil || string(v) != "v" {
			t.Fatalf("%s: instrumented Get = %q, %v, %v", inner.Name(), v, ok, err)
		}
		_ = c.Set(ctx, "k", []byte("v"), 0) // refused: an error
		_ = c.Delete(ctx, "k")
	}
	down, err := NewRedis("redis://127.0.0.1:1/0", "payflowtest:")
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	if _, ok, err := Instrument(down, m).Get(ctx, "k"); ok || err == nil {
		t.Fatalf("Get of a Redis that is down = %v, %v; want an error", ok, err)
	}
	for _, name := range []string{"memory", "redis"} {
		for _, want := range []struct {
			op, result string
			n          float64
		}{{"get", "hit", 1}, {"get", "miss", 1}, {"set", "ok", 1}, {"set", "error", 1}, {"delete", "ok", 1}} {
			if got := counterValue(t, m, name, want.op, want.result); got != want.n {
				t.Errorf("%s %s %s: %v, want %v", name, want.op, want.result, got, want.n)
			}
		}
	}
	if got := counterValue(t, m, "redis", "get", "error"); got != 1 {
		t.Errorf("redis get error: %v, want 1", got)
	}
	if Instrument(NewMemory(1), nil).Name() != "memory" {
		t.Error("Instrument with no metrics changed the cache")
	}
}

// counterValue is payflow_cache_requests_total{cache, op, result} in m (0 if absent).
func counterValue(t *testing.T, m *metrics.Metrics, cache, op, result string) float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != metrics.NameCacheRequestsTotal {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["cache"] == cache && labels["op"] == op && labels["result"] == result {
				return s.GetCounter().GetValue()
			}
		}
	}
	return 0
}
