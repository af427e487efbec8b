package models

import (
	"errors"
	"math"
	"sort"
	"testing"
	"time"
)

func TestParseCurrency(t *testing.T) {
	tests := []struct {
		in   string
		exp  int
		fail bool
	}{
		{"CNY", 2, false}, {"JPY", 0, false}, {"BHD", 3, false}, {"USD", 2, false},
		{"cny", 0, true}, {"XYZ", 0, true}, {"", 0, true}, {"CN", 0, true}, {"CNYY", 0, true}, {" CNY", 0, true},
	}
	for _, tc := range tests {
		c, err := ParseCurrency(tc.in)
		if tc.fail {
			if !errors.Is(err, ErrUnsupportedCurrency) {
				t.Errorf("ParseCurrency(%q) err = %v, want unsupported", tc.in, err)
			}
			continue
		}
		if err != nil || c.Exponent() != tc.exp {
			t.Errorf("ParseCurrency(%q) = %v (exp %d), %v; want exponent %d", tc.in, c, c.Exponent(), err, tc.exp)
		}
	}
}

func TestParseAmountJSON(t *testing.T) {
	tests := []struct {
		raw  string
		want int64
		err  error
	}{
		{"1050", 1050, nil},
		{"1", 1, nil},
		{"10000000000000", MaxAmount, nil},
		{"10000000000001", 0, ErrInvalidAmount},
		{"0", 0, ErrInvalidAmount},
		{"-5", 0, ErrInvalidAmount},
		{"-0", 0, ErrInvalidAmount},
		{"99999999999999999999999999", 0, ErrInvalidAmount},
		{"10.5", 0, ErrMalformedAmount},
		{"1e3", 0, ErrMalformedAmount},
		{`"1050"`, 0, ErrMalformedAmount},
		{"null", 0, ErrMalformedAmount},
		{"true", 0, ErrMalformedAmount},
		{"", 0, ErrMalformedAmount},
		{"-", 0, ErrMalformedAmount},
		{"0100", 0, ErrMalformedAmount},
		{"[1]", 0, ErrMalformedAmount},
	}
	for _, tc := range tests {
		got, err := ParseAmountJSON([]byte(tc.raw))
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("ParseAmountJSON(%s) err = %v, want %v", tc.raw, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseAmountJSON(%s) = %d, %v; want %d", tc.raw, got, err, tc.want)
		}
	}
}

func FuzzParseAmountJSON(f *testing.F) {
	for _, s := range []string{"1050", "0", "-1", "10.5", "1e3", `"1"`, "10000000000001", "007"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := ParseAmountJSON(raw)
		if err == nil && (v < 1 || v > MaxAmount) {
			t.Fatalf("accepted %d from %q", v, raw)
		}
		if err != nil && !errors.Is(err, ErrMalformedAmount) && !errors.Is(err, ErrInvalidAmount) {
			t.Fatalf("unexpected error kind %v", err)
		}
	})
}

func TestCheckedArithmetic(t *testing.T) {
	if _, err := AddChecked(math.MaxInt64, 1); !errors.Is(err, ErrOverflow) {
		t.Fatal("MaxInt64+1 did not overflow")
	}
	if _, err := AddChecked(math.MinInt64, -1); !errors.Is(err, ErrOverflow) {
		t.Fatal("MinInt64-1 did not overflow")
	}
	if _, err := SubChecked(math.MinInt64, 1); !errors.Is(err, ErrOverflow) {
		t.Fatal("MinInt64-1 did not overflow")
	}
	if v, err := AddChecked(MaxAmount, MaxAmount); err != nil || v != 2*MaxAmount {
		t.Fatalf("2*MaxAmount = %d, %v", v, err)
	}
	if _, err := (Money{1, "CNY"}).Add(Money{1, "USD"}); !errors.Is(err, ErrCurrencyMismatch) {
		t.Fatal("CNY + USD was accepted")
	}
}

func TestFeeFor(t *testing.T) {
	tests := []struct{ amount, bps, fee int64 }{
		{1050, 0, 0}, {1050, 125, 14}, {10000, 125, 125}, {1, 1, 1}, {MaxAmount, 10000, MaxAmount}, {999, 100, 10},
	}
	for _, tc := range tests {
		got, err := FeeFor(tc.amount, tc.bps)
		if err != nil || got != tc.fee {
			t.Errorf("FeeFor(%d, %d) = %d, %v; want %d", tc.amount, tc.bps, got, err, tc.fee)
		}
		// Never more than one minor unit above the exact fee.
		if got*10000-tc.amount*tc.bps >= 10000 {
			t.Errorf("FeeFor(%d, %d) = %d rounds by a unit or more", tc.amount, tc.bps, got)
		}
	}
	if _, err := FeeFor(100, 10001); err == nil {
		t.Error("fee_bps over 10000 accepted")
	}
}

func TestIDsSortByCreation(t *testing.T) {
	var ids []string
	for i := 0; i < 2000; i++ {
		ids = append(ids, NewID(PrefixPayment))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("ids made one after another are not in ascending order")
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || !ValidID(PrefixPayment, id) || len(id) != len(PrefixPayment)+26 {
			t.Fatalf("bad or duplicate id %q", id)
		}
		seen[id] = true
	}
	a := PrefixPayment + newIDBody(time.Unix(1000, 0))
	b := PrefixPayment + newIDBody(time.Unix(2000, 0))
	if !(a < b) {
		t.Fatalf("later id %s does not sort after %s", b, a)
	}
	for _, bad := range []string{"pay_", "acct_x", "pay_ABC", "pay_a/b", "pay_" + string(make([]byte, 65))} {
		if ValidID(PrefixPayment, bad) {
			t.Errorf("ValidID accepted %q", bad)
		}
	}
}
