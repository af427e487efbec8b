package sim

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/bank"
)

// post sends an admin request to the simulator and expects 200.
func (e *bankEnv) post(t *testing.T, path, body string) {
	t.Helper()
	resp, err := http.Post(e.http.URL+path, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, path+" "+body)
}

// Balances reads the simulator's balances of a day; each day opens at the day
// before's close.
func TestBalances(t *testing.T) {
	e := newBankEnv(t, 5*time.Second)
	e.post(t, "/sim/statement/inject", `{"date":"2026-03-01","reference":"pay_x","kind":"charge","amount":100,"currency":"EUR","status":"succeeded"}`)
	e.post(t, "/sim/statement/inject", `{"date":"2026-03-01","reference":"re_x","kind":"refund","amount":30,"currency":"EUR","status":"succeeded"}`)
	e.post(t, "/sim/balances/adjust", `{"day":"2026-03-02","currency":"EUR","amount":-10}`)
	tests := []struct {
		day  time.Time
		want []bank.DayBalance
	}{
		{time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC), []bank.DayBalance{}},
		{time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC), []bank.DayBalance{{Currency: "EUR", Opening: 0, Closing: 70}}},
		{time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), []bank.DayBalance{{Currency: "EUR", Opening: 70, Closing: 60}}},
	}
	for _, tt := range tests {
		got, err := e.ch.Balances(context.Background(), tt.day)
		require.NoError(t, err)
		require.Equal(t, tt.want, got, tt.day)
	}
	require.Equal(t, int64(-10), tests[2].want[0].Movement())
}

func TestBalancesServerGone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = New("http://"+addr, "", time.Second).Balances(context.Background(), time.Now())
	require.ErrorIs(t, err, bank.ErrUnavailable)
}
