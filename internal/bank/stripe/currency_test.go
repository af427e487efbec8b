package stripe

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	stripego "github.com/stripe/stripe-go/v82"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// What reaches Stripe is the amount in Stripe's unit of the currency, which is not
// always ISO's (ISK 1 is 100 at Stripe, MGA 1.00 is 1), and what comes back is in
// ISO minor units again. An amount Stripe cannot take exactly is refused before
// anything is sent: a rounded amount would move a different sum than the one the
// ledger holds.
func TestAmountsReachStripeInItsUnit(t *testing.T) {
	tests := []struct {
		name     string
		op       bank.Kind
		currency models.Currency
		amount   int64 // ISO minor units
		// wantSent is the amount in the request Stripe received; "" with wantErr.
		wantSent string
		wantErr  error
	}{
		{name: "USD is two-decimal at both", op: bank.KindCharge, currency: "USD", amount: 1050, wantSent: "1050"},
		{name: "JPY is zero-decimal at both", op: bank.KindCharge, currency: "JPY", amount: 500, wantSent: "500"},
		{name: "ISK is two-decimal at Stripe", op: bank.KindCharge, currency: "ISK", amount: 100, wantSent: "10000"},
		{name: "UGX is two-decimal at Stripe", op: bank.KindCharge, currency: "UGX", amount: 5, wantSent: "500"},
		{name: "MGA is zero-decimal at Stripe", op: bank.KindCharge, currency: "MGA", amount: 1000, wantSent: "10"},
		{name: "MGA below one ariary cannot be charged", op: bank.KindCharge, currency: "MGA", amount: 1050, wantErr: bank.ErrInvalid},
		{name: "KWD with a last digit of 0", op: bank.KindCharge, currency: "KWD", amount: 5120, wantSent: "5120"},
		{name: "KWD with a last digit other than 0", op: bank.KindCharge, currency: "KWD", amount: 5124, wantErr: bank.ErrInvalid},
		{name: "BHD with a last digit other than 0", op: bank.KindCharge, currency: "BHD", amount: 1, wantErr: bank.ErrInvalid},
		{name: "HUF charges take fillér", op: bank.KindCharge, currency: "HUF", amount: 1045, wantSent: "1045"},
		{name: "a currency Stripe does not support", op: bank.KindCharge, currency: "IQD", amount: 1000, wantErr: bank.ErrInvalid},
		{name: "STN is not Stripe's STD", op: bank.KindCharge, currency: "STN", amount: 1000, wantErr: bank.ErrInvalid},
		{name: "ISK payout", op: bank.KindPayout, currency: "ISK", amount: 100, wantSent: "10000"},
		{name: "HUF payout of whole forints", op: bank.KindPayout, currency: "HUF", amount: 1000, wantSent: "1000"},
		{name: "HUF payout with fillér", op: bank.KindPayout, currency: "HUF", amount: 1045, wantErr: bank.ErrInvalid},
		{name: "TWD payout of whole dollars", op: bank.KindPayout, currency: "TWD", amount: 80000, wantSent: "80000"},
		{name: "TWD payout with cents", op: bank.KindPayout, currency: "TWD", amount: 80045, wantErr: bank.ErrInvalid},
		{name: "MGA payout", op: bank.KindPayout, currency: "MGA", amount: 20000, wantSent: "200"},
		{name: "OMR payout with a last digit other than 0", op: bank.KindPayout, currency: "OMR", amount: 20001, wantErr: bank.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, url := recordedStripeMock(t)
			c := newChannel(t, url, Options{})
			var got bank.Transfer
			var err error
			switch tc.op {
			case bank.KindCharge:
				got, err = c.Charge(context.Background(), bank.ChargeRequest{
					Reference: models.NewID(models.PrefixPayment), Amount: tc.amount, Currency: tc.currency, Token: "tok_visa",
				})
			case bank.KindPayout:
				got, err = c.Payout(context.Background(), bank.PayoutRequest{
					Reference: models.NewID(models.PrefixWithdrawal), Amount: tc.amount, Currency: tc.currency, BankAccount: "ba_success",
				})
			}
			if requireContractError(t, err, tc.wantErr) {
				require.Empty(t, rec.requests(), "nothing may reach Stripe")
				return
			}
			reqs := rec.requests()
			require.Len(t, reqs, 1)
			require.Equal(t, tc.wantSent, reqs[0].Form.Get("amount"))
			// stripe-mock echoes amount and currency: the answer is in ISO units again.
			require.Equal(t, tc.amount, got.Amount)
			require.Equal(t, tc.currency, got.Currency)
		})
	}
}

