package stripe

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/bank"
)

// readStatement reads a whole statement as CSV records.
func readStatement(t *testing.T, rc io.ReadCloser) ([][]string, error) {
	t.Helper()
	defer rc.Close()
	return csv.NewReader(rc).ReadAll()
}

// The statement of a day is every charge, refund and payout movement of that UTC
// day, read page by page (a page size of 2 forces five pages here), in our CSV.
func TestStatementPagesThroughTheDay(t *testing.T) {
	f, rec, url := newFakeStripe(t, nil)
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return day.Add(time.Duration(h) * time.Hour) }
	bt := func(created time.Time, typ string, amount int64, source string) {
		f.add("/v1/balance_transactions", "txn", created, map[string]any{
			"object": "balance_transaction", "type": typ, "amount": amount, "currency": "cny",
			"status": "available", "source": source,
		})
	}
	ch1 := f.addCharge("pay_a", "succeeded", 1050, "cny", at(1))
	ch2 := f.addCharge("", "succeeded", 700, "cny", at(2))
	re := f.add("/v1/refunds", "re", at(3), map[string]any{"object": "refund", "status": "succeeded", "amount": 300, "currency": "cny", "metadata": meta("re_a")})
	po := f.add("/v1/payouts", "po", at(4), map[string]any{"object": "payout", "status": "in_transit", "amount": 20000, "currency": "cny", "metadata": meta("wd_a")})
	bt(at(1), "charge", 1050, ch1["id"].(string))
	bt(at(1), "stripe_fee", -30, "")
	bt(at(2), "charge", 700, ch2["id"].(string))
	bt(at(3), "refund", -300, re["id"].(string))
	bt(at(4), "payout", -20000, po["id"].(string))
	bt(at(5), "charge", 900, "py_unexpandable") // a source the fake cannot expand
	for i := 0; i < 3; i++ {
		bt(at(6), "adjustment", 1, "")
	}
	bt(day.Add(-time.Second), "charge", 1, ch1["id"].(string)) // the day before
	bt(day.Add(24*time.Hour), "charge", 1, ch1["id"].(string)) // the day after

	rc, err := newChannel(t, url, Options{PageSize: 2}).Statement(context.Background(), day.Add(13*time.Hour))
	require.NoError(t, err)
	got, err := readStatement(t, rc)
	require.NoError(t, err)
	stamp := func(h int) string { return at(h).Format("2006-01-02T15:04:05Z") }
	require.Equal(t, [][]string{
		{"reference", "kind", "amount", "currency", "status", "time"},
		{"py_unexpandable", "charge", "900", "CNY", "succeeded", stamp(5)},
		{"wd_a", "payout", "20000", "CNY", "processing", stamp(4)},
		{"re_a", "refund", "300", "CNY", "succeeded", stamp(3)},
		{ch2["id"].(string), "charge", "700", "CNY", "succeeded", stamp(2)},
		{"pay_a", "charge", "1050", "CNY", "succeeded", stamp(1)},
	}, got)

	var pages []recorded
	for _, r := range rec.requests() {
		if r.Path == "/v1/balance_transactions" {
			pages = append(pages, r)
		}
	}
	require.Len(t, pages, 5, "9 balance transactions in the day, 2 a page")
	for i, p := range pages {
		require.Equal(t, strconv.FormatInt(day.Unix(), 10), p.Form.Get("created[gte]"))
		require.Equal(t, strconv.FormatInt(day.Add(24*time.Hour).Unix(), 10), p.Form.Get("created[lt]"))
		require.Equal(t, "2", p.Form.Get("limit"))
		require.Contains(t, p.Form, "expand[0]")
		require.Equal(t, "data.source", p.Form.Get("expand[0]"))
		require.Equal(t, i > 0, p.Form.Get("starting_after") != "", "page %d", i)
	}
}

// A page that fails after the first ends the stream with an error: a short
// statement would pass for a complete one and show missing transfers.
func TestStatementFailingMidwayIsAnError(t *testing.T) {
	f, _, url := newFakeStripe(t, nil)
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ {
		f.add("/v1/balance_transactions", "txn", day.Add(time.Hour), map[string]any{"type": "charge", "amount": 1, "currency": "cny", "source": "ch_x"})
	}
	f.fail = func(r *http.Request) int {
		if r.URL.Query().Get("starting_after") != "" {
			return 500
		}
		return 0
	}
	rc, err := newChannel(t, url, Options{PageSize: 2}).Statement(context.Background(), day)
	require.NoError(t, err)
	_, err = readStatement(t, rc)
	require.ErrorIs(t, err, bank.ErrUnknownOutcome)
}

// Stripe unreachable: Statement itself fails, before any line.
func TestStatementWhenStripeIsDown(t *testing.T) {
	_, err := newChannel(t, closedURL(t), Options{}).Statement(context.Background(), time.Now())
	require.ErrorIs(t, err, bank.ErrUnavailable)
}

// Against stripe-mock: the fixture balance transaction (a charge whose expanded
// source is an application fee, so the reference falls back to the source id)
// parses into one line of our CSV.
func TestStatementOnStripeMock(t *testing.T) {
	rc, err := newChannel(t, stripeMockURL, Options{}).Statement(context.Background(), time.Now())
	require.NoError(t, err)
	got, err := readStatement(t, rc)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, []string{"reference", "kind", "amount", "currency", "status", "time"}, got[0])
	line := got[1]
	require.NotEmpty(t, line[0])
	require.Equal(t, []string{"charge", "100", "USD", "succeeded", "2009-02-13T23:31:30Z"}, line[1:])
}
