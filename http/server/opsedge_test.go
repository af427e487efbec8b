package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/http/codec"
	"github.com/payflow/payflow/http/internal/apitest"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/ops"
	"github.com/payflow/payflow/http/server"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/metrics"
	"github.com/payflow/payflow/internal/store"
)

const wrongToken = "wrong-token-do-not-store-1234567890"

// plainPayloads is a codec request of one unencrypted payload (passed through).
const plainPayloads = `{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"MQ=="}]}`

// guarded gives the router an ops guard of three failures per 15 minutes over its
// store, a codec endpoint behind the same guard, and the given trusted proxies.
func guarded(t testing.TB, proxies ...string) func(*server.Deps) {
	return func(d *server.Deps) {
		st := d.Merchants.(*store.Store)
		d.OpsGuard = &middleware.OpsGuard{
			Attempts: st, Audit: st, Now: time.Now, Budget: store.AttemptBudget{Attempts: 3, Window: 15 * time.Minute},
		}
		d.TrustedProxies = proxies
		d.Codec = &codec.Handler{Codec: testCodec(t), OpsTokens: d.OpsTokens, OpsGuard: d.OpsGuard, Log: d.Log}
	}
}

// opsAttempt sends GET /v1/ops/ledger/check (or POST /codec/decode) with token, as
// forwarded for client by the proxy when client is set.
func (a *api) opsAttempt(t testing.TB, path, token, client string) *http.Response {
	t.Helper()
	method, body := "GET", ""
	if strings.HasPrefix(path, "/codec/") {
		method, body = "POST", plainPayloads
	}
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if client != "" {
		req.Header.Set("X-Forwarded-For", client)
	}
	resp, _ := apitest.Send(t, a.http, req)
	return resp
}

