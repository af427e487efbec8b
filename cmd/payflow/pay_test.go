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
