package banksim

import (
	"net/http"
	"testing"
	"time"
)

func TestFaultsSetAndReset(t *testing.T) {
	e := newEnv(t, Config{})
	if got := e.setFaults(map[string]any{"latency_ms": 5, "duplicate_callbacks": true, "refuse_cancel": true}); got != (Faults{
		LatencyMS: 5, DuplicateCallbacks: true, RefuseCancel: true, ProcessingMS: 2000, BureauDelayMS: 3000,
	}) {
		t.Fatalf("set: %+v", got)
	}
	// A body sets exactly its fields: the latency set before is reset.
	want := Faults{BureauDelayMS: 3000}
	if got := e.setFaults(map[string]any{"processing_ms": 0}); got != want {
		t.Fatalf("set processing_ms 0: %+v, want every other fault at its default", got)
	}
	code, raw := e.do(http.MethodGet, "/sim/faults", nil)
	if code != http.StatusOK || decodeAs[Faults](t, raw) != want {
		t.Fatalf("get: %d %s", code, raw)
	}
	for _, reset := range []any{map[string]any{}, ""} {
		e.setFaults(map[string]any{"down": true, "error_rate": 0.5, "refuse_cancel": true})
		if got := e.setFaults(reset); got != DefaultFaults() {
			t.Fatalf("reset with %q: %+v", reset, got)
		}
	}
	for _, bad := range []string{`{"error_rate":1.5}`, `{"error_rate":-0.1}`, `{"latency_ms":-1}`, `{"processing_ms":-1}`, `{"bureau_delay_ms":-1}`, `{"down":"yes"}`, `{"bureau_down":1}`, `{"refuse_cancel":1}`} {
		if code, raw := e.do(http.MethodPost, "/sim/faults", bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", bad, code, raw)
		}
	}
	if got := e.srv.Faults(); got != DefaultFaults() {
		t.Fatalf("a rejected body changed the faults: %+v", got)
	}
}

func TestRefusingFaultsExecuteNothing(t *testing.T) {
	tests := []struct {
		name   string
		faults map[string]any
	}{
		{"down", map[string]any{"down": true}},
		{"error_rate 1", map[string]any{"error_rate": 1}},
	}
	requests := []struct {
		path string
		body map[string]any
	}{
		{"/v1/charges", charge("pay_f", TokenSuccess, 10)},
		{"/v1/payouts", payout("wd_f", AccountSuccess, 10)},
		{"/v1/refunds", refund("re_f", "pay_ok", 10)},
		// A refused cancel writes no tombstone: pay_f still executes below.
		{"/v1/transfers/pay_f/cancel", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			e.transfer("/v1/charges", charge("pay_ok", TokenSuccess, 10))
			e.setFaults(tt.faults)
			for _, rq := range requests {
				code, raw := e.do(http.MethodPost, rq.path, rq.body)
				if code != http.StatusServiceUnavailable || decodeAs[errorBody](t, raw).Error != ErrCodeBankUnavailable {
					t.Fatalf("POST %s: %d %s, want 503 bank_unavailable", rq.path, code, raw)
				}
			}
			if code, _, body := e.get("pay_ok"); code != http.StatusServiceUnavailable || body.Error != ErrCodeBankUnavailable {
				t.Fatalf("query: %d %+v, want 503", code, body)
			}
			// Admin routes never suffer faults.
			for _, ref := range []string{"pay_f", "wd_f", "re_f"} {
				if n := e.executions(ref); n != 0 {
					t.Fatalf("%s executed %d times", ref, n)
				}
			}
			if b := e.balance("CNY"); b != openingFloat+10 {
				t.Fatalf("balance = %d", b)
			}
			e.setFaults(map[string]any{})
			if got := e.transfer("/v1/charges", charge("pay_f", TokenSuccess, 10)); got.Status != StatusSucceeded {
				t.Fatalf("after reset: %+v", got)
			}
		})
	}
}

func TestErrorRateRefusesAFraction(t *testing.T) {
	e := newEnv(t, Config{})
	e.setFaults(map[string]any{"error_rate": 0.5})
	refused := 0
	const n = 200
	for range n {
		if code, _ := e.do(http.MethodGet, "/v1/transfers/pay_none", nil); code == http.StatusServiceUnavailable {
			refused++
		}
	}
	// Binomial(200, 0.5): outside [60, 140] has a probability below 1e-8.
	if refused < 60 || refused > 140 {
		t.Fatalf("%d of %d refused at error_rate 0.5", refused, n)
	}
}

func TestLatencyDelaysChannelRequestsOnly(t *testing.T) {
	e := newEnv(t, Config{})
	e.setFaults(map[string]any{"latency_ms": 150})
	start := time.Now()
	e.transfer("/v1/charges", charge("pay_slow", TokenSuccess, 10))
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("charge answered in %v, want at least the latency", d)
	}
	client := &http.Client{Timeout: 100 * time.Millisecond}
	resp, err := client.Get(e.http.URL + "/sim/executions?reference=pay_slow")
	if err != nil {
		t.Fatalf("admin route delayed: %v", err)
	}
	resp.Body.Close()
}
