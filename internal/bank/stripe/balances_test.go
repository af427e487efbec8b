package stripe

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/bank"
)

// The day's movement per currency is the sum of the gross amounts of its balance
// transactions, read page by page, without Stripe's fees and other days.
func TestBalancesSumTheDay(t *testing.T) {
	f, rec, url := newFakeStripe(t, nil)
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	bt := func(created time.Time, typ string, amount int64, currency string) {
		f.add("/v1/balance_transactions", "txn", created, map[string]any{
			"object": "balance_transaction", "type": typ, "amount": amount, "fee": 30, "net": amount - 30,
			"currency": currency, "status": "available",
		})
	}
	bt(day.Add(time.Hour), "charge", 1050, "cny")
	bt(day.Add(time.Hour), "stripe_fee", -30, "cny")
	bt(day.Add(2*time.Hour), "refund", -300, "cny")
	bt(day.Add(3*time.Hour), "payout", -20000, "cny")
	bt(day.Add(4*time.Hour), "adjustment", 3, "cny")
	bt(day.Add(5*time.Hour), "charge", 500, "usd")
	bt(day.Add(6*time.Hour), "charge", 7, "xyz") // a currency payflow does not take through Stripe
	bt(day.Add(-time.Second), "charge", 1, "cny")
	bt(day.Add(24*time.Hour), "charge", 1, "cny")

	got, err := newChannel(t, url, Options{PageSize: 2}).Balances(context.Background(), day.Add(13*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []bank.DayBalance{
		{Currency: "CNY", Closing: 1050 - 300 - 20000 + 3},
		{Currency: "USD", Closing: 500},
		{Currency: "XYZ", Closing: 7},
	}, got)
	pages := 0
	for _, r := range rec.requests() {
		if r.Path == "/v1/balance_transactions" {
			pages++
		}
	}
	require.Equal(t, 4, pages, "7 balance transactions in the day, 2 a page")
}

func TestBalancesWhenStripeIsDown(t *testing.T) {
	_, err := newChannel(t, closedURL(t), Options{}).Balances(context.Background(), time.Now())
	require.ErrorIs(t, err, bank.ErrUnavailable)
}

// Against stripe-mock: its fixture balance transaction (a charge of 100 USD) is the
// day's movement.
func TestBalancesOnStripeMock(t *testing.T) {
	got, err := newChannel(t, stripeMockURL, Options{}).Balances(context.Background(), time.Now())
	require.NoError(t, err)
	require.Equal(t, []bank.DayBalance{{Currency: "USD", Closing: 100}}, got)
}
