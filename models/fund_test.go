package models

import (
	"errors"
	"testing"
	"time"
)

// A week of the simulator's kind: 2026-10-01 (Thu) to 10-07 (Wed) a holiday, then
// ordinary weekdays.
var testCalendar = TradingCalendar{From: "2026-09-28", To: "2026-10-20", Days: []string{
	"2026-09-28", "2026-09-29", "2026-09-30", "2026-10-08", "2026-10-09", "2026-10-12",
	"2026-10-13", "2026-10-14", "2026-10-15", "2026-10-16", "2026-10-19", "2026-10-20",
}}

func TestTradeDate(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, Shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct {
		name, now, want string
	}{
		{"a trading day before the cut-off", "2026-09-28 14:59", "2026-09-28"},
		{"at the cut-off: the next trading day", "2026-09-28 15:00", "2026-09-29"},
		{"after the cut-off before a holiday", "2026-09-30 16:00", "2026-10-08"},
		{"in the holiday", "2026-10-03 10:00", "2026-10-08"},
		{"friday after the cut-off: monday", "2026-10-09 15:30", "2026-10-12"},
		{"saturday", "2026-10-10 09:00", "2026-10-12"},
		{"sunday night", "2026-10-11 23:59", "2026-10-12"},
		{"the UTC date is yesterday's", "2026-10-12 07:00", "2026-10-12"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := testCalendar.TradeDate(at(tc.now).UTC(), "15:00")
			if err != nil || got != tc.want {
				t.Fatalf("TradeDate(%s) = %q, %v; want %q", tc.now, got, err, tc.want)
			}
		})
	}
	if _, err := testCalendar.TradeDate(at("2026-10-20 16:00"), "15:00"); !errors.Is(err, ErrCalendarTooShort) {
		t.Fatalf("past the calendar's end: %v", err)
	}
	if _, err := testCalendar.TradeDate(at("2026-10-12 10:00"), "3pm"); err == nil {
		t.Fatal("a malformed cut-off was taken")
	}
}

func TestTradingDaysAfter(t *testing.T) {
	cases := []struct {
		from string
		n    int
		want string
	}{
		{"2026-09-29", 0, "2026-09-29"},
		{"2026-09-29", 1, "2026-09-30"},
		{"2026-09-30", 1, "2026-10-08"}, // over the holiday
		{"2026-09-30", 2, "2026-10-09"},
		{"2026-10-09", 1, "2026-10-12"}, // over the weekend
	}
	for _, tc := range cases {
		if got, err := testCalendar.After(tc.from, tc.n); err != nil || got != tc.want {
			t.Errorf("After(%s, %d) = %q, %v; want %q", tc.from, tc.n, got, err, tc.want)
		}
	}
}

func TestMarketValue(t *testing.T) {
	cases := []struct {
		shares, nav, want int64
		err               error
	}{
		{100050, 10000, 100050, nil}, // 1000.50 shares at 1.0000 = 1000.50
		{100000, 12345, 123450, nil}, // 1000 shares at 1.2345
		{1, 9999, 0, nil},            // 0.01 share at 0.9999 = 0.009999: rounded down
		{333, 10001, 333, nil},       // 3.33 at 1.0001 = 3.330333
		{-1, 10000, 0, ErrFundMath},  // never negative
		{MaxAmount, 1 << 40, 0, ErrOverflow},
	}
	for _, tc := range cases {
		got, err := MarketValue(tc.shares, tc.nav)
		if !errors.Is(err, tc.err) || err == nil && got != tc.want {
			t.Errorf("MarketValue(%d, %d) = %d, %v; want %d, %v", tc.shares, tc.nav, got, err, tc.want, tc.err)
		}
	}
}

func TestShareAsset(t *testing.T) {
	a := ShareAsset("prd_bond")
	if p, ok := a.ShareProduct(); !ok || p != "prd_bond" || !a.ValidAsset() || a.Valid() {
		t.Fatalf("share asset %q: product %q %v, asset %v, currency %v", a, p, ok, a.ValidAsset(), a.Valid())
	}
	for _, bad := range []Currency{"SHR.", "SHR.PRD", "SHR.a-b", "XXX", "shr.prd_bond"} {
		if bad.ValidAsset() {
			t.Errorf("%q is an asset", bad)
		}
	}
	if !Currency("CNY").ValidAsset() {
		t.Error("CNY is not an asset")
	}
}
