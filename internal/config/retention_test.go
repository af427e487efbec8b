package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Each kind of record has its retention, with defaults a payments business keeps
// and floors below which a purge would delete what is still needed; a refused value
// stops the process at start, naming the variable.
func TestRetention(t *testing.T) {
	c, err := load(env(nil))
	require.NoError(t, err)
	require.Equal(t, Retention{
		Events: 90 * 24 * time.Hour, WebhookAttempts: 30 * 24 * time.Hour, Audit: 0,
		Nonces: 11 * time.Minute, IdempotencyKeys: 24 * time.Hour, RateLimits: time.Hour, BankCallbacks: 7 * 24 * time.Hour,
		PaymentCodes: 24 * time.Hour,
	}, c.Retention)

	c, err = load(env(map[string]string{"PAYFLOW_SIGNATURE_TOLERANCE": "10m"}))
	require.NoError(t, err)
	require.Equal(t, 21*time.Minute, c.Retention.Nonces, "the nonces' default follows the tolerance")

	c, err = load(env(map[string]string{
		"PAYFLOW_RETENTION_EVENTS": "0", "PAYFLOW_RETENTION_WEBHOOK_ATTEMPTS": "0", "PAYFLOW_RETENTION_AUDIT": "17520h",
		"PAYFLOW_RETENTION_NONCES": "10m", "PAYFLOW_RETENTION_IDEMPOTENCY_KEYS": "48h", "PAYFLOW_RETENTION_RATE_LIMITS": "2s",
		"PAYFLOW_RETENTION_BANK_CALLBACKS": "0", "PAYFLOW_RETENTION_PAYMENT_CODES": "0",
	}))
	require.NoError(t, err)
	require.Equal(t, Retention{Audit: 2 * 365 * 24 * time.Hour, Nonces: 10 * time.Minute, IdempotencyKeys: 48 * time.Hour, RateLimits: 2 * time.Second}, c.Retention)

	for name, bad := range map[string]string{
		"PAYFLOW_RETENTION_EVENTS":           "24h",
		"PAYFLOW_RETENTION_WEBHOOK_ATTEMPTS": "48h",
		"PAYFLOW_RETENTION_AUDIT":            "2160h",
		"PAYFLOW_RETENTION_NONCES":           "9m",
		"PAYFLOW_RETENTION_IDEMPOTENCY_KEYS": "12h",
		"PAYFLOW_RETENTION_RATE_LIMITS":      "1s",
		"PAYFLOW_RETENTION_BANK_CALLBACKS":   "1h",
		"PAYFLOW_RETENTION_PAYMENT_CODES":    "30m",
	} {
		_, err := load(env(map[string]string{name: bad}))
		require.ErrorContains(t, err, name, "%s=%s", name, bad)
		require.ErrorContains(t, err, "at least", name)
		_, err = load(env(map[string]string{name: "90 days"}))
		require.ErrorContains(t, err, name)
	}
	for _, name := range []string{"PAYFLOW_RETENTION_NONCES", "PAYFLOW_RETENTION_IDEMPOTENCY_KEYS", "PAYFLOW_RETENTION_RATE_LIMITS"} {
		_, err := load(env(map[string]string{name: "0"}))
		require.ErrorContains(t, err, name, "these are always purged")
	}
	_, err = load(env(map[string]string{"PAYFLOW_RATE_LIMIT_RPS": "1", "PAYFLOW_RATE_LIMIT_BURST": "7200", "PAYFLOW_RETENTION_RATE_LIMITS": "1h"}))
	require.ErrorContains(t, err, "PAYFLOW_RETENTION_RATE_LIMITS", "a bucket of 7200 at 1/s refills in 2h")
}
