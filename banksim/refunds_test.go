package banksim

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

func TestRefunds(t *testing.T) {
	e := newEnv(t, Config{})
	e.transfer("/v1/charges", charge("pay_r1", TokenSuccess, 1000))
	e.transfer("/v1/charges", charge("pay_declined", TokenDecline, 1000))
	e.transfer("/v1/payouts", payout("wd_r1", AccountSuccess, 1000))
	tests := []struct {
		name        string
		body        map[string]any
		status      Status
		failureCode string
	}{
		{"part", refund("re_1", "pay_r1", 600), StatusSucceeded, ""},
		{"more than is left", refund("re_2", "pay_r1", 401), StatusFailed, FailureRefundExceedsCharge},
		{"the rest", refund("re_3", "pay_r1", 400), StatusSucceeded, ""},
		{"one minor unit more", refund("re_4", "pay_r1", 1), StatusFailed, FailureRefundExceedsCharge},
		{"unknown charge", refund("re_5", "pay_unknown", 1), StatusFailed, FailureChargeNotFound},
		{"declined charge", refund("re_6", "pay_declined", 1), StatusFailed, FailureChargeNotFound},
		{"not a charge", refund("re_7", "wd_r1", 1), StatusFailed, FailureChargeNotFound},
		{"other currency", map[string]any{"reference": "re_8", "charge_reference": "pay_r1", "amount": 1, "currency": "USD"},
			StatusFailed, FailureCurrencyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.transfer("/v1/refunds", tt.body)
			if got.Status != tt.status || got.FailureCode != tt.failureCode || got.Kind != KindRefund {
				t.Fatalf("got %s %s/%q, want %s/%q", got.Kind, got.Status, got.FailureCode, tt.status, tt.failureCode)
			}
			if got.CompletedAt == nil {
				t.Fatalf("refunds are synchronous, got no completed_at")
			}
			if n := e.executions(tt.body["reference"].(string)); n != 1 {
				t.Fatalf("executions = %d, want 1", n)
			}
		})
	}
	// +1000 charge, -1000 payout, -600 -400 refunds.
	if got, want := e.balance("CNY"), openingFloat-1000; got != want {
		t.Fatalf("balance = %d, want %d", got, want)
	}
}

func TestConcurrentRefundsNeverExceedTheCharge(t *testing.T) {
	e := newEnv(t, Config{})
	e.transfer("/v1/charges", charge("pay_rc", TokenSuccess, 1000))
	const n = 10
	var wg sync.WaitGroup
	statuses := make([]Status, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, raw := e.do(http.MethodPost, "/v1/refunds", refund(fmt.Sprintf("re_c%d", i), "pay_rc", 300))
			if code == http.StatusOK {
				statuses[i] = decodeAs[Transfer](t, raw).Status
			}
		}()
	}
	wg.Wait()
	succeeded := 0
	for i, s := range statuses {
		switch s {
		case StatusSucceeded:
			succeeded++
		case StatusFailed:
		default:
			t.Fatalf("refund %d: status %q", i, s)
		}
	}
	if succeeded != 3 {
		t.Fatalf("%d refunds of 300 succeeded on a charge of 1000, want 3", succeeded)
	}
	if got, want := e.balance("CNY"), openingFloat+1000-900; got != want {
		t.Fatalf("balance = %d, want %d", got, want)
	}
}
