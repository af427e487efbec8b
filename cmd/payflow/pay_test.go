package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// payflow pay asks for the outcome in the answer (Prefer: wait=10) and, given it with
// 200, prints it without polling the payment.
func TestPayPrefersWaitAndPrintsTheOutcome(t *testing.T) {
	var mu sync.Mutex
	var requests []string
	var prefer string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.Method+" "+r.URL.Path)
		if r.Method == http.MethodPost {
			prefer = r.Header.Get("Prefer")
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Preference-Applied", "wait=10")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"id":"pay_1","object":"payment","status":"succeeded"}`)
	}))
	defer srv.Close()
	t.Setenv("PAYFLOW_API_URL", srv.URL)

	out := captureStdout(t, func() { require.NoError(t, runPay([]string{"--amount", "1050"})) })
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, "wait=10", prefer)
	require.Equal(t, []string{"POST /v1/payments"}, requests, "no polling after a 200")
	require.Contains(t, out, "pay_1 ended succeeded")
}

func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	defer func() { os.Stdout = old }()
	f()
	w.Close()
	os.Stdout = old
	return strings.TrimSpace(<-done)
}

// payflow pay --qr asks for a QR payment without waiting in the answer, prints the
// code in the terminal with its URL, then follows the payment to its end.
func TestPayQRPrintsTheCode(t *testing.T) {
	var mu sync.Mutex
	var body, prefer string
	gets := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			body, prefer = string(b), r.Header.Get("Prefer")
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"id":"pay_1","object":"payment","status":"processing","next_action":{"type":"display_qr","qr_url":"http://127.0.0.1:8080/q/abc","expires_at":"2026-12-07T12:02:00Z"}}`)
			return
		}
		gets++
		io.WriteString(w, `{"id":"pay_1","object":"payment","status":"succeeded"}`)
	}))
	defer srv.Close()
	t.Setenv("PAYFLOW_API_URL", srv.URL)

	out := captureStdout(t, func() { require.NoError(t, runPay([]string{"--amount", "1050", "--qr", "--expires-in", "5m"})) })
	mu.Lock()
	defer mu.Unlock()
	require.JSONEq(t, `{"amount":1050,"currency":"CNY","source":{"type":"qr","expires_in":300}}`, body)
	require.Empty(t, prefer)
	require.Contains(t, out, "█", "the code is drawn in the terminal")
	require.Contains(t, out, "open http://127.0.0.1:8080/q/abc")
	require.Equal(t, 1, gets)
}

// Sources are one at a time, and --expires-in goes with --qr within its bounds.
func TestPaySourceFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--amount", "1", "--qr", "--code", "991234567890123456"},
		{"--amount", "1", "--account", "acct_1", "--qr"},
		{"--amount", "1", "--expires-in", "2m"},
		{"--amount", "1", "--qr", "--expires-in", "30s"},
	} {
		var u usageError
		require.ErrorAs(t, runPay(args), &u, "%v", args)
	}
}