// A refund is sent in Stripe's unit of its charge's currency (also when the
// request does not name the currency), and refused before sending when Stripe
// cannot take the amount exactly.
func TestRefundAmountsReachStripeInItsUnit(t *testing.T) {
	tests := []struct {
		name           string
		chargeCurrency string
		currency       models.Currency
		amount         int64
		wantSent       string
		wantErr        error
	}{
		{name: "ISK", chargeCurrency: "isk", currency: "ISK", amount: 50, wantSent: "5000"},
		{name: "ISK, the currency taken from the charge", chargeCurrency: "isk", amount: 50, wantSent: "5000"},
		{name: "MGA", chargeCurrency: "mga", currency: "MGA", amount: 100, wantSent: "1"},
		{name: "MGA below one ariary", chargeCurrency: "mga", currency: "MGA", amount: 150, wantErr: bank.ErrInvalid},
		{name: "KWD with a last digit other than 0", chargeCurrency: "kwd", currency: "KWD", amount: 5, wantErr: bank.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, rec, url := newFakeStripe(t, toStripeMock(t))
			pay := models.NewID(models.PrefixPayment)
			f.addCharge(pay, "succeeded", 100000, tc.chargeCurrency, time.Now())
			_, err := newChannel(t, url, Options{}).Refund(context.Background(), bank.RefundRequest{
				Reference: models.NewID(models.PrefixRefund), ChargeReference: pay, Amount: tc.amount, Currency: tc.currency,
			})
			posts := rec.posts()
			if requireContractError(t, err, tc.wantErr) {
				require.Empty(t, posts, "no refund may be sent")
				return
			}
			require.Len(t, posts, 1)
			require.Equal(t, tc.wantSent, posts[0].Form.Get("amount"))
		})
	}
}

// Amounts Stripe reports (a queried transfer, a statement line) are converted back
// to ISO minor units: an ISK charge of 10000 at Stripe is 100 ISK.
func TestAmountsFromStripeInISOUnits(t *testing.T) {
	now := time.Now()
	pay := models.NewID(models.PrefixPayment)
	wd := models.NewID(models.PrefixWithdrawal)
	f, _, url := newFakeStripe(t, nil)
	ch := f.addCharge(pay, "succeeded", 10000, "isk", now)
	po := f.add("/v1/payouts", "po", now, map[string]any{"object": "payout", "status": "paid", "amount": 200, "currency": "mga", "metadata": meta(wd)})
	for _, src := range []map[string]any{ch, po} {
		f.add("/v1/balance_transactions", "txn", now, map[string]any{
			"object": "balance_transaction", "type": src["object"], "amount": src["amount"], "currency": src["currency"],
			"status": "available", "source": src["id"],
		})
	}
	c := newChannel(t, url, Options{})

	got, err := c.Query(context.Background(), pay)
	require.NoError(t, err)
	require.Equal(t, int64(100), got.Amount)
	require.Equal(t, models.Currency("ISK"), got.Currency)
	got, err = c.Query(context.Background(), wd)
	require.NoError(t, err)
	require.Equal(t, int64(20000), got.Amount)
	require.Equal(t, models.Currency("MGA"), got.Currency)

	rc, err := c.Statement(context.Background(), now)
	require.NoError(t, err)
	lines, err := readStatement(t, rc)
	require.NoError(t, err)
	amounts := map[string][]string{}
	for _, l := range lines[1:] {
		amounts[l[0]] = []string{l[2], l[3]}
	}
	require.Equal(t, map[string][]string{pay: {"100", "ISK"}, wd: {"20000", "MGA"}}, amounts)
}

