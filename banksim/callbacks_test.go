package banksim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// fastRetries makes callback retries quick enough for a unit test.
func fastRetries(s *Server) {
	s.retryBase = 5 * time.Millisecond
	s.retryMax = 20 * time.Millisecond
}

func TestProcessingCompletesAndCallsBack(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		body       func(callbackURL string) map[string]any
		useDefault bool
		kind       Kind
		delta      int64
	}{
		{
			name: "charge to its callback_url", path: "/v1/charges", kind: KindCharge, delta: 3000,
			body: func(url string) map[string]any {
				b := charge("pay_proc", TokenProcessing, 3000)
				b["callback_url"] = url
				return b
			},
		},
		{
			name: "payout to the default URL", path: "/v1/payouts", kind: KindPayout, delta: -3000, useDefault: true,
			body: func(string) map[string]any { return payout("wd_proc", AccountProcessing, 3000) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t)
			cfg := Config{CallbackSecret: "s3cret"}
			if tt.useDefault {
				cfg.DefaultCallbackURL = rc.srv.URL
			}
			// The bank's clock is the test's (near the real time, for the
			// signature): the transfer completes when the test moves it past
			// processing_ms, however slow the machine.
			clock := &fakeClock{}
			clock.Set(time.Now())
			e := newEnv(t, cfg, func(s *Server) { s.now = clock.Now })
			e.setFaults(map[string]any{"processing_ms": 500})
			body := tt.body(rc.srv.URL)
			ref := body["reference"].(string)

			created := e.transfer(tt.path, body)
			if created.Status != StatusProcessing || created.CompletedAt != nil {
				t.Fatalf("created %+v, want processing", created)
			}
			if _, got, _ := e.get(ref); got.Status != StatusProcessing {
				t.Fatalf("query before completion: %s, want processing", got.Status)
			}
			if d := e.balance("CNY") - openingFloat; d != 0 {
				t.Fatalf("balance moved %d before completion", d)
			}

			clock.Set(created.CreatedAt.Add(600 * time.Millisecond))
			kick(e.srv.wakeComplete)
			eventually(t, "the callback", func() bool { return len(rc.received()) >= 1 })
			cb := rc.received()[0]
			if err := VerifyCallback("s3cret", cb.signature, cb.body, time.Now(), time.Minute); err != nil {
				t.Fatalf("callback signature: %v (header %q)", err, cb.signature)
			}
			ev := cb.event
			if ev.Reference != ref || ev.Kind != tt.kind || ev.Status != StatusSucceeded || ev.BankID != created.BankID ||
				ev.CompletedAt == nil || !strings.HasPrefix(ev.EventID, "cbe_") || ev.Amount != 3000 {
				t.Fatalf("callback event %+v", ev)
			}
			_, got, _ := e.get(ref)
			if got.Status != StatusSucceeded || got.CompletedAt == nil || !got.CompletedAt.Equal(*ev.CompletedAt) {
				t.Fatalf("query after completion: %+v", got)
			}
			if !got.CompletedAt.After(created.CreatedAt.Add(499 * time.Millisecond)) {
				t.Fatalf("completed at %v, created at %v: before processing_ms", got.CompletedAt, created.CreatedAt)
			}
			if d := e.balance("CNY") - openingFloat; d != tt.delta {
				t.Fatalf("balance moved %d, want %d", d, tt.delta)
			}
			if n := e.executions(ref); n != 1 {
				t.Fatalf("executions = %d, want 1", n)
			}
			eventually(t, "delivered state", func() bool {
				s := e.callbackStates(ref)
				return len(s) == 1 && s[0] == cbDelivered
			})
		})
	}
}

func TestProcessingWithoutCallbackURL(t *testing.T) {
	e := newEnv(t, Config{})
	e.setFaults(map[string]any{"processing_ms": 0})
	e.transfer("/v1/charges", charge("pay_nocb", TokenProcessing, 10))
	eventually(t, "completion", func() bool {
		_, got, _ := e.get("pay_nocb")
		return got.Status == StatusSucceeded
	})
	if s := e.callbackStates("pay_nocb"); len(s) != 0 {
		t.Fatalf("callbacks queued without a URL: %v", s)
	}
}

func TestCallbackDelay(t *testing.T) {
	rc := newReceiver(t)
	e := newEnv(t, Config{DefaultCallbackURL: rc.srv.URL})
	e.setFaults(map[string]any{"processing_ms": 0, "callback_delay_ms": 200})
	e.transfer("/v1/charges", charge("pay_delay", TokenProcessing, 10))
	eventually(t, "the callback", func() bool { return len(rc.received()) == 1 })
	cb := rc.received()[0]
	if wait := cb.at.Sub(*cb.event.CompletedAt); wait < 200*time.Millisecond {
		t.Fatalf("callback sent %v after completion, want at least 200ms", wait)
	}
}

