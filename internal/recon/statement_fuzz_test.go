package recon

import (
	"testing"

	"github.com/payflow/payflow/models"
)

// FuzzStatementLine feeds arbitrary lines to the statement line parser: it never
// panics, a line it accepts is exactly what it says (a bounded reference, an amount
// in 1..10^13, a known currency, a known kind and status), and a line it refuses is a
// difference that carries the line's number.
func FuzzStatementLine(f *testing.F) {
	for _, s := range []string{
		"pay_01abc,charge,1050,CNY,succeeded,2026-11-25T10:00:00Z",
		"re_01abc,refund,100,JPY,failed,2026-11-25T10:00:00Z",
		`"pay_1,x",charge,1,CNY,succeeded,2026-11-25T10:00:00Z`,
		"pay_1,charge,12.5,CNY,succeeded,2026-11-25T10:00:00Z",
		"pay_1,charge,1050,XYZ,succeeded,2026-11-25T10:00:00Z",
		"pay_1,charge,-1,CNY,succeeded,not-a-time",
		`"unterminated,charge,1,CNY,succeeded,2026-11-25T10:00:00Z`,
		",,,,,",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		fields, err := splitLine(text, nil)
		if err != nil {
			return // a malformed line, reported by the caller with its number
		}
		l, bad := parseLine(fields, 42)
		if bad != nil {
			if bad.Line != 42 {
				t.Fatalf("difference %v lost its line number", bad)
			}
			return
		}
		if l.Reference == "" || len(l.Reference) > maxReference || l.No != 42 {
			t.Fatalf("accepted a bad reference or number: %+v", l)
		}
		if models.ValidateAmount(l.Amount) != nil || !models.Currency(l.Currency).Valid() {
			t.Fatalf("accepted a bad amount or currency: %+v", l)
		}
		if _, ok := intern(lineKinds, l.Kind); !ok {
			t.Fatalf("accepted an unknown kind: %+v", l)
		}
		if _, ok := intern(lineStatuses, l.Status); !ok {
			t.Fatalf("accepted an unknown status: %+v", l)
		}
	})
}
