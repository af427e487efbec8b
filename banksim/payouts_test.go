package banksim

import (
	"fmt"
	"math"
	"net/http"
	"testing"
)

func TestPayoutDestinations(t *testing.T) {
	e := newEnv(t, Config{})
	tests := []struct {
		account     string
		status      Status
		failureCode string
	}{
		{AccountSuccess, StatusSucceeded, ""},
		{AccountClosed, StatusFailed, FailureAccountClosed},
		{AccountProcessing, StatusProcessing, ""},
		{"6222020000000000", StatusSucceeded, ""},
	}
	for i, tt := range tests {
		t.Run(tt.account, func(t *testing.T) {
			ref := fmt.Sprintf("wd_dest_%d", i)
			before := e.balance("CNY")
			got := e.transfer("/v1/payouts", payout(ref, tt.account, 2500))
			if got.Status != tt.status || got.FailureCode != tt.failureCode || got.Kind != KindPayout {
				t.Fatalf("got %s %s/%q, want %s/%q", got.Kind, got.Status, got.FailureCode, tt.status, tt.failureCode)
			}
			if n := e.executions(ref); n != 1 {
				t.Fatalf("executions = %d, want 1", n)
			}
			wantDelta := int64(0)
			if tt.status == StatusSucceeded {
				wantDelta = -2500
			}
			if d := e.balance("CNY") - before; d != wantDelta {
				t.Fatalf("house balance moved %d, want %d", d, wantDelta)
			}
		})
	}
}

func TestPayoutsNeverFailForLackOfFloat(t *testing.T) {
	e := newEnv(t, Config{})
	// More than the opening float: the balance goes negative, the payout succeeds.
	got := e.transfer("/v1/payouts", payout("wd_big", AccountSuccess, openingFloat+1))
	if got.Status != StatusSucceeded {
		t.Fatalf("got %+v, want succeeded", got)
	}
	if b := e.balance("CNY"); b != -1 {
		t.Fatalf("balance = %d, want -1", b)
	}
}

func TestBalanceOverflowFailsTheTransfer(t *testing.T) {
	e := newEnv(t, Config{})
	got := e.transfer("/v1/charges", charge("pay_huge", TokenSuccess, math.MaxInt64))
	if got.Status != StatusFailed || got.FailureCode != FailureLimitExceeded {
		t.Fatalf("got %+v, want failed limit_exceeded", got)
	}
	if b := e.balance("CNY"); b != openingFloat {
		t.Fatalf("balance = %d, want untouched", b)
	}
}

func TestAccountsPerCurrency(t *testing.T) {
	e := newEnv(t, Config{})
	code, raw := e.do(http.MethodGet, "/sim/accounts", nil)
	if code != http.StatusOK || len(decodeAs[accountsResponse](t, raw).Balances) != 0 {
		t.Fatalf("fresh accounts: %d %s", code, raw)
	}
	e.transfer("/v1/charges", charge("pay_cny", TokenSuccess, 100))
	e.transfer("/v1/charges", map[string]any{"reference": "pay_usd", "amount": 70, "currency": "USD", "token": TokenSuccess})
	e.transfer("/v1/payouts", map[string]any{"reference": "wd_usd", "amount": 20, "currency": "USD", "bank_account": AccountSuccess})
	_, raw = e.do(http.MethodGet, "/sim/accounts", nil)
	got := decodeAs[accountsResponse](t, raw).Balances
	want := map[string]int64{"CNY": openingFloat + 100, "USD": openingFloat + 50}
	if len(got) != len(want) || got["CNY"] != want["CNY"] || got["USD"] != want["USD"] {
		t.Fatalf("balances = %v, want %v", got, want)
	}
}