// Every currency payflow accepts has a known unit at Stripe (or is known to be
// unsupported there): the groups below must cover exactly the codes models accepts,
// so that a newly accepted currency fails here until someone states how Stripe
// counts it. Each group's examples hold for each of its currencies, both ways.
func TestStripeUnitOfEveryCurrency(t *testing.T) {
	// sent is an example: an amount in ISO minor units and what Stripe must get
	// for it, or refused (-1).
	type sent struct {
		kind   bank.Kind
		iso    int64
		stripe int64
	}
	const refused = -1
	groups := []struct {
		name  string
		codes []models.Currency
		sent  []sent
		// back are amounts at Stripe and what they are in ISO minor units, or
		// refused.
		back [][2]int64
	}{
		{
			name: "two-decimal at both",
			codes: []models.Currency{
				"AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD",
				"BDT", "BGN", "BMD", "BND", "BOB", "BRL", "BSD", "BWP", "BYN", "BZD", "CAD", "CDF",
				"CHF", "CNY", "COP", "CRC", "CVE", "CZK", "DKK", "DOP", "DZD", "EGP", "ETB", "EUR",
				"FJD", "FKP", "GBP", "GEL", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HTG", "IDR",
				"ILS", "INR", "JMD", "KES", "KGS", "KHR", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD",
				"LSL", "MAD", "MDL", "MKD", "MMK", "MNT", "MOP", "MUR", "MVR", "MWK", "MXN", "MYR",
				"MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR",
				"PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR", "SEK", "SGD", "SHP", "SLE",
				"SOS", "SRD", "SZL", "THB", "TJS", "TOP", "TRY", "TTD", "TZS", "UAH", "USD", "UYU",
				"UZS", "WST", "XCD", "YER", "ZAR", "ZMW",
			},
			sent: []sent{{bank.KindCharge, 1050, 1050}, {bank.KindRefund, 1, 1}, {bank.KindPayout, 1045, 1045}},
			back: [][2]int64{{1050, 1050}, {1, 1}},
		},
		{
			name:  "zero-decimal at both",
			codes: []models.Currency{"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "PYG", "RWF", "VND", "VUV", "XAF", "XOF", "XPF"},
			sent:  []sent{{bank.KindCharge, 500, 500}, {bank.KindRefund, 1, 1}, {bank.KindPayout, 7, 7}},
			back:  [][2]int64{{500, 500}, {1, 1}},
		},
		{
			name:  "zero-decimal in ISO, two decimals of 00 at Stripe",
			codes: []models.Currency{"ISK", "UGX"},
			sent:  []sent{{bank.KindCharge, 5, 500}, {bank.KindRefund, 1, 100}, {bank.KindPayout, 7, 700}},
			back:  [][2]int64{{500, 5}, {150, refused}},
		},
		{
			name:  "two-decimal in ISO, zero-decimal at Stripe",
			codes: []models.Currency{"MGA"},
			sent: []sent{
				{bank.KindCharge, 1000, 10}, {bank.KindCharge, 1050, refused}, {bank.KindRefund, 1, refused},
				{bank.KindPayout, 100, 1}, {bank.KindPayout, 199, refused},
			},
			back: [][2]int64{{10, 1000}, {1, 100}},
		},
		{
			name:  "three-decimal, the last digit 0 at Stripe",
			codes: []models.Currency{"BHD", "JOD", "KWD", "OMR", "TND"},
			sent: []sent{
				{bank.KindCharge, 5120, 5120}, {bank.KindCharge, 5124, refused}, {bank.KindRefund, 10, 10},
				{bank.KindRefund, 1, refused}, {bank.KindPayout, 20000, 20000}, {bank.KindPayout, 20001, refused},
			},
			back: [][2]int64{{5120, 5120}, {5124, 5124}},
		},
		{
			name:  "two-decimal, payouts in whole units",
			codes: []models.Currency{"HUF", "TWD"},
			sent: []sent{
				{bank.KindCharge, 1045, 1045}, {bank.KindRefund, 1045, 1045},
				{bank.KindPayout, 1000, 1000}, {bank.KindPayout, 1045, refused},
			},
			back: [][2]int64{{1045, 1045}},
		},
		{
			name: "not supported by Stripe",
			codes: []models.Currency{
				"BTN", "CUP", "ERN", "GHS", "IQD", "IRR", "KPW", "LYD", "MRU", "SDG", "SSP", "STN",
				"SVC", "SYP", "TMT", "VES", "ZWG",
			},
			sent: []sent{{bank.KindCharge, 1000, refused}, {bank.KindRefund, 1000, refused}, {bank.KindPayout, 1000, refused}},
			back: [][2]int64{{1000, refused}},
		},
	}

	covered := map[models.Currency]string{}
	for _, g := range groups {
		for _, c := range g.codes {
			require.Empty(t, covered[c], "%s is in two groups", c)
			covered[c] = g.name
			t.Run(g.name+"/"+string(c), func(t *testing.T) {
				_, err := models.ParseCurrency(string(c))
				require.NoError(t, err, "payflow does not accept %s", c)
				for _, s := range g.sent {
					got, err := toStripe(c, s.iso, s.kind)
					if s.stripe == refused {
						require.ErrorIs(t, err, bank.ErrInvalid, "%s %s %d", s.kind, c, s.iso)
						continue
					}
					require.NoError(t, err, "%s %s %d", s.kind, c, s.iso)
					require.Equal(t, s.stripe, got, "%s %s %d", s.kind, c, s.iso)
				}
				for _, b := range g.back {
					cur, got, err := fromStripe(stripego.Currency(strings.ToLower(string(c))), b[0])
					if b[1] == refused {
						require.Error(t, err, "%s %d at stripe", c, b[0])
						continue
					}
					require.NoError(t, err, "%s %d at stripe", c, b[0])
					require.Equal(t, c, cur)
					require.Equal(t, b[1], got, "%s %d at stripe", c, b[0])
				}
			})
		}
	}
	// Every code payflow accepts (ISO 4217 codes are three capital letters).
	var accepted []models.Currency
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			for c := 'A'; c <= 'Z'; c++ {
				if cur, err := models.ParseCurrency(string([]rune{a, b, c})); err == nil {
					accepted = append(accepted, cur)
				}
			}
		}
	}
	require.NotEmpty(t, accepted)
	for _, c := range accepted {
		require.NotEmpty(t, covered[c], "payflow accepts %s: say how Stripe counts it (units in currency.go) and add it here", c)
	}
	require.Len(t, covered, len(accepted))
	for c := range units {
		require.NotEmpty(t, covered[c], "units has %s, which no group here covers", c)
	}
}

