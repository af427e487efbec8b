package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/harness/devstack"
)

// startRedis starts a redis-server of the test's own on a free port (saving nothing
// unless args say otherwise) and answers its URL; it is shut down at the end.
func startRedis(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	port, err := devstack.FreePort()
	require.NoError(t, err)
	all := append([]string{"--daemonize", "yes", "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--dir", t.TempDir(),
		"--save", "", "--appendonly", "no"}, args...)
	out, err := exec.Command("redis-server", all...).CombinedOutput()
	require.NoError(t, err, "%s", out)
	url := fmt.Sprintf("redis://127.0.0.1:%d/3", port)
	opts, err := redis.ParseURL(url)
	require.NoError(t, err)
	c := redis.NewClient(opts)
	require.Eventually(t, func() bool { return c.Ping(context.Background()).Err() == nil }, 10*time.Second, 50*time.Millisecond)
	t.Cleanup(func() {
		// Whichever server listens there now (the test's, or the one kill/start
		// put in its place) is the test's own.
		_ = c.ShutdownNoSave(context.Background()).Err()
		_ = c.Close()
	})
	return url
}

// The killer shuts a Redis down, the port refuses connections until it starts it
// again, and the restarted one answers and keeps no data.
func TestRedisKiller(t *testing.T) {
	ctx := context.Background()
	url := startRedis(t)
	k, why := newRedisKiller(ctx, url)
	require.NotNil(t, k, why)

	opts, _ := redis.ParseURL(url)
	c := redis.NewClient(opts)
	defer c.Close()
	require.NoError(t, c.Set(ctx, "chaos-test", "1", time.Minute).Err())

	require.NoError(t, k.kill(ctx))
	assert.False(t, k.down.IsZero())
	_, err := net.DialTimeout("tcp", k.addr, time.Second)
	require.Error(t, err, "the port refuses connections while Redis is down")

	require.NoError(t, k.start(ctx))
	assert.True(t, k.down.IsZero())
	require.NoError(t, c.Ping(ctx).Err())
	_, err = c.Get(ctx, "chaos-test").Result()
	assert.ErrorIs(t, err, redis.Nil, "SHUTDOWN NOSAVE kept nothing")
}

// A Redis the run cannot use, or must not kill, is left alone, and the reason said.
func TestRedisKillerRefuses(t *testing.T) {
	ctx := context.Background()
	port, err := devstack.FreePort()
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		url, want string
	}{
		"no url":       {"", "no PAYFLOW_REDIS_URL"},
		"bad url":      {"http://x", "does not parse"},
		"nobody there": {fmt.Sprintf("redis://127.0.0.1:%d/0", port), "no Redis answers on 127.0.0.1:"},
		"persisting":   {startRedis(t, "--save", "900 1"), "persists its data"},
		"append only":  {startRedis(t, "--appendonly", "yes"), "persists its data"},
	} {
		t.Run(name, func(t *testing.T) {
			k, why := newRedisKiller(ctx, tc.url)
			assert.Nil(t, k)
			assert.Contains(t, why, tc.want)
		})
	}
}