// After three failed ops-token attempts from one address, the fourth is answered 429
// with Retry-After, its token not compared: a good token from that address too (the
// lockout is the address's). Another address still gets 401 for a wrong token and 200
// for a good one; good tokens spend nothing. Every refused attempt is in the audit log
// with the address, never with the token.
func TestOpsTokenAttemptsLimitedPerAddress(t *testing.T) {
	a := newAPI(t, testenv.SQLite, guarded(t, "127.0.0.1"))
	const attacker, other = "203.0.113.9", "198.51.100.7"
	for i := 0; i < 3; i++ {
		require.Equal(t, 401, a.opsAttempt(t, "/v1/ops/ledger/check", wrongToken, attacker).StatusCode, "attempt %d", i+1)
	}
	resp := a.opsAttempt(t, "/v1/ops/ledger/check", wrongToken, attacker)
	require.Equal(t, 429, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.Equal(t, "300", resp.Header.Get("Retry-After"), "one attempt refills in 15m/3")
	require.Equal(t, 429, a.opsAttempt(t, "/v1/ops/ledger/check", "ops-demo-token", attacker).StatusCode, "the address is locked out")
	require.Equal(t, 429, a.opsAttempt(t, "/codec/decode", wrongToken, attacker).StatusCode, "/codec shares the budget")
	require.Equal(t, 429, a.opsAttempt(t, "/v1/ops/ledger/check", "", attacker).StatusCode)

	require.Equal(t, 401, a.opsAttempt(t, "/v1/ops/ledger/check", wrongToken, other).StatusCode)
	require.Equal(t, 401, a.opsAttempt(t, "/codec/decode", wrongToken, other).StatusCode)
	for i := 0; i < 5; i++ {
		require.Equal(t, 200, a.opsAttempt(t, "/v1/ops/ledger/check", "ops-demo-token", other).StatusCode, "good tokens spend nothing")
		require.Equal(t, 200, a.opsAttempt(t, "/codec/decode", "ops-demo-token", other).StatusCode)
	}

	rows, _, err := a.store.AuditLog(context.Background(), attacker, 100, "")
	require.NoError(t, err)
	results := map[string]int{}
	for _, r := range rows {
		require.Equal(t, middleware.OpsAuthRefused, r.Action)
		require.Equal(t, attacker, r.Target)
		results[r.Result]++
	}
	require.Equal(t, map[string]int{"refused": 3, "rate_limited": 4}, results)
	rows, _, err = a.store.AuditLog(context.Background(), other, 100, "")
	require.NoError(t, err)
	require.Len(t, rows, 2, "only the refused attempts of the other address")

	// The token presented is nowhere: not in the audit table, not in the logs.
	var n int64
	require.NoError(t, a.db.Table("audit_log").
		Where("operator LIKE ? OR action LIKE ? OR target LIKE ? OR reason LIKE ? OR detail LIKE ? OR result LIKE ?",
			"%wrong-token%", "%wrong-token%", "%wrong-token%", "%wrong-token%", "%wrong-token%", "%wrong-token%").Count(&n).Error)
	require.Zero(t, n)
	a.log.mu.Lock()
	defer a.log.mu.Unlock()
	require.NotContains(t, a.log.w.(*bytes.Buffer).String(), "wrong-token")
}

// X-Forwarded-For from a client that is no trusted proxy names nothing: an attacker
// cannot reset its count by claiming a new address with each attempt.
func TestOpsTokenAttemptsForwardedForIgnored(t *testing.T) {
	a := newAPI(t, testenv.SQLite, guarded(t))
	for i := 0; i < 3; i++ {
		require.Equal(t, 401, a.opsAttempt(t, "/v1/ops/ledger/check", wrongToken, "203.0.113."+string(rune('1'+i))).StatusCode)
	}
	require.Equal(t, 429, a.opsAttempt(t, "/v1/ops/ledger/check", wrongToken, "203.0.113.200").StatusCode)
	rows, _, err := a.store.AuditLog(context.Background(), "127.0.0.1", 100, "")
	require.NoError(t, err)
	require.Len(t, rows, 4, "audited with the peer's address")
}

// With the operators on their own listener, the merchant listener answers 404 for
// /v1/ops/*, /codec and /metrics, and the ops listener serves them (and /healthz)
// but not the merchant API. Both are real listeners.
func TestSplitListeners(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	l := logrus.New()
	l.SetOutput(io.Discard)
	log := logrus.NewEntry(l)
	m := metrics.New()
	deps := server.Deps{
		Merchant:  merchantHandler(a.store, a.ledger, a.starter, log),
		Merchants: a.store, OpsTokens: []string{"ops-demo-token"}, Tolerance: 300 * time.Second, Now: time.Now, Log: log,
		Metrics: m.Handler(log), Requests: m,
		Codec: &codec.Handler{Codec: testCodec(t), OpsTokens: []string{"ops-demo-token"}, Log: log},
	}
	deps.Ops = &ops.Handler{Ledger: a.ledger, Store: a.store, Log: log, Now: time.Now}
	start := func(h http.Handler) string {
		s := server.New("127.0.0.1:0", h, log)
		require.NoError(t, s.Start())
		t.Cleanup(func() { _ = s.Stop(context.Background()) })
		return "http://" + s.Addr()
	}
	merchants, operators := start(server.NewMerchantRouter(deps)), start(server.NewOpsRouter(deps))

	status := func(base, method, path, token string) int {
		t.Helper()
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader(plainPayloads)
		}
		req, err := http.NewRequest(method, base+path, body)
		require.NoError(t, err)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, _ := apitest.Send(t, http.DefaultClient, req)
		return resp.StatusCode
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/ops/ledger/check"}, {"GET", "/v1/ops/audit"}, {"POST", "/codec/decode"}, {"GET", "/metrics"},
	} {
		require.Equal(t, 404, status(merchants, tc.method, tc.path, "ops-demo-token"), "merchant listener: %s", tc.path)
		require.Equal(t, 200, status(operators, tc.method, tc.path, "ops-demo-token"), "ops listener: %s", tc.path)
	}
	require.Equal(t, 200, status(merchants, "GET", "/healthz", ""))
	require.Equal(t, 200, status(operators, "GET", "/healthz", ""))
	require.Equal(t, 401, status(merchants, "GET", "/v1/payments/pay_x", ""), "the merchant API is on the merchant listener")
	require.Equal(t, 404, status(operators, "GET", "/v1/payments/pay_x", ""), "and not on the ops listener")
}

// A fixed route segment sent encoded (/v1/%6fps/...) or an encoded slash is refused
// with 400, never decoded into another route.
func TestEncodedRouteSegmentsRefused(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	for _, path := range []string{"/v1/%6fps/ledger/check", "/v1/ops/ledger/%63heck", "/%761/ops/audit"} {
		req, err := http.NewRequest("GET", a.srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer ops-demo-token")
		resp, _ := apitest.Send(t, http.DefaultClient, req)
		require.Equal(t, 400, resp.StatusCode, path)
	}
	code, _, _ := a.ops(t, "GET", "/v1/ops/ledger/check", "")
	require.Equal(t, 200, code, "the literal path is served")
}

// An operator's tool sending many requests at once with a good token is never
// locked out by its own requests: good tokens take nothing from the address's budget,
// even while others of them are in flight (before, each took one and gave it back,
// and twelve at once spent a budget of three).
func TestOpsTokenConcurrentGoodRequests(t *testing.T) {
	a := newAPI(t, testenv.SQLite, guarded(t, "127.0.0.1"))
	const operator = "198.51.100.20"
	var wg sync.WaitGroup
	codes := make([]int, 24)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = a.opsAttempt(t, "/v1/ops/ledger/check", "ops-demo-token", operator).StatusCode
		}()
	}
	wg.Wait()
	for i, c := range codes {
		require.Equal(t, 200, c, "request %d", i)
	}
}
