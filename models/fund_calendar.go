package models

import (
	"fmt"
	"slices"
	"time"
)

// Shanghai is the fund company's time zone (UTC+8, no daylight saving time): its
// dates and its cut-off time are Asia/Shanghai's.
var Shanghai = time.FixedZone("Asia/Shanghai", 8*60*60)

// TradingCalendar is the fund company's trading days (sorted dates) over a span
// of dates, from From to To.
type TradingCalendar struct {
	From, To string
	Days     []string
}

// ErrCalendarTooShort: the calendar ends before the date asked of it.
var ErrCalendarTooShort = fmt.Errorf("the trading calendar does not reach the date")

// isTrading reports whether date is a trading day.
func (c TradingCalendar) isTrading(date string) bool {
	_, ok := slices.BinarySearch(c.Days, date)
	return ok
}

// next is the first trading day after date.
func (c TradingCalendar) next(date string) (string, error) {
	i, found := slices.BinarySearch(c.Days, date)
	if found {
		i++
	}
	if i >= len(c.Days) {
		return "", fmt.Errorf("%w: after %s (to %s)", ErrCalendarTooShort, date, c.To)
	}
	return c.Days[i], nil
}

// TradeDate is the trade date of an order placed at now: today (Asia/Shanghai) when
// today is a trading day and now is before the cut-off ("HH:MM", Asia/Shanghai),
// else the next trading day.
func (c TradingCalendar) TradeDate(now time.Time, cutoff string) (string, error) {
	at, err := time.Parse("15:04", cutoff)
	if err != nil {
		return "", fmt.Errorf("cut-off %q: %w", cutoff, err)
	}
	local := now.In(Shanghai)
	today := local.Format(DayLayout)
	if today < c.From {
		return "", fmt.Errorf("%w: the calendar starts %s, after today %s", ErrCalendarTooShort, c.From, today)
	}
	minutes := local.Hour()*60 + local.Minute()
	if c.isTrading(today) && minutes < at.Hour()*60+at.Minute() {
		return today, nil
	}
	return c.next(today)
}

// After is the n-th trading day after date (date itself for n = 0): T+n.
func (c TradingCalendar) After(date string, n int) (string, error) {
	d := date
	for range n {
		var err error
		if d, err = c.next(d); err != nil {
			return "", err
		}
	}
	return d, nil
}
