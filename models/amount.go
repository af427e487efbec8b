package models

import (
	"errors"
	"fmt"
)

// ErrMalformedAmount reports an amount that is not a JSON integer literal: a string,
// a fraction, an exponent, or anything else that is not digits. The API answers it
// with 400 invalid_request, unlike ErrInvalidAmount (a well-formed integer out of
// range), which answers 422 invalid_amount.
var ErrMalformedAmount = errors.New("amount must be an integer number of minor units")

// ParseAmountJSON reads the raw JSON value of an amount field. It accepts only an
// integer literal (optionally negative) and then checks 1..MaxAmount, so that 10.5,
// "1050" and 1e3 are malformed while 0, -5 and 10^13+1 are invalid amounts. Digits
// are accumulated with an explicit bound, never through a float.
func ParseAmountJSON(raw []byte) (int64, error) {
	if len(raw) == 0 {
		return 0, ErrMalformedAmount
	}
	neg := false
	digits := raw
	if digits[0] == '-' {
		neg = true
		digits = digits[1:]
	}
	if len(digits) == 0 {
		return 0, ErrMalformedAmount
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, ErrMalformedAmount
		}
	}
	if len(digits) > 1 && digits[0] == '0' {
		// JSON forbids leading zeros; accepting them would make "0100" mean 100.
		return 0, ErrMalformedAmount
	}
	var v int64
	for _, c := range digits {
		if v > MaxAmount {
			// Already out of range; keep consuming digits without risking overflow.
			continue
		}
		v = v*10 + int64(c-'0')
	}
	if neg || v < 1 || v > MaxAmount {
		sign := ""
		if neg {
			sign = "-"
		}
		return 0, fmt.Errorf("%w: %s%s is outside 1..%d", ErrInvalidAmount, sign, truncate(string(digits), 24), MaxAmount)
	}
	return v, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
