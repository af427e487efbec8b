package banksim

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRestartCompletesProcessingTransfersAndCallsBack(t *testing.T) {
	rc := newReceiver(t)
	dbPath := filepath.Join(t.TempDir(), "banksim.db")
	cfg := Config{DBPath: dbPath, DefaultCallbackURL: rc.srv.URL, Logger: testLogger()}

	// A first server that never runs its worker: the transfer can only
	// complete after the restart.
	first, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := first.SetFaults(Faults{ProcessingMS: 50}); err != nil {
		t.Fatalf("SetFaults: %v", err)
	}
	h := first.Handler()
	ts := newHTTP(t, h)
	e := &testEnv{t: t, srv: first, http: ts, dbPath: dbPath}
	created := e.transfer("/v1/charges", charge("pay_restart", TokenProcessing, 640))
	if created.Status != StatusProcessing {
		t.Fatalf("created %+v", created)
	}
	ts.Close()
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	e = newEnv(t, cfg) // New on the same file, then Start
	eventually(t, "the callback after the restart", func() bool { return len(rc.received()) == 1 })
	cb := rc.received()[0]
	if cb.event.Reference != "pay_restart" || cb.event.Status != StatusSucceeded || cb.event.BankID != created.BankID {
		t.Fatalf("callback %+v", cb.event)
	}
	if err := VerifyCallback(DefaultCallbackSecret, cb.signature, cb.body, time.Now(), time.Minute); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if _, got, _ := e.get("pay_restart"); got.Status != StatusSucceeded {
		t.Fatalf("after restart: %+v", got)
	}
	if n := e.executions("pay_restart"); n != 1 {
		t.Fatalf("executions = %d, want 1", n)
	}
	if b := e.balance("CNY"); b != openingFloat+640 {
		t.Fatalf("balance = %d", b)
	}
}

func TestRestartResumesPendingCallbacks(t *testing.T) {
	// The receiver fails until the simulator has restarted.
	rc := newReceiver(t)
	rc.answer(http.StatusInternalServerError)
	e := newEnv(t, Config{DefaultCallbackURL: rc.srv.URL}, fastRetries)
	e.setFaults(map[string]any{"processing_ms": 0})
	e.transfer("/v1/charges", charge("pay_outbox", TokenProcessing, 10))
	eventually(t, "a failed attempt", func() bool { return len(rc.received()) >= 1 })
	e.restart(Config{DefaultCallbackURL: rc.srv.URL}, fastRetries)
	if s := e.callbackStates("pay_outbox"); len(s) != 1 || s[0] != cbPending {
		t.Fatalf("outbox after restart: %v, want one pending callback", s)
	}
	rc.answer(http.StatusOK)
	eventually(t, "delivery after the restart", func() bool {
		s := e.callbackStates("pay_outbox")
		return len(s) == 1 && s[0] == cbDelivered
	})
	got := rc.received()
	if last := got[len(got)-1]; last.event.Status != StatusSucceeded || last.event.EventID != got[0].event.EventID {
		t.Fatalf("delivered event %+v", last.event)
	}
}

func TestListenAndServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s, err := New(Config{Addr: addr, DBPath: filepath.Join(t.TempDir(), "b.db"), Logger: testLogger()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe(ctx) }()
	eventually(t, "healthz on "+addr, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	// A held request must not keep the shutdown waiting.
	go http.Post("http://"+addr+"/v1/charges", "application/json",
		strings.NewReader(`{"reference":"pay_held","amount":1,"currency":"CNY","token":"tok_timeout_success"}`))
	eventually(t, "the held charge", func() bool {
		resp, err := http.Get("http://" + addr + "/sim/executions?reference=pay_held")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var body executionsResponse
		json.NewDecoder(resp.Body).Decode(&body)
		return body.Count == 1
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ListenAndServe: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ListenAndServe did not stop")
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, Config{})
	e.setFaults(map[string]any{"down": true})
	if code, raw := e.do(http.MethodGet, "/healthz", nil); code != http.StatusOK {
		t.Fatalf("healthz: %d %s", code, raw)
	}
}