// Converting never wraps around: an amount that does not fit an int64 in the
// other unit is refused, not sent or reported as another number.
func TestStripeUnitsOverflow(t *testing.T) {
	got, err := toStripe("ISK", models.MaxAmount, bank.KindCharge)
	require.NoError(t, err)
	require.Equal(t, models.MaxAmount*100, got)

	_, err = toStripe("ISK", math.MaxInt64/10, bank.KindCharge)
	require.ErrorIs(t, err, bank.ErrInvalid)
	require.ErrorIs(t, err, models.ErrOverflow)

	_, _, err = fromStripe("mga", math.MaxInt64/10)
	require.ErrorIs(t, err, models.ErrOverflow)
	_, _, err = fromStripe("mga", math.MinInt64/10)
	require.ErrorIs(t, err, models.ErrOverflow)
}

// A statement line in a currency payflow does not take through Stripe keeps
// Stripe's amount (reconciliation reports it as an unknown currency, never as ours);
// an amount that is no whole number of ISO minor units is not an answer, and ends
// the statement with an error rather than a line with another amount.
func TestStatementAmountsPayflowCannotCount(t *testing.T) {
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	bt := func(f *fakeStripe, amount int64, currency string) {
		f.add("/v1/balance_transactions", "txn", day.Add(time.Hour), map[string]any{
			"object": "balance_transaction", "type": "charge", "amount": amount, "currency": currency,
			"status": "available", "source": "py_unexpandable",
		})
	}
	t.Run("a currency payflow does not take through Stripe", func(t *testing.T) {
		f, _, url := newFakeStripe(t, nil)
		bt(f, 1000, "std")
		rc, err := newChannel(t, url, Options{}).Statement(context.Background(), day)
		require.NoError(t, err)
		got, err := readStatement(t, rc)
		require.NoError(t, err)
		require.Equal(t, [][]string{statementHeader, {"py_unexpandable", "charge", "1000", "STD", "succeeded", "2026-11-24T01:00:00Z"}}, got)
	})
	t.Run("fractions of a zero-decimal currency", func(t *testing.T) {
		f, _, url := newFakeStripe(t, nil)
		bt(f, 150, "isk")
		rc, err := newChannel(t, url, Options{}).Statement(context.Background(), day)
		require.NoError(t, err)
		_, err = readStatement(t, rc)
		require.ErrorIs(t, err, bank.ErrUnknownOutcome)
	})
}
