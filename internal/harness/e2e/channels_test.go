package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

// cardVia is a card payment through a named channel.
func cardVia(channel string, amount int64, token string) map[string]any {
	body := card(amount, token)
	body["channel"] = channel
	return body
}

// setBankFaults sets the simulator's faults ({} resets them).
func setBankFaults(t *testing.T, s *Stack, faults string) {
	t.Helper()
	r, err := s.Bank(context.Background(), "POST", "/sim/faults", faults)
	require.NoError(t, err)
	require.Equal(t, 200, r.Status, "%s", r.Body)
}

// A card payment through the stripe channel: stripe-mock answers the charge
// succeeded, the payment succeeds and records the channel; the simulator never sees
// it.
func TestStripeChannelEndToEnd(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		p := createPayment(t, s, cardVia("stripe", 1050, "tok_visa"))
		got := waitPayment(t, s, p.ID, 60*time.Second)
		require.Equal(t, models.PaymentSucceeded, got.Status)
		require.Equal(t, models.FailureNone, got.FailureCode)
		require.Equal(t, "stripe", got.Channel)
		require.Equal(t, 0, executions(t, s, p.ID))
	})
}

// With the simulator down (it refuses every request before acting), a payment
// through auto fails over to stripe with the same reference and succeeds there;
// the simulator executed nothing for it, and the ledger balances.
func TestAutoFailsOverWhenBanksimIsDown(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		setBankFaults(t, s, `{"down":true}`)
		t.Cleanup(func() { setBankFaults(t, s, `{}`) })

		p := createPayment(t, s, cardVia("auto", 2050, "tok_success"))
		got := waitPayment(t, s, p.ID, 60*time.Second)
		require.Equal(t, models.PaymentSucceeded, got.Status)
		require.Equal(t, "stripe", got.Channel, "the payment records the channel that took it")
		require.Equal(t, 0, executions(t, s, p.ID), "banksim executed a payment it refused")

		setBankFaults(t, s, `{}`)
		rep := ledgerCheck(t, s)
		require.True(t, rep.OK, "%+v", rep)
	})
}

// With the simulator up, auto takes its default route's first channel.
func TestAutoPrefersTheFirstChannelOfTheRoute(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		p := createPayment(t, s, cardVia("auto", 1050, "tok_success"))
		got := waitPayment(t, s, p.ID, 60*time.Second)
		require.Equal(t, models.PaymentSucceeded, got.Status)
		require.Equal(t, "banksim", got.Channel)
		require.Equal(t, 1, executions(t, s, p.ID))
	})
}
