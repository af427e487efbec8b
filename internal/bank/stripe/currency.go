package stripe

import (
	"fmt"
	"math"
	"strings"

	stripego "github.com/stripe/stripe-go/v82"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// unit is how Stripe counts amounts of one currency ("Supported currencies" in
// Stripe's documentation: its zero-decimal and three-decimal lists and its special
// cases), which is not always how ISO 4217 does.
type unit struct {
	// exponent is the number of decimals of Stripe's amount: ISK and UGX are 2
	// (ISO: 0), MGA is 0 (ISO: 2).
	exponent int
	// multiple is what every amount at Stripe must be a multiple of, in Stripe's
	// unit: 10 for the three-decimal currencies (Stripe's partners need the last
	// digit 0), 100 for ISK and UGX (whole units written with two decimals).
	multiple int64
	// payoutMultiple is the same for payouts: HUF and TWD are charged with two
	// decimals but paid out in whole units only.
	payoutMultiple int64
}

var (
	twoDecimal   = unit{exponent: 2, multiple: 1, payoutMultiple: 1}
	zeroDecimal  = unit{exponent: 0, multiple: 1, payoutMultiple: 1}
	threeDecimal = unit{exponent: 3, multiple: 10, payoutMultiple: 10}
	// wholeAsTwo: a zero-decimal currency that Stripe, for backward compatibility,
	// still writes with two decimals that are always 00.
	wholeAsTwo = unit{exponent: 2, multiple: 100, payoutMultiple: 100}
	// wholePayouts: two decimals, except that payouts are in whole units.
	wholePayouts = unit{exponent: 2, multiple: 1, payoutMultiple: 100}
)

// units holds Stripe's unit of every currency payflow accepts that Stripe also
// supports. Left out, so refused before any call: BTN, CUP, ERN, GHS, IQD, IRR, KPW,
// LYD, MRU, SDG, SSP, STN, SVC, SYP, TMT, VES and ZWG, which Stripe does not list
// (its "std" is the São Tomé dobra before the 1000:1 redenomination, not STN).
var units = map[models.Currency]unit{
	"AED": twoDecimal, "AFN": twoDecimal, "ALL": twoDecimal, "AMD": twoDecimal, "ANG": twoDecimal,
	"AOA": twoDecimal, "ARS": twoDecimal, "AUD": twoDecimal, "AWG": twoDecimal, "AZN": twoDecimal,
	"BAM": twoDecimal, "BBD": twoDecimal, "BDT": twoDecimal, "BGN": twoDecimal, "BHD": threeDecimal,
	"BIF": zeroDecimal, "BMD": twoDecimal, "BND": twoDecimal, "BOB": twoDecimal, "BRL": twoDecimal,
	"BSD": twoDecimal, "BWP": twoDecimal, "BYN": twoDecimal, "BZD": twoDecimal, "CAD": twoDecimal,
	"CDF": twoDecimal, "CHF": twoDecimal, "CLP": zeroDecimal, "CNY": twoDecimal, "COP": twoDecimal,
	"CRC": twoDecimal, "CVE": twoDecimal, "CZK": twoDecimal, "DJF": zeroDecimal, "DKK": twoDecimal,
	"DOP": twoDecimal, "DZD": twoDecimal, "EGP": twoDecimal, "ETB": twoDecimal, "EUR": twoDecimal,
	"FJD": twoDecimal, "FKP": twoDecimal, "GBP": twoDecimal, "GEL": twoDecimal, "GIP": twoDecimal,
	"GMD": twoDecimal, "GNF": zeroDecimal, "GTQ": twoDecimal, "GYD": twoDecimal, "HKD": twoDecimal,
	"HNL": twoDecimal, "HTG": twoDecimal, "HUF": wholePayouts, "IDR": twoDecimal, "ILS": twoDecimal,
	"INR": twoDecimal, "ISK": wholeAsTwo, "JMD": twoDecimal, "JOD": threeDecimal, "JPY": zeroDecimal,
	"KES": twoDecimal, "KGS": twoDecimal, "KHR": twoDecimal, "KMF": zeroDecimal, "KRW": zeroDecimal,
	"KWD": threeDecimal, "KYD": twoDecimal, "KZT": twoDecimal, "LAK": twoDecimal, "LBP": twoDecimal,
	"LKR": twoDecimal, "LRD": twoDecimal, "LSL": twoDecimal, "MAD": twoDecimal, "MDL": twoDecimal,
	"MGA": zeroDecimal, "MKD": twoDecimal, "MMK": twoDecimal, "MNT": twoDecimal, "MOP": twoDecimal,
	"MUR": twoDecimal, "MVR": twoDecimal, "MWK": twoDecimal, "MXN": twoDecimal, "MYR": twoDecimal,
	"MZN": twoDecimal, "NAD": twoDecimal, "NGN": twoDecimal, "NIO": twoDecimal, "NOK": twoDecimal,
	"NPR": twoDecimal, "NZD": twoDecimal, "OMR": threeDecimal, "PAB": twoDecimal, "PEN": twoDecimal,
	"PGK": twoDecimal, "PHP": twoDecimal, "PKR": twoDecimal, "PLN": twoDecimal, "PYG": zeroDecimal,
	"QAR": twoDecimal, "RON": twoDecimal, "RSD": twoDecimal, "RUB": twoDecimal, "RWF": zeroDecimal,
	"SAR": twoDecimal, "SBD": twoDecimal, "SCR": twoDecimal, "SEK": twoDecimal, "SGD": twoDecimal,
	"SHP": twoDecimal, "SLE": twoDecimal, "SOS": twoDecimal, "SRD": twoDecimal, "SZL": twoDecimal,
	"THB": twoDecimal, "TJS": twoDecimal, "TND": threeDecimal, "TOP": twoDecimal, "TRY": twoDecimal,
	"TTD": twoDecimal, "TWD": wholePayouts, "TZS": twoDecimal, "UAH": twoDecimal, "UGX": wholeAsTwo,
	"USD": twoDecimal, "UYU": twoDecimal, "UZS": twoDecimal, "VND": zeroDecimal, "VUV": zeroDecimal,
	"WST": twoDecimal, "XAF": zeroDecimal, "XCD": twoDecimal, "XOF": zeroDecimal, "XPF": zeroDecimal,
	"YER": twoDecimal, "ZAR": twoDecimal, "ZMW": twoDecimal,
}

// toStripe converts an amount in ISO minor units of c into Stripe's unit for a
// movement of the given kind. It answers bank.ErrInvalid, before anything is sent,
// for a currency Stripe does not support and for an amount Stripe cannot take
// exactly (MGA 10.50, KWD 5.124, a HUF payout with fillér): rounding would move
// another sum than the one the ledger holds.
func toStripe(c models.Currency, amount int64, kind bank.Kind) (int64, error) {
	u, ok := units[c]
	iso := c.Exponent()
	if !ok || iso < 0 {
		return 0, fmt.Errorf("%w: stripe does not support %q", bank.ErrInvalid, c)
	}
	n, err := rescale(amount, iso, u.exponent)
	if err != nil {
		return 0, fmt.Errorf("%w: %d in minor units of %s at stripe: %w", bank.ErrInvalid, amount, c, err)
	}
	multiple := u.multiple
	if kind == bank.KindPayout {
		multiple = u.payoutMultiple
	}
	if n%multiple != 0 {
		return 0, fmt.Errorf("%w: %s %d at stripe (%d in ISO minor units) is not a multiple of %d, which stripe requires",
			bank.ErrInvalid, c, n, amount, multiple)
	}
	return n, nil
}

// fromStripe converts an amount Stripe reports in its unit of currency c into ISO
// minor units, with the currency as payflow spells it. An amount of a currency
// payflow does not take through Stripe, or not a whole number of ISO minor units
// (ISK 1.50 written as 150), is an error: it is not one of ours, or not an answer.
func fromStripe(c stripego.Currency, amount int64) (models.Currency, int64, error) {
	cur := upper(c)
	u, ok := units[cur]
	iso := cur.Exponent()
	if !ok || iso < 0 {
		return cur, 0, fmt.Errorf("amount in %q, a currency payflow does not take through stripe", c)
	}
	n, err := rescale(amount, u.exponent, iso)
	if err != nil {
		return cur, 0, fmt.Errorf("%s %d at stripe: %w", cur, amount, err)
	}
	return cur, n, nil
}

// rescale converts amount from a unit of 10^-from to one of 10^-to, refusing an
// amount that overflows an int64 or is not a whole number of the new unit.
func rescale(amount int64, from, to int) (int64, error) {
	switch {
	case to > from:
		m := pow10(to - from)
		if amount > math.MaxInt64/m || amount < math.MinInt64/m {
			return 0, fmt.Errorf("%w: %d * %d", models.ErrOverflow, amount, m)
		}
		return amount * m, nil
	case to < from:
		d := pow10(from - to)
		if amount%d != 0 {
			return 0, fmt.Errorf("%d is not a multiple of %d", amount, d)
		}
		return amount / d, nil
	default:
		return amount, nil
	}
}

// pow10 is 10^e for the few digits two exponents differ by (at most 3).
func pow10(e int) int64 {
	p := int64(1)
	for range e {
		p *= 10
	}
	return p
}

// lower is a currency as Stripe spells it.
func lower(c models.Currency) *string { return stripego.String(strings.ToLower(string(c))) }

// upper is a currency as payflow spells it.
func upper(c stripego.Currency) models.Currency { return models.Currency(strings.ToUpper(string(c))) }
