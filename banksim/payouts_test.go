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
			e.decide(t, "/v1/payouts", payout(fmt.Sprintf("wd_dest_%d", i), tt.account, 2500), KindPayout, tt.status, tt.failureCode, -2500)
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
