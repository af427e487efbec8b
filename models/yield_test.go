package models_test

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/payflow/payflow/models"
)

func TestYieldDay(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		balance, income, carry int64
		credit, left           int64
		err                    error
	}{
		{"10,000 CNY at 0.5123 per 10,000", 1_000_000, 512300, 0, 51, 2_300_000_000, nil},
		{"the carry completes a fen", 1_000_000, 512300, 7_700_000_000, 52, 0, nil},
		{"1 CNY earns only carry", 100, 512300, 0, 0, 51_230_000, nil},
		{"nothing on nothing", 0, 512300, 5, 0, 5, nil},
		{"the largest balance", math.MaxInt64, 1, 0, math.MaxInt64 / models.YieldDenominator, math.MaxInt64 % models.YieldDenominator, nil},
		{"a credit past int64", math.MaxInt64, 2 * models.YieldDenominator, 0, 0, 0, models.ErrOverflow},
		{"a negative balance", -1, 512300, 0, 0, 0, models.ErrYieldInput},
		{"a carry of a whole fen", 1, 1, models.YieldDenominator, 0, 0, models.ErrYieldInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			credit, left, err := models.YieldDay(tc.balance, tc.income, tc.carry)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && (credit != tc.credit || left != tc.left) {
				t.Fatalf("YieldDay = %d, %d; want %d, %d", credit, left, tc.credit, tc.left)
			}
		})
	}
}

// Over any run of balances and daily incomes, what the wallet is credited equals the
// exact sum of the days' incomes less the remainder still carried, and that remainder
// is always below one minor unit.
func TestYieldCarriesExactly(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	den := big.NewInt(models.YieldDenominator)
	for run := 0; run < 2000; run++ {
		var carry, credited int64
		exact := new(big.Int)
		days := 1 + r.IntN(400)
		for d := 0; d < days; d++ {
			var balance int64
			switch r.IntN(4) {
			case 0:
				balance = r.Int64N(100)
			case 1:
				balance = r.Int64N(1_000_000)
			case 2:
				balance = r.Int64N(1 << 40)
			default:
				balance = r.Int64N(1 << 50)
			}
			income := r.Int64N(2_000_000)
			credit, left, err := models.YieldDay(balance, income, carry)
			if err != nil {
				t.Fatalf("run %d day %d: %v", run, d, err)
			}
			if left < 0 || left >= models.YieldDenominator {
				t.Fatalf("run %d day %d: carried %d is not below one minor unit", run, d, left)
			}
			exact.Add(exact, new(big.Int).Mul(big.NewInt(balance), big.NewInt(income)))
			credited += credit
			carry = left
		}
		got := new(big.Int).Add(new(big.Int).Mul(big.NewInt(credited), den), big.NewInt(carry))
		if got.Cmp(exact) != 0 {
			t.Fatalf("run %d: credited %d and carry %d, exact income %s/%s", run, credited, carry, exact, den)
		}
	}
}
