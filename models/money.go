package models

import (
	"errors"
	"fmt"
	"math"
)

// MaxAmount is the largest amount, in minor units, that payflow accepts for one
// movement (10^13). It leaves room for sums of many amounts in an int64.
const MaxAmount int64 = 10_000_000_000_000

// ErrInvalidAmount reports an amount outside 1..MaxAmount.
var ErrInvalidAmount = errors.New("invalid amount")

// ErrUnsupportedCurrency reports a currency code that is not an active ISO 4217 code
// in its canonical (uppercase) spelling.
var ErrUnsupportedCurrency = errors.New("unsupported currency")

// ErrOverflow reports a sum or difference that does not fit in an int64.
var ErrOverflow = errors.New("amount overflow")

// ErrCurrencyMismatch reports an operation on money of two different currencies.
var ErrCurrencyMismatch = errors.New("currency mismatch")

// Currency is an ISO 4217 alphabetic code, always uppercase.
type Currency string

// currencyExponents maps each active ISO 4217 code to its minor-unit exponent.
// Funds codes and precious metals (XAU, XDR, ...) are left out on purpose: nothing
// settles in them through a card or a bank payout.
var currencyExponents = map[Currency]int{
	"AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2,
	"AWG": 2, "AZN": 2, "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0,
	"BMD": 2, "BND": 2, "BOB": 2, "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2,
	"BZD": 2, "CAD": 2, "CDF": 2, "CHF": 2, "CLP": 0, "CNY": 2, "COP": 2, "CRC": 2,
	"CUP": 2, "CVE": 2, "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2,
	"ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2, "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2,
	"GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2, "HNL": 2, "HTG": 2,
	"HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2,
	"JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0,
	"KWD": 3, "KYD": 2, "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2,
	"LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2, "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2,
	"MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2, "MXN": 2, "MYR": 2, "MZN": 2, "NAD": 2,
	"NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2, "OMR": 3, "PAB": 2, "PEN": 2,
	"PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2, "RON": 2, "RSD": 2,
	"RUB": 2, "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2,
	"SHP": 2, "SLE": 2, "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2,
	"SZL": 2, "THB": 2, "TJS": 2, "TMT": 2, "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2,
	"TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0, "USD": 2, "UYU": 2, "UZS": 2, "VES": 2,
	"VND": 0, "VUV": 0, "WST": 2, "XAF": 0, "XCD": 2, "XOF": 0, "XPF": 0, "YER": 2,
	"ZAR": 2, "ZMW": 2, "ZWG": 2,
}

// ParseCurrency accepts an active ISO 4217 code in uppercase. "cny" is refused rather
// than folded: a client that sends lowercase has a bug we want it to see.
func ParseCurrency(s string) (Currency, error) {
	c := Currency(s)
	if _, ok := currencyExponents[c]; !ok {
		return "", fmt.Errorf("%w: %q", ErrUnsupportedCurrency, s)
	}
	return c, nil
}

// Exponent returns the number of minor-unit digits of the currency (JPY 0, CNY 2,
// BHD 3), or -1 for a code payflow does not know.
func (c Currency) Exponent() int {
	e, ok := currencyExponents[c]
	if !ok {
		return -1
	}
	return e
}

// Valid reports whether c is a supported ISO 4217 code.
func (c Currency) Valid() bool { return c.Exponent() >= 0 }

// ValidateAmount checks 1 <= amount <= MaxAmount.
func ValidateAmount(amount int64) error {
	if amount < 1 || amount > MaxAmount {
		return fmt.Errorf("%w: %d is outside 1..%d", ErrInvalidAmount, amount, MaxAmount)
	}
	return nil
}

// AddChecked returns a+b, or ErrOverflow when the sum does not fit in an int64.
func AddChecked(a, b int64) (int64, error) {
	if (b > 0 && a > math.MaxInt64-b) || (b < 0 && a < math.MinInt64-b) {
		return 0, fmt.Errorf("%w: %d + %d", ErrOverflow, a, b)
	}
	return a + b, nil
}

// SubChecked returns a-b, or ErrOverflow when the difference does not fit in an int64.
func SubChecked(a, b int64) (int64, error) {
	if (b < 0 && a > math.MaxInt64+b) || (b > 0 && a < math.MinInt64+b) {
		return 0, fmt.Errorf("%w: %d - %d", ErrOverflow, a, b)
	}
	return a - b, nil
}

// Money is an amount in minor units of a currency.
type Money struct {
	Amount   int64    `json:"amount"`
	Currency Currency `json:"currency"`
}

// Add returns m+o in the same currency, refusing a mix of currencies and overflow.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("%w: %s and %s", ErrCurrencyMismatch, m.Currency, o.Currency)
	}
	sum, err := AddChecked(m.Amount, o.Amount)
	if err != nil {
		return Money{}, err
	}
	return Money{Amount: sum, Currency: m.Currency}, nil
}

// FeeFor returns the fee of bps basis points on amount. The merchant's share is
// rounded down, so the fee is rounded up: rounding favours the platform, and never by
// more than one minor unit (1050 at 125 bps: exact fee 13.125, fee 14, merchant 1036).
// bps must be in 0..10000.
func FeeFor(amount int64, bps int64) (int64, error) {
	if bps < 0 || bps > 10000 {
		return 0, fmt.Errorf("fee_bps %d is outside 0..10000", bps)
	}
	if amount < 0 || amount > MaxAmount {
		return 0, fmt.Errorf("%w: %d", ErrInvalidAmount, amount)
	}
	// amount <= 10^13 and bps <= 10^4, so the product fits in an int64 (< 9.2*10^18).
	p := amount * bps
	fee := p / 10000
	if p%10000 != 0 {
		fee++
	}
	return fee, nil
}
