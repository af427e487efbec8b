package models

import (
	"errors"
	"math/bits"
)

// The balance yield's arithmetic (the wealth issue): a money-market product publishes
// each day its income per 10,000 units of currency, as an integer of 1/10,000 of a
// minor unit (0.5123 CNY per 10,000 CNY is 512300: 51.23 fen, in ten-thousandths of a
// fen, as the fund company's API gives it). A wallet of a two-decimal currency holding
// balance minor units holds balance/10^6 lots of 10,000 units, so its exact income for
// the day is balance × income / 10^10 minor units: a fraction with the fixed
// denominator YieldDenominator, so that the part below one minor unit is carried to
// the next day exactly, as an integer numerator, never a float.

// YieldDenominator is the denominator of an exact yield amount of a two-decimal
// currency: 10^6 minor units per lot of 10,000 units, times the income's 10,000ths of
// a minor unit.
const YieldDenominator = 10_000_000_000

// ErrYieldInput: a negative balance or income, or a carried remainder that is not a
// remainder (negative, or a whole minor unit or more).
var ErrYieldInput = errors.New("yield: balance and income must be non-negative, the carried remainder below one minor unit")

// YieldDay is one day of a wallet's yield: balance (minor units, at the day's end)
// earns balance × incomePer10k / YieldDenominator minor units; with the carried
// numerator of earlier days added, the wallet is credited the whole minor units
// (credit) and carries the rest (carry, < YieldDenominator) to the next day. Over any
// run of days, credits × YieldDenominator + the last carry equal the exact sum of the
// days' incomes plus the first carry: nothing is lost or made by rounding. The product
// is taken in 128 bits, so no balance overflows it; a credit that would not fit an
// int64 is ErrOverflow.
func YieldDay(balance, incomePer10k, carried int64) (credit, carry int64, err error) {
	if balance < 0 || incomePer10k < 0 || carried < 0 || carried >= YieldDenominator {
		return 0, 0, ErrYieldInput
	}
	hi, lo := bits.Mul64(uint64(balance), uint64(incomePer10k))
	var c uint64
	lo, c = bits.Add64(lo, uint64(carried), 0)
	hi += c
	if hi >= YieldDenominator {
		// The quotient would not fit 64 bits (Div64 panics then).
		return 0, 0, ErrOverflow
	}
	q, r := bits.Div64(hi, lo, YieldDenominator)
	if q > 1<<63-1 {
		return 0, 0, ErrOverflow
	}
	return int64(q), int64(r), nil
}
