package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Deadlines are per channel and kind of transfer: Stripe's payouts and refunds take
// days by default; a typo stops the process at start.
func TestBankDeadlines(t *testing.T) {
	c, err := load(env(nil))
	require.NoError(t, err)
	require.Equal(t, 24*time.Hour, c.BankDeadline)
	require.Equal(t, map[string]time.Duration{"stripe.payout": 96 * time.Hour, "stripe.refund": 72 * time.Hour}, c.BankDeadlines)

	c, err = load(env(map[string]string{"PAYFLOW_BANK_DEADLINES": " banksim.payout=30s, stripe.charge=2h "}))
	require.NoError(t, err)
	require.Equal(t, map[string]time.Duration{"banksim.payout": 30 * time.Second, "stripe.charge": 2 * time.Hour}, c.BankDeadlines)

	for _, bad := range []string{"stripe=1h", "stripe.payouts=1h", ".payout=1h", "stripe.payout=soon", "stripe.payout=-1h", "stripe.payout"} {
		_, err := load(env(map[string]string{"PAYFLOW_BANK_DEADLINES": bad}))
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "PAYFLOW_BANK_DEADLINES")
	}
}
