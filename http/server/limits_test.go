package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/http/server"
	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/signing"
	"github.com/payflow/payflow/internal/store"
)

func withRateLimit(rate, burst int64) func(*server.Deps) {
	return func(d *server.Deps) { d.RateLimit = store.TokenBucket{Rate: rate, Burst: burst} }
}

// frozenAdmission stops the admission clock (signature window and token refill) at
// at, so that a slow machine does not refill a bucket during a test.
func frozenAdmission(at time.Time) func(*server.Deps) {
	return func(d *server.Deps) { d.Now = func() time.Time { return at } }
}

// A merchant over its budget gets 429 rate_limited with Retry-After; another merchant
// is not affected; a replayed request spends nothing.
func TestRateLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b, withRateLimit(1, 3), frozenAdmission(time.Now()))
		ctx := context.Background()
		for i := 0; i < 3; i++ {
			r, err := a.c.Get(ctx, "/v1/payments")
			require.NoError(t, err)
			require.Equal(t, 200, r.Status, "request %d of the burst", i+1)
		}
		r, err := a.c.Get(ctx, "/v1/payments")
		require.NoError(t, err)
		require.Equal(t, 429, r.Status)
		require.Equal(t, "rate_limited", decodeProblem(t, r).Code)
		wait, err := strconv.Atoi(r.Header.Get("Retry-After"))
		require.NoError(t, err)
		require.GreaterOrEqual(t, wait, 1)

		other := a.merchantClient("mch_other", "other_secret")
		r, err = other.Get(ctx, "/v1/payments")
		require.NoError(t, err)
		require.Equal(t, 200, r.Status, "another merchant has its own budget")

		// A creating request over the budget stores and starts nothing.
		r, err = a.c.Post(ctx, "/v1/payments", map[string]any{"amount": 1050, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"}}, "limited")
		require.NoError(t, err)
		require.Equal(t, 429, r.Status)
		require.Zero(t, a.paymentCount(t))
		require.Empty(t, a.starter.starts)
	})
}

// The budget holds across API replicas: two routers on one database grant the burst
// once between them.
func TestRateLimitAcrossReplicas(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		now := time.Now()
		a := newAPI(t, b, withRateLimit(1, 4), frozenAdmission(now))
		second := newReplica(t, a, withRateLimit(1, 4), frozenAdmission(now))
		ctx := context.Background()
		clients := []*client.Client{a.c, client.New(second.URL, "mch_demo", secret).WithTransport(a.v.RoundTripper)}
		var ok, limited int
		for i := 0; i < 10; i++ {
			r, err := clients[i%2].Get(ctx, "/v1/payments")
			require.NoError(t, err)
			switch r.Status {
			case 200:
				ok++
			case 429:
				limited++
			default:
				t.Fatalf("HTTP %d: %s", r.Status, r.Body)
			}
		}
		require.Equal(t, 4, ok)
		require.Equal(t, 6, limited)
	})
}

// A query string over 4 KiB is refused with 414 before anything reads it, on every
// route.
func TestQueryTooLong(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	ctx := context.Background()
	long := "?starting_after=" + strings.Repeat("a", 5000)
	r, err := a.c.Get(ctx, "/v1/payments"+long)
	require.NoError(t, err)
	require.Equal(t, 414, r.Status)
	require.Equal(t, "uri_too_long", decodeProblem(t, r).Code)
	status, h, body := a.ops(t, "GET", "/v1/ops/audit"+long, "")
	require.Equal(t, 414, status, "%s", body)
	require.Equal(t, "application/problem+json", h.Get("Content-Type"))
	resp, err := a.http.Get(a.srv.URL + "/healthz" + long)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 414, resp.StatusCode)
	// 4 KiB exactly is read (and refused for what it says, not for its size).
	r, err = a.c.Get(ctx, "/v1/payments?starting_after="+strings.Repeat("a", 4096-len("starting_after=")))
	require.NoError(t, err)
	require.Equal(t, 400, r.Status)
}

