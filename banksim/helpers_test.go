package banksim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// testEnv is a running simulator on a temp SQLite file behind httptest.
type testEnv struct {
	t      testing.TB
	srv    *Server
	http   *httptest.Server
	dbPath string
}

type testOption func(*Server)

func testLogger() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// newEnv starts a simulator; opts run before Start, so they may replace
// timings and the clock without racing the worker.
func newEnv(t testing.TB, cfg Config, opts ...testOption) *testEnv {
	t.Helper()
	if cfg.DBPath == "" {
		cfg.DBPath = filepath.Join(t.TempDir(), "banksim.db")
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	e := &testEnv{t: t, dbPath: cfg.DBPath}
	e.start(cfg, opts...)
	return e
}

func (e *testEnv) start(cfg Config, opts ...testOption) {
	e.t.Helper()
	srv, err := New(cfg)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	for _, o := range opts {
		o(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv.Start(ctx)
	e.srv = srv
	e.http = httptest.NewServer(srv.Handler())
	e.t.Cleanup(func() {
		e.http.Close()
		cancel()
		srv.Close()
	})
}

// restart closes the simulator and opens a new one on the same file.
func (e *testEnv) restart(cfg Config, opts ...testOption) {
	e.t.Helper()
	e.http.Close()
	if err := e.srv.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	cfg.DBPath = e.dbPath
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	e.start(cfg, opts...)
}

// do sends a request with a JSON body (a string is sent verbatim) and
// returns the status and body.
func (e *testEnv) do(method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("marshal: %v", err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read %s %s: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// transfer sends a channel request that must answer 200 with a transfer.
func (e *testEnv) transfer(path string, body any) Transfer {
	e.t.Helper()
	code, raw := e.do(http.MethodPost, path, body)
	if code != http.StatusOK {
		e.t.Fatalf("POST %s: status %d, body %s", path, code, raw)
	}
	return decodeAs[Transfer](e.t, raw)
}

// decide posts a new transfer of kind and checks what the bank decided: the
// status and failure code, one execution, and the house balance (CNY) moved by
// moved when the transfer succeeded, not at all otherwise.
func (e *testEnv) decide(t *testing.T, path string, body map[string]any, kind Kind, status Status, failureCode string, moved int64) Transfer {
	t.Helper()
	before := e.balance("CNY")
	got := e.transfer(path, body)
	if got.Status != status || got.FailureCode != failureCode || got.Kind != kind {
		t.Fatalf("got %s %s/%q, want %s/%q", got.Kind, got.Status, got.FailureCode, status, failureCode)
	}
	if n := e.executions(body["reference"].(string)); n != 1 {
		t.Errorf("executions = %d, want 1", n)
	}
	if status != StatusSucceeded {
		moved = 0
	}
	if d := e.balance("CNY") - before; d != moved {
		t.Errorf("house balance moved %d, want %d", d, moved)
	}
	return got
}

func (e *testEnv) get(ref string) (int, Transfer, errorBody) {
	e.t.Helper()
	code, raw := e.do(http.MethodGet, "/v1/transfers/"+ref, nil)
	if code == http.StatusOK {
		return code, decodeAs[Transfer](e.t, raw), errorBody{}
	}
	return code, Transfer{}, decodeAs[errorBody](e.t, raw)
}

func (e *testEnv) executions(ref string) int64 {
	e.t.Helper()
	code, raw := e.do(http.MethodGet, "/sim/executions?reference="+ref, nil)
	if code != http.StatusOK {
		e.t.Fatalf("executions: status %d, body %s", code, raw)
	}
	return decodeAs[executionsResponse](e.t, raw).Count
}

func (e *testEnv) balance(currency string) int64 {
	e.t.Helper()
	code, raw := e.do(http.MethodGet, "/sim/accounts", nil)
	if code != http.StatusOK {
		e.t.Fatalf("accounts: status %d, body %s", code, raw)
	}
	b, ok := decodeAs[accountsResponse](e.t, raw).Balances[currency]
	if !ok {
		return openingFloat
	}
	return b
}

func (e *testEnv) setFaults(body any) Faults {
	e.t.Helper()
	code, raw := e.do(http.MethodPost, "/sim/faults", body)
	if code != http.StatusOK {
		e.t.Fatalf("faults: status %d, body %s", code, raw)
	}
	return decodeAs[Faults](e.t, raw)
}

func decodeAs[T any](t testing.TB, raw []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %T from %s: %v", v, raw, err)
	}
	return v
}

func charge(ref, token string, amount int64) map[string]any {
	return map[string]any{"reference": ref, "amount": amount, "currency": "CNY", "token": token}
}

func payout(ref, account string, amount int64) map[string]any {
	return map[string]any{"reference": ref, "amount": amount, "currency": "CNY", "bank_account": account}
}

func refund(ref, chargeRef string, amount int64) map[string]any {
	return map[string]any{"reference": ref, "charge_reference": chargeRef, "amount": amount, "currency": "CNY"}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// receivedCallback is one request the receiver got.
type receivedCallback struct {
	signature string
	body      []byte
	event     CallbackEvent
	at        time.Time
}

// receiver is a callback endpoint answering scripted status codes, then
// fallback (200 unless set).
type receiver struct {
	mu       sync.Mutex
	got      []receivedCallback
	script   []int
	fallback int
	srv      *httptest.Server
}

func newReceiver(t *testing.T, script ...int) *receiver {
	rc := &receiver{script: script, fallback: http.StatusOK}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev CallbackEvent
		json.Unmarshal(body, &ev)
		rc.mu.Lock()
		rc.got = append(rc.got, receivedCallback{signature: r.Header.Get(SignatureHeader), body: body, event: ev, at: time.Now()})
		code := rc.fallback
		if len(rc.script) > 0 {
			code, rc.script = rc.script[0], rc.script[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) answer(code int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.fallback = code
}

func (rc *receiver) received() []receivedCallback {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedCallback(nil), rc.got...)
}

// callbackStates lists the outbox states of a reference's callbacks, in order.
func (e *testEnv) callbackStates(ref string) []string {
	e.t.Helper()
	return callbackColumn[string](e, "state", ref)
}

// callbackColumn lists column of a reference's callbacks, in the outbox's order.
func callbackColumn[T any](e *testEnv, column, ref string) []T {
	e.t.Helper()
	rows, err := e.srv.db.Query(`SELECT `+column+` FROM callbacks WHERE reference = ? ORDER BY id`, ref)
	if err != nil {
		e.t.Fatalf("query callbacks: %v", err)
	}
	defer rows.Close()
	var values []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			e.t.Fatalf("scan: %v", err)
		}
		values = append(values, v)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatalf("query callbacks: %v", err)
	}
	return values
}

// fakeClock is a settable clock for tests that need fixed days.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func newHTTP(t *testing.T, h http.Handler) *httptest.Server {
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}