func TestDuplicateCallbacksSendTwiceThenAStaleOne(t *testing.T) {
	rc := newReceiver(t)
	e := newEnv(t, Config{DefaultCallbackURL: rc.srv.URL})
	e.setFaults(map[string]any{"processing_ms": 0, "duplicate_callbacks": true})
	e.transfer("/v1/charges", charge("pay_dup", TokenProcessing, 10))
	eventually(t, "three callbacks", func() bool { return len(rc.received()) == 3 })
	got := rc.received()
	first, second, stale := got[0].event, got[1].event, got[2].event
	if first.Status != StatusSucceeded || second.Status != StatusSucceeded || first.EventID != second.EventID {
		t.Fatalf("the final event was not sent twice: %+v / %+v", first, second)
	}
	if stale.Status != StatusProcessing || stale.CompletedAt != nil || stale.EventID == first.EventID ||
		stale.BankID != first.BankID {
		t.Fatalf("third callback %+v, want a stale processing event of the same transfer", stale)
	}
	for i, cb := range got {
		if err := VerifyCallback(DefaultCallbackSecret, cb.signature, cb.body, time.Now(), time.Minute); err != nil {
			t.Fatalf("callback %d: %v", i, err)
		}
	}
}

func TestCallbackRetries(t *testing.T) {
	tests := []struct {
		name      string
		script    []int
		wantCalls int
		wantState string
	}{
		{"server errors then success", []int{500, 503, 200}, 3, cbDelivered},
		{"408 and 429 are retried", []int{http.StatusRequestTimeout, http.StatusTooManyRequests}, 3, cbDelivered},
		{"other 4xx stops", []int{http.StatusBadRequest}, 1, cbRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, tt.script...)
			e := newEnv(t, Config{DefaultCallbackURL: rc.srv.URL}, fastRetries)
			e.setFaults(map[string]any{"processing_ms": 0})
			e.transfer("/v1/charges", charge("pay_retry", TokenProcessing, 10))
			eventually(t, "final outbox state", func() bool {
				s := e.callbackStates("pay_retry")
				return len(s) == 1 && s[0] == tt.wantState
			})
			got := rc.received()
			if len(got) != tt.wantCalls {
				t.Fatalf("%d calls, want %d", len(got), tt.wantCalls)
			}
			for _, cb := range got[1:] {
				if cb.event.EventID != got[0].event.EventID {
					t.Fatalf("a retry changed the event id")
				}
			}
		})
	}
}

func TestCallbackGivesUp(t *testing.T) {
	rc := newReceiver(t)
	rc.answer(http.StatusInternalServerError)
	// The bank's clock is the test's, so how late an attempt is on a loaded
	// machine (-race) cannot decide between "retry" and "give up". The clock
	// moves only once an attempt is recorded, so each attempt reads the time
	// the test meant for it.
	clock := &fakeClock{}
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clock.Set(t0)
	e := newEnv(t, Config{DefaultCallbackURL: rc.srv.URL}, fastRetries,
		func(s *Server) { s.giveUp = 200 * time.Millisecond; s.now = clock.Now })
	e.setFaults(map[string]any{"processing_ms": 0})
	e.transfer("/v1/charges", charge("pay_giveup", TokenProcessing, 10))
	attempts := func(n int, state string) func() bool {
		return func() bool {
			var got int
			var s string
			err := e.srv.db.QueryRow(`SELECT attempts, state FROM callbacks WHERE reference = 'pay_giveup'`).Scan(&got, &s)
			return err == nil && got == n && s == state
		}
	}
	eventually(t, "the first attempt, failed and pending", attempts(1, cbPending))
	// Past the first retry's backoff, within the retry period: retried.
	clock.Set(t0.Add(100 * time.Millisecond))
	kick(e.srv.wakeDeliver)
	eventually(t, "a retry, failed and pending", attempts(2, cbPending))
	// Past the retry period: the next attempt is the last.
	clock.Set(t0.Add(time.Second))
	kick(e.srv.wakeDeliver)
	eventually(t, "a last attempt, then expired", attempts(3, cbExpired))
	if n := len(rc.received()); n != 3 {
		t.Fatalf("the receiver got %d attempts, want 3", n)
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		n    int
		want time.Duration
	}{
		{1, 500 * time.Millisecond},
		{2, time.Second},
		{3, 2 * time.Second},
		{7, 30 * time.Second},
		{1000, 30 * time.Second},
	}
	for _, tt := range tests {
		if got := backoff(tt.n, callbackRetryBase, callbackRetryMax); got != tt.want {
			t.Errorf("backoff(%d) = %v, want %v", tt.n, got, tt.want)
		}
	}
}
