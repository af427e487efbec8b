package banksim

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func (e *testEnv) balances(day string) (int, []DayBalance) {
	e.t.Helper()
	code, raw := e.do(http.MethodGet, "/sim/statements/"+day+"/balances", nil)
	if code != http.StatusOK {
		return code, nil
	}
	return code, decodeAs[[]DayBalance](e.t, raw)
}

// The balances of a day follow the statement as it is served (succeeded lines
// only, alterations and injected lines included) plus the planted adjustments,
// and each day opens at the day before's close.
func TestBalances(t *testing.T) {
	clock := &fakeClock{}
	day := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clock.Set(day)
	e := newEnv(t, Config{}, func(s *Server) { s.now = clock.Now })

	e.transfer("/v1/charges", charge("pay_b1", TokenSuccess, 1000))
	e.transfer("/v1/charges", charge("pay_b2", TokenDecline, 200)) // failed: moves nothing
	e.transfer("/v1/payouts", payout("wd_b1", AccountSuccess, 300))
	e.transfer("/v1/refunds", refund("re_b1", "pay_b1", 100))
	e.transfer("/v1/charges", charge("pay_b3", TokenSuccess, 500)) // removed from the statement below
	for _, body := range []string{
		`{"date":"2026-11-25","reference":"pay_ghost","kind":"charge","amount":50,"currency":"EUR","status":"succeeded"}`,
		`{"date":"2026-11-25","reference":"pay_bad","kind":"charge","amount":12.5,"currency":"CNY","status":"succeeded"}`,
		`{"date":"2026-11-25","reference":"pay_gone","kind":"charge","amount":7,"currency":"CNY","status":"failed"}`,
	} {
		if code, raw := e.do(http.MethodPost, "/sim/statement/inject", body); code != http.StatusOK {
			t.Fatalf("inject %s: %d %s", body, code, raw)
		}
	}
	for _, body := range []string{`{"reference":"pay_b1","amount":999}`, `{"reference":"pay_b3","remove":true}`} {
		if code, raw := e.do(http.MethodPost, "/sim/statement/alter", body); code != http.StatusOK {
			t.Fatalf("alter %s: %d %s", body, code, raw)
		}
	}
	clock.Set(time.Date(2026, 11, 26, 0, 0, 1, 0, time.UTC))
	e.transfer("/v1/charges", charge("pay_b4", TokenSuccess, 70))

	adjusts := []struct {
		body     string
		wantCode int
	}{
		{`{"day":"2026-11-26","currency":"CNY","amount":-5}`, http.StatusOK},
		{`{"day":"2026-11-26","currency":"CNY","amount":0}`, http.StatusBadRequest},
		{`{"day":"2026-11-31","currency":"CNY","amount":1}`, http.StatusBadRequest},
		{`{"day":"2026-11-26","currency":"cny","amount":1}`, http.StatusBadRequest},
		{`{"day":"2026-11-26","currency":"CNY","amount":"1"}`, http.StatusBadRequest},
	}
	for _, a := range adjusts {
		if code, raw := e.do(http.MethodPost, "/sim/balances/adjust", a.body); code != a.wantCode {
			t.Fatalf("adjust %s: %d %s, want %d", a.body, code, raw, a.wantCode)
		}
	}

	tests := []struct {
		day      string
		wantCode int
		want     []DayBalance
	}{
		{"2026-11-24", http.StatusOK, []DayBalance{}},
		{"2026-11-25", http.StatusOK, []DayBalance{{"CNY", 0, 999 - 300 - 100}, {"EUR", 0, 50}}},
		{"2026-11-26", http.StatusOK, []DayBalance{{"CNY", 599, 599 + 70 - 5}, {"EUR", 50, 50}}},
		{"2026-11-27", http.StatusOK, []DayBalance{{"CNY", 664, 664}, {"EUR", 50, 50}}},
		{"2026-11-31", http.StatusNotFound, nil},
		{"20261125", http.StatusNotFound, nil},
	}
	for _, tt := range tests {
		code, got := e.balances(tt.day)
		if code != tt.wantCode || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("balances of %s: %d %v, want %d %v", tt.day, code, got, tt.wantCode, tt.want)
		}
	}
}
