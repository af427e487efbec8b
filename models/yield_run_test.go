package models

import (
	"testing"
	"time"
)

func TestFormatYieldCarry(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0.0000000000"},
		{4123456789, "0.4123456789"},
		{1, "0.0000000001"},
		{YieldDenominator - 1, "0.9999999999"},
		{12345678901234, "1234.5678901234"},
	} {
		if got := FormatYieldCarry(tc.n); got != tc.want {
			t.Errorf("FormatYieldCarry(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

// A yield day is a Shanghai date: it ends at 16:00 UTC, and the schedule's firing at
// 01:00 UTC (09:00 in Shanghai) pays the day before; at 20:00 UTC it is already the
// next day in Shanghai.
func TestYieldDays(t *testing.T) {
	end, err := YieldDayEnd("2026-03-01")
	if err != nil || !end.Equal(time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)) {
		t.Fatalf("end of 2026-03-01 = %s, %v", end, err)
	}
	for _, bad := range []string{"2026-3-1", "2026-02-30", "", "yesterday"} {
		if _, err := YieldDayEnd(bad); err == nil {
			t.Errorf("YieldDayEnd(%q) accepted", bad)
		}
	}
	for _, tc := range []struct {
		at        time.Time
		day, paid string
	}{
		{time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC), "2026-03-02", "2026-03-01"},
		{time.Date(2026, 3, 1, 20, 0, 0, 0, time.UTC), "2026-03-02", "2026-03-01"},
		{time.Date(2026, 3, 1, 15, 59, 0, 0, time.UTC), "2026-03-01", "2026-02-28"},
	} {
		if got := YieldDayOf(tc.at); got != tc.day {
			t.Errorf("YieldDayOf(%s) = %s, want %s", tc.at, got, tc.day)
		}
		if got := PreviousYieldDay(tc.at); got != tc.paid {
			t.Errorf("PreviousYieldDay(%s) = %s, want %s", tc.at, got, tc.paid)
		}
	}
}
