package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/payflow/payflow/internal/harness/chaos"
)

// redisKiller shuts down the Redis the run's processes cache verification answers in
// (their PAYFLOW_REDIS_URL) and starts it again, as make run's Redis is started.
type redisKiller struct {
	// addr is the server's host:port; dir its working directory (kept on restart).
	addr, dir string
	opts      *redis.Options
	// down is when it was shut down and not restarted yet (zero: up).
	down time.Time
}

// newRedisKiller looks at the Redis of url: whether the run uses it (it answers) and
// whether it can be killed and started again here. It answers nil and why not
// otherwise: the run then keeps its identity mix and only skips the kill.
func newRedisKiller(ctx context.Context, url string) (*redisKiller, string) {
	if url == "" {
		return nil, "the processes have no PAYFLOW_REDIS_URL: each worker caches in process"
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, "PAYFLOW_REDIS_URL does not parse"
	}
	host, port, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, "PAYFLOW_REDIS_URL has no host:port"
	}
	c := redis.NewClient(opts)
	defer c.Close()
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		return nil, fmt.Sprintf("no Redis answers on %s: every lookup misses, nothing to kill", opts.Addr)
	}
	if host != "127.0.0.1" && host != "localhost" {
		return nil, fmt.Sprintf("the Redis on %s is not this machine's: it cannot be started again here", opts.Addr)
	}
	if opts.Password != "" || opts.TLSConfig != nil {
		return nil, "the Redis needs a password or TLS, which a restart here would not set up"
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, "redis-server is not installed: Redis could not be started again"
	}
	// A Redis that persists keeps someone's data: SHUTDOWN NOSAVE would lose it, and
	// the restart would not persist any more.
	cfg, err := c.ConfigGet(pctx, "*").Result()
	if err != nil {
		return nil, "CONFIG GET does not answer: " + err.Error()
	}
	if cfg["save"] != "" || cfg["appendonly"] == "yes" {
		return nil, fmt.Sprintf("the Redis on %s persists its data (save %q, appendonly %s): not shutting it down without saving", opts.Addr, cfg["save"], cfg["appendonly"])
	}
	k := &redisKiller{addr: net.JoinHostPort(host, port), dir: cfg["dir"], opts: opts}
	return k, ""
}

// kill shuts Redis down without saving (SHUTDOWN NOSAVE) and waits until its port
// refuses connections.
func (k *redisKiller) kill(ctx context.Context) error {
	// Sent once: the server closes the connection instead of answering when it
	// shuts down, and a retry would only find the port closed.
	opts := *k.opts
	opts.MaxRetries = -1
	c := redis.NewClient(&opts)
	defer c.Close()
	err := c.ShutdownNoSave(ctx).Err()
	if err != nil && !isClosed(err) {
		return fmt.Errorf("redis SHUTDOWN NOSAVE: %w", err)
	}
	k.down = time.Now()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", k.addr, 200*time.Millisecond)
		if err != nil {
			return nil
		}
		_ = conn.Close()
		if time.Now().After(deadline) {
			return fmt.Errorf("redis on %s still accepts connections 10 s after SHUTDOWN NOSAVE", k.addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// isClosed: the connection ended without an answer, as SHUTDOWN's does.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED)
}

// start starts Redis again as make run's is (daemonized, on 127.0.0.1, nothing
// saved), in its former working directory, and waits until it answers PING.
func (k *redisKiller) start(ctx context.Context) error {
	host, port, _ := net.SplitHostPort(k.addr)
	args := []string{"--daemonize", "yes", "--bind", host, "--port", port, "--save", "", "--appendonly", "no"}
	if k.dir != "" {
		args = append(args, "--dir", k.dir)
	}
	// --daemonize: the command returns once the server forked; it is nobody's child
	// here, as the one it replaces was not.
	if out, err := exec.CommandContext(ctx, "redis-server", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("redis-server: %v: %s", err, strings.TrimSpace(string(out)))
	}
	c := redis.NewClient(k.opts)
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := c.Ping(ctx).Err(); err == nil {
			k.down = time.Time{}
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("redis on %s does not answer 10 s after its restart: %w", k.addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// outage kills Redis, keeps it down at least minDown and until two verifications
// asked meanwhile have ended (at most 15 s more), and starts it again. It answers the
// outage and how many verifications were asked and ended in it.
func (r *run) redisOutage(ctx context.Context, tr *chaos.Tracker, minDown time.Duration) (chaos.Outage, error) {
	k := r.redis
	endedBefore := tr.VerificationsEndedSince(time.Time{})
	if err := k.kill(ctx); err != nil {
		return chaos.Outage{}, err
	}
	from := k.down
	r.say("shut Redis on %s down (SHUTDOWN NOSAVE) with %d verifications ended so far", k.addr, endedBefore)
	if err := sleep(ctx, minDown); err != nil {
		return chaos.Outage{}, err
	}
	for deadline := time.Now().Add(15 * time.Second); tr.VerificationsEndedSince(from) < 2 && time.Now().Before(deadline); {
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return chaos.Outage{}, err
		}
	}
	to := time.Now()
	during := tr.VerificationsEndedSince(from)
	if err := k.start(ctx); err != nil {
		return chaos.Outage{}, err
	}
	r.say("started Redis again on %s after %s down (%d verifications asked and ended meanwhile, answered by the bank)",
		k.addr, to.Sub(from).Round(100*time.Millisecond), during)
	return chaos.Outage{From: from, To: to}, nil
}
