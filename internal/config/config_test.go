package config

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestPayloadKeys(t *testing.T) {
	k1 := bytes.Repeat([]byte{1}, 32)
	k2 := bytes.Repeat([]byte{2}, 32)

	c, err := load(env(nil))
	require.NoError(t, err)
	require.Len(t, c.PayloadKeys, 1)
	require.Equal(t, "local-1", c.PayloadKeys[0].ID, "the local default is one public demo key")
	require.Len(t, c.PayloadKeys[0].Key, 32)

	c, err = load(env(map[string]string{
		"PAYFLOW_PAYLOAD_KEYS": "2026-01:" + hex.EncodeToString(k2) + ", 2025-01:" + base64.StdEncoding.EncodeToString(k1),
	}))
	require.NoError(t, err)
	require.Equal(t, []PayloadKey{{ID: "2026-01", Key: k2}, {ID: "2025-01", Key: k1}}, c.PayloadKeys, "the first is the newest")

	for name, v := range map[string]string{
		"no id":        ":" + hex.EncodeToString(k1),
		"no key":       "k1",
		"short key":    "k1:" + hex.EncodeToString(k1[:16]),
		"not a key":    "k1:not-a-key",
		"duplicate id": "k1:" + hex.EncodeToString(k1) + ",k1:" + hex.EncodeToString(k2),
		"bad id":       "k 1:" + hex.EncodeToString(k1),
	} {
		_, err := load(env(map[string]string{"PAYFLOW_PAYLOAD_KEYS": v}))
		require.Error(t, err, name)
		require.NotContains(t, err.Error(), hex.EncodeToString(k1), "%s: the error repeats the key", name)
	}
}

func TestCodecAndMetricsDefaults(t *testing.T) {
	c, err := load(env(nil))
	require.NoError(t, err)
	require.Equal(t, []string{"http://127.0.0.1:8233", "http://localhost:8233"}, c.CodecAllowedOrigins)
	require.False(t, c.CodecTrustLocalUI, "only payflow dev trusts the local Web UI")
	require.Equal(t, "127.0.0.1:9091", c.WorkerMetricsAddr)
	require.Equal(t, "5m0s", c.LedgerCheckInterval.String())

	_, err = load(env(map[string]string{"PAYFLOW_LEDGER_CHECK_INTERVAL": "-1m"}))
	require.Error(t, err)
}

func TestReconciliationSettings(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ReconAt != 2*time.Hour || strings.Join(c.ReconChannels, ",") != "banksim,alipaysim,wxpaysim" {
		t.Fatalf("defaults: at %s, channels %v", c.ReconAt, c.ReconChannels)
	}
	c, err = load(env(map[string]string{"PAYFLOW_RECON_AT": "23:45", "PAYFLOW_RECON_CHANNELS": "banksim, stripe"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.ReconAt != 23*time.Hour+45*time.Minute || len(c.ReconChannels) != 2 || c.ReconChannels[1] != "stripe" {
		t.Fatalf("at %s, channels %v", c.ReconAt, c.ReconChannels)
	}
	for _, bad := range []string{"2", "24:00", "02:60", "2am", "02:00:00"} {
		if _, err := load(env(map[string]string{"PAYFLOW_RECON_AT": bad})); err == nil {
			t.Errorf("PAYFLOW_RECON_AT=%q accepted", bad)
		}
	}
}

func TestSweepSettings(t *testing.T) {
	c, err := load(env(nil))
	require.NoError(t, err)
	require.Equal(t, time.Minute, c.SweepEvery)
	require.Equal(t, time.Minute, c.SweepGrace)

	c, err = load(env(map[string]string{"PAYFLOW_SWEEP_EVERY": "1s", "PAYFLOW_SWEEP_GRACE": "5s"}))
	require.NoError(t, err)
	require.Equal(t, time.Second, c.SweepEvery)
	require.Equal(t, 5*time.Second, c.SweepGrace)

	tests := []struct{ name, every, grace string }{
		{"interval under a second", "500ms", "1m"},
		{"no interval", "0s", "1m"},
		{"no grace", "1m", "0s"},
		{"negative grace", "1m", "-1m"},
		{"not a duration", "often", "1m"},
	}
	for _, tc := range tests {
		_, err := load(env(map[string]string{"PAYFLOW_SWEEP_EVERY": tc.every, "PAYFLOW_SWEEP_GRACE": tc.grace}))
		require.Error(t, err, tc.name)
	}
}