// A body that is not JSON is refused with 415 and stores nothing.
func TestUnsupportedMediaType(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	body := []byte(`{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
		req := a.signed(t, "POST", "/v1/payments", body)
		req.Header.Set("Idempotency-Key", "ct-"+ct)
		if ct == "" {
			req.Header.Del("Content-Type")
		} else {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := a.http.Do(req)
		require.NoError(t, err)
		var p problemBody
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
		resp.Body.Close()
		require.Equal(t, 415, resp.StatusCode, ct)
		require.Equal(t, "unsupported_media_type", p.Code)
	}
	status, _, _ := a.opsWithType(t, "POST", "/v1/ops/merchants", `{"name":"x"}`, "text/plain")
	require.Equal(t, 415, status)
	require.Zero(t, a.paymentCount(t))
}

// A body over 1 MiB without a Content-Length (chunked) is refused with 413 as soon as
// the limit is crossed: the server reads little more than 1 MiB of an endless body.
func TestEndlessBodyIsCutAtTheLimit(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	var sent atomic.Int64
	endless := io.LimitReader(readerFunc(func(p []byte) (int, error) {
		for i := range p {
			p[i] = ' '
		}
		sent.Add(int64(len(p)))
		return len(p), nil
	}), 512<<20)
	ts := fmt.Sprint(time.Now().Unix())
	nonce := client.NewNonce()
	req, err := http.NewRequest("POST", a.srv.URL+"/v1/payments", endless)
	require.NoError(t, err)
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(signing.HeaderMerchant, "mch_demo")
	req.Header.Set(signing.HeaderTimestamp, ts)
	req.Header.Set(signing.HeaderNonce, nonce)
	req.Header.Set(signing.HeaderSignature, strings.Repeat("0", 64))
	req.Header.Set("Idempotency-Key", "endless")
	// Not through the validator: it would read the endless body first.
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 413, resp.StatusCode)
	require.Less(t, sent.Load(), int64(64<<20), "the server read far past the limit")
}

type readerFunc func(p []byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// startServer runs the real Server (not httptest) with limits, on a free port.
func startServer(t *testing.T, h http.Handler, l server.Limits) string {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	s := server.NewWithLimits("127.0.0.1:0", h, logrus.NewEntry(log), l)
	require.NoError(t, s.Start())
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	return s.Addr()
}

// Headers over MaxHeaderBytes are refused (431) before any handler runs.
func TestHeaderTooLarge(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	addr := startServer(t, a.router, server.DefaultLimits)
	req, err := http.NewRequest("GET", "http://"+addr+"/healthz", nil)
	require.NoError(t, err)
	req.Header.Set("X-Padding", strings.Repeat("p", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)

	req, err = http.NewRequest("GET", "http://"+addr+"/healthz", nil)
	require.NoError(t, err)
	req.Header.Set("X-Padding", strings.Repeat("p", 16<<10))
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "16 KiB of headers are within the limit")
}

// A client that sends its headers too slowly (slowloris) is disconnected after
// ReadHeaderTimeout.
func TestSlowHeadersAreCut(t *testing.T) {
	limits := server.DefaultLimits
	limits.ReadHeaderTimeout = 300 * time.Millisecond
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), limits)
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "))
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	start := time.Now()
	_, err = bufio.NewReader(conn).ReadString('\n')
	// The server gives up on the request: it closes the connection (after, at most,
	// a 408 status line).
	if err == nil {
		_, err = io.ReadAll(conn)
	}
	require.Less(t, time.Since(start), 4*time.Second, "the connection was held past ReadHeaderTimeout")
}

// A handler that runs past HandlerTimeout answers 503 timeout as a problem with
// Retry-After, and its context is canceled.
func TestHandlerTimeout(t *testing.T) {
	canceled := make(chan struct{})
	limits := server.DefaultLimits
	limits.HandlerTimeout = 200 * time.Millisecond
	addr := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		close(canceled)
	}), limits)
	resp, err := http.Get("http://" + addr + "/slow")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 503, resp.StatusCode)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	var p problemBody
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
	require.Equal(t, "timeout", p.Code)
	select {
	case <-canceled:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's context was not canceled")
	}
}

// Requests shaped for smuggling through a proxy that reads their length differently:
// net/http refuses two different Content-Lengths (400) and any Transfer-Encoding but
// chunked (501). (Content-Length with chunked is read as chunked, RFC 9112; see
// docs/security.md for why a proxy in front must refuse that one.)
func TestSmugglingShapedRequests(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	addr := startServer(t, a.router, server.DefaultLimits)
	tests := []struct {
		name, raw string
		status    int
	}{
		{"two content lengths", "POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400},
		{"chunked, then identity", "POST /v1/payments HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 501},
		{"unknown transfer encoding", "POST /v1/payments HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 501},
		{"two transfer encodings", "POST /v1/payments HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501},
		{"content length not a number", "POST /v1/payments HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello", 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer conn.Close()
			_, err = conn.Write([]byte(tc.raw))
			require.NoError(t, err)
			require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode)
		})
	}
}
