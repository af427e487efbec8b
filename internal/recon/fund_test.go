package recon

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

const fundHead = "order_id,kind,product_id,trade_date,status,nav,shares,amount,fee,reason\n"

// The confirmations file's lines: what is read, and what is reported malformed
// with its line number.
func TestParseConfirmations(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want *FundLine // nil: malformed
	}{
		{"subscription", "sub_1,subscription,prd_bond,2026-10-09,confirmed,10234,97563,100000,150,",
			&FundLine{OrderID: "sub_1", Kind: models.FundSubscription, ProductID: "prd_bond", TradeDate: "2026-10-09", Status: "confirmed", NAV: 10234, Shares: 97563, Amount: 100000, Fee: 150}},
		{"redemption", "red_1,redemption,prd_mmf,2026-10-09,confirmed,10000,5000,5000,0,",
			&FundLine{OrderID: "red_1", Kind: models.FundRedemption, ProductID: "prd_mmf", TradeDate: "2026-10-09", Status: "confirmed", NAV: 10000, Shares: 5000, Amount: 5000}},
		{"rejected", "sub_2,subscription,prd_bond,2026-10-09,rejected,0,0,100000,0,rejected_by_fund",
			&FundLine{OrderID: "sub_2", Kind: models.FundSubscription, ProductID: "prd_bond", TradeDate: "2026-10-09", Status: "rejected", Amount: 100000, Reason: "rejected_by_fund"}},
		{"quoted reason", `sub_3,subscription,prd_bond,2026-10-09,rejected,0,0,100000,0,"closed, for now"`,
			&FundLine{OrderID: "sub_3", Kind: models.FundSubscription, ProductID: "prd_bond", TradeDate: "2026-10-09", Status: "rejected", Amount: 100000, Reason: "closed, for now"}},
		{"rejected without reason", "sub_2,subscription,prd_bond,2026-10-09,rejected,0,0,100000,0,", nil},
		{"confirmed without shares", "sub_1,subscription,prd_bond,2026-10-09,confirmed,10234,0,100000,150,", nil},
		{"unknown kind", "sub_1,transfer,prd_bond,2026-10-09,confirmed,10234,97563,100000,150,", nil},
		{"unknown status", "sub_1,subscription,prd_bond,2026-10-09,paid,10234,97563,100000,150,", nil},
		{"decimal nav", "sub_1,subscription,prd_bond,2026-10-09,confirmed,1.0234,97563,100000,150,", nil},
		{"negative fee", "sub_1,subscription,prd_bond,2026-10-09,confirmed,10234,97563,100000,-1,", nil},
		{"bad date", "sub_1,subscription,prd_bond,09/10/2026,confirmed,10234,97563,100000,150,", nil},
		{"short", "sub_1,subscription,prd_bond", nil},
		{"no id", ",subscription,prd_bond,2026-10-09,confirmed,10234,97563,100000,150,", nil},
		{"stray quote", `sub_1,"subscription,prd_bond,2026-10-09,confirmed,10234,97563,100000,150,`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, bad, err := ParseConfirmations(strings.NewReader(fundHead + "\n" + tc.line + "\n"))
			require.NoError(t, err)
			if tc.want == nil {
				require.Empty(t, lines)
				require.Len(t, bad, 1)
				require.Equal(t, models.DiffMalformed, bad[0].Kind)
				require.Equal(t, int64(3), bad[0].Line, "the blank line counts")
				return
			}
			require.Empty(t, bad)
			tc.want.No = 3
			require.Equal(t, []FundLine{*tc.want}, lines)
		})
	}
	for _, text := range []string{"", "reference,kind,amount,currency,status,time\n", "order_id,kind\n"} {
		_, _, err := ParseConfirmations(strings.NewReader(text))
		require.ErrorIs(t, err, ErrStatementFormat, "%q", text)
	}
}

func TestParseHoldings(t *testing.T) {
	h, err := ParseHoldings(strings.NewReader("product_id,shares\r\nprd_mmf,500\r\nprd_bond,0\r\n"))
	require.NoError(t, err)
	require.Equal(t, []Holding{{"prd_mmf", 500}, {"prd_bond", 0}}, h)
	for _, text := range []string{"", "product,shares\n", "product_id,shares\nprd_mmf,-1\n", "product_id,shares\nprd_mmf,1.5\n",
		"product_id,shares\nprd_mmf,1\nprd_mmf,2\n", "product_id,shares\n,1\n", "product_id,shares\nprd_mmf\n"} {
		_, err := ParseHoldings(strings.NewReader(text))
		require.ErrorIs(t, err, ErrStatementFormat, "%q", text)
	}
}

// Every outcome of a fund order id: the fund's line against our order, and when
// an order one side has not decided is in transit rather than a difference.
func TestJudgeFund(t *testing.T) {
	day := time.Date(2026, 10, 12, 0, 0, 0, 0, time.UTC)
	line := func(status string, mod func(*FundLine)) *FundLine {
		l := &FundLine{OrderID: "sub_1", Kind: models.FundSubscription, ProductID: "prd_bond", Status: status, NAV: 10234, Shares: 97563, Amount: 100000, Fee: 150, No: 2}
		if status == FundLineRejected {
			l.NAV, l.Shares, l.Fee, l.Reason = 0, 0, 0, "rejected_by_fund"
		}
		if mod != nil {
			mod(l)
		}
		return l
	}
	order := func(status models.FundOrderStatus, mod func(*models.FundOrder)) *FundRecord {
		o := &models.FundOrder{ID: "sub_1", ProductID: "prd_bond", Status: status, Currency: "CNY", Amount: 100000}
		switch status {
		case models.FundOrderConfirmed, models.FundOrderPaid:
			o.NAV, o.Shares, o.Fee = 10234, 97563, 150
		case models.FundOrderFailed:
			o.FailureCode = models.FailureRejectedByFund
		}
		if mod != nil {
			mod(o)
		}
		return &FundRecord{OrderID: "sub_1", Order: o}
	}
	carried := func(r *FundRecord, since string) *FundRecord {
		r.Carried = &Carried{Since: since}
		return r
	}
	for _, tc := range []struct {
		name string
		line *FundLine
		ours *FundRecord
		want models.DifferenceKind // "" matched
		unit string                // the unit of an amount_mismatch's sides
	}{
		{"confirmed both", line("confirmed", nil), order(models.FundOrderConfirmed, nil), "", ""},
		{"paid redemption says confirmed", line("confirmed", nil), order(models.FundOrderPaid, nil), "", ""},
		{"rejected both", line("rejected", nil), order(models.FundOrderFailed, nil), "", ""},
		{"not ours", line("confirmed", nil), nil, models.DiffMissingOnOurSide, ""},
		{"rejected, ours confirmed", line("rejected", nil), order(models.FundOrderConfirmed, nil), models.DiffStatusMismatch, ""},
		{"confirmed, ours failed", line("confirmed", nil), order(models.FundOrderFailed, nil), models.DiffStatusMismatch, ""},
		{"rejected, ours failed for our own reason", line("rejected", nil),
			order(models.FundOrderFailed, func(o *models.FundOrder) { o.FailureCode = models.FailureInsufficientShares }), models.DiffStatusMismatch, ""},
		{"amount", line("confirmed", func(l *FundLine) { l.Amount = 99999 }), order(models.FundOrderConfirmed, nil), models.DiffAmountMismatch, "CNY"},
		{"shares", line("confirmed", func(l *FundLine) { l.Shares = 97562 }), order(models.FundOrderConfirmed, nil), models.DiffAmountMismatch, "SHR.prd_bond"},
		{"fee", line("confirmed", func(l *FundLine) { l.Fee = 151 }), order(models.FundOrderConfirmed, nil), models.DiffAmountMismatch, "FEE.CNY"},
		{"nav", line("confirmed", func(l *FundLine) { l.NAV = 10235 }), order(models.FundOrderConfirmed, nil), models.DiffAmountMismatch, "NAV.prd_bond"},
		{"ours not decided yet", line("confirmed", nil), order(models.FundOrderProcessing, nil), models.DiffInTransit, ""},
		{"ours not decided after the carry days", line("confirmed", nil), carried(order(models.FundOrderProcessing, nil), "2026-10-10"), models.DiffStatusMismatch, ""},
		{"no line yet", nil, order(models.FundOrderConfirmed, nil), models.DiffInTransit, ""},
		{"no line after the carry days", nil, carried(order(models.FundOrderConfirmed, nil), "2026-10-10"), models.DiffMissingAtBank, ""},
		{"neither decided", nil, order(models.FundOrderProcessing, nil), models.DiffInTransit, ""},
		{"neither decided after the carry days", nil, carried(order(models.FundOrderProcessing, nil), "2026-10-10"), models.DiffStatusMismatch, ""},
		{"carried line, ours decided since", &FundLine{OrderID: "sub_1", Kind: models.FundSubscription, Status: "confirmed", Amount: 100000, carried: true},
			carried(order(models.FundOrderConfirmed, nil), "2026-10-11"), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, matched := judgeFund(tc.line, tc.ours, day, 2)
			if tc.want == "" {
				require.True(t, matched, "%+v", d)
				return
			}
			require.False(t, matched)
			require.Equal(t, tc.want, d.Kind)
			require.Equal(t, "sub_1", d.Reference)
			if tc.unit != "" {
				require.Equal(t, tc.unit, d.Ours.Currency)
				require.Equal(t, tc.unit, d.Bank.Currency)
				require.NotEqual(t, d.Ours.Amount, d.Bank.Amount)
			}
		})
	}
}

// The pass counts every line and record once and stores each difference once per
// batch, whatever the batch size.
func TestReconcileFundCounts(t *testing.T) {
	file := fundHead +
		"sub_b,subscription,prd_bond,2026-10-09,confirmed,10000,99850,100000,150,\n" +
		"sub_a,subscription,prd_bond,2026-10-09,confirmed,10000,99850,100000,150,\n" +
		"sub_b,subscription,prd_bond,2026-10-09,confirmed,10000,99850,100000,150,\n" +
		"oops\n"
	ours := []FundRecord{
		{OrderID: "sub_a", Order: &models.FundOrder{ID: "sub_a", ProductID: "prd_bond", Status: "confirmed", Currency: "CNY", Amount: 100000, Shares: 99850, NAV: 10000, Fee: 150}},
		{OrderID: "sub_c", Order: &models.FundOrder{ID: "sub_c", ProductID: "prd_bond", Status: "confirmed", Currency: "CNY", Amount: 100000}},
	}
	for _, size := range []int{1, 2, 100} {
		var stored []string
		c, err := ReconcileFund(context.Background(), FundJob{
			ReconciliationID: "rec_1", Confirmations: strings.NewReader(file),
			Ours: func(context.Context) ([]FundRecord, error) { return append([]FundRecord(nil), ours...), nil },
			Lookup: func(_ context.Context, ids []string) (map[string]models.FundOrder, error) {
				require.Equal(t, []string{"sub_b"}, ids)
				return map[string]models.FundOrder{"sub_b": {ID: "sub_b", ProductID: "prd_bond", Status: "confirmed", Currency: "CNY", Amount: 100000, Shares: 99850, NAV: 10000, Fee: 150}}, nil
			},
			Sink: func(_ context.Context, ds []models.Difference) error {
				for _, d := range ds {
					require.Equal(t, "rec_1", d.ReconciliationID)
					stored = append(stored, string(d.Kind)+" "+d.Reference)
				}
				return nil
			},
			Day: time.Date(2026, 10, 12, 0, 0, 0, 0, time.UTC), CarryDays: 2, BatchSize: size,
		})
		require.NoError(t, err)
		require.Equal(t, models.ReconciliationCounts{StatementLines: 4, OurRecords: 2, Matched: 2, DuplicateReference: 1, Malformed: 1, InTransit: 1}, c)
		require.Equal(t, []string{"malformed oops", "duplicate_reference sub_b", "in_transit sub_c"}, stored)
	}
}

func TestHoldingGaps(t *testing.T) {
	gaps := HoldingGaps("rec_1", []Holding{{"prd_mmf", 500}, {"prd_bond", 100}}, map[string]int64{"prd_bond": 100, "prd_equity": 7})
	var got []string
	for _, g := range gaps {
		got = append(got, g.Reference)
		require.Equal(t, models.DiffBalanceGap, g.Kind)
		require.Equal(t, g.Bank.Currency, g.Ledger.Currency)
	}
	require.Equal(t, []string{"balance/SHR.prd_equity", "balance/SHR.prd_mmf"}, got)
	require.Equal(t, int64(500), gaps[1].Bank.Amount)
	require.Equal(t, int64(7), gaps[0].Ledger.Amount)
}

// FuzzConfirmationLine feeds arbitrary lines to the confirmations parser: it never
// panics, a line it accepts is what the contract says (an order id, a known kind
// and status, non-negative integers, a confirmed line with its NAV and quantities,
// a rejected one with its reason), and a line it refuses is reported with its number.
func FuzzConfirmationLine(f *testing.F) {
	for _, s := range []string{
		"sub_1,subscription,prd_bond,2026-10-09,confirmed,10234,97563,100000,150,",
		"red_1,redemption,prd_mmf,2026-10-09,confirmed,10000,5000,5000,0,",
		"sub_2,subscription,prd_bond,2026-10-09,rejected,0,0,100000,0,rejected_by_fund",
		`sub_3,subscription,prd_bond,2026-10-09,rejected,0,0,100000,0,"a, b"`,
		"sub_1,subscription,prd_bond,2026-10-09,confirmed,1.0,1,1,1,",
		`"sub_1,subscription`,
		",,,,,,,,,",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		lines, bad, err := ParseConfirmations(strings.NewReader(fundHead + text))
		if err != nil {
			t.Fatalf("a line made the file unreadable: %v", err)
		}
		for _, d := range bad {
			if d.Kind != models.DiffMalformed || d.Line < 2 {
				t.Fatalf("refused line without its number: %+v", d)
			}
		}
		for _, l := range lines {
			switch {
			case l.OrderID == "" || len(l.OrderID) > maxReference || l.No < 2:
				t.Fatalf("accepted a bad order id or number: %+v", l)
			case l.Kind != models.FundSubscription && l.Kind != models.FundRedemption:
				t.Fatalf("accepted an unknown kind: %+v", l)
			case l.NAV < 0 || l.Shares < 0 || l.Amount < 0 || l.Fee < 0:
				t.Fatalf("accepted a negative quantity: %+v", l)
			case l.Status == FundLineConfirmed && (l.NAV == 0 || l.Shares == 0 || l.Amount == 0):
				t.Fatalf("accepted a confirmation without its quantities: %+v", l)
			case l.Status == FundLineRejected && l.Reason == "":
				t.Fatalf("accepted a rejection without its reason: %+v", l)
			case l.Status != FundLineConfirmed && l.Status != FundLineRejected:
				t.Fatalf("accepted an unknown status: %+v", l)
			}
		}
	})
}

// An order of ours that a file of another date listed was judged with that file:
// left out, unless it was carried with that file's line (then it is judged again).
func TestReconcileFundListedElsewhere(t *testing.T) {
	carriedLine := &Carried{Since: "2026-10-11", Bank: &Line{Reference: "sub_w", Kind: "subscription", Amount: 100000, Currency: "CNY", Status: "confirmed"}}
	ours := []FundRecord{
		{OrderID: "sub_x", Order: &models.FundOrder{ID: "sub_x", Status: "confirmed", Currency: "CNY", Amount: 100000}},
		{OrderID: "sub_y", Order: &models.FundOrder{ID: "sub_y", Status: "confirmed", Currency: "CNY", Amount: 100000}},
		{OrderID: "sub_w", Order: &models.FundOrder{ID: "sub_w", Status: "confirmed", Currency: "CNY", Amount: 100000}, Carried: carriedLine},
	}
	var listed []string
	var stored []string
	c, err := ReconcileFund(context.Background(), FundJob{
		ReconciliationID: "rec_1",
		Confirmations:    strings.NewReader(fundHead + "sub_z,subscription,prd_bond,2026-10-09,rejected,0,0,100000,0,rejected_by_fund\n"),
		Ours:             func(context.Context) ([]FundRecord, error) { return ours, nil },
		Sink: func(_ context.Context, ds []models.Difference) error {
			for _, d := range ds {
				stored = append(stored, string(d.Kind)+" "+d.Reference)
			}
			return nil
		},
		Listed: func(_ context.Context, ids []string) error { listed = ids; return nil },
		ListedElsewhere: func(_ context.Context, ids []string) (map[string]bool, error) {
			require.Equal(t, []string{"sub_x", "sub_y"}, ids, "an item carried with its line is not asked about")
			return map[string]bool{"sub_x": true, "sub_w": true}, nil
		},
		Day: time.Date(2026, 10, 12, 0, 0, 0, 0, time.UTC), CarryDays: 2,
	})
	require.NoError(t, err)
	require.Equal(t, []string{"sub_z"}, listed)
	require.Equal(t, models.ReconciliationCounts{StatementLines: 1, OurRecords: 2, Matched: 1, MissingOnOurSide: 1, InTransit: 1}, c)
	require.Equal(t, []string{"missing_on_our_side sub_z", "in_transit sub_y"}, stored)
}

func TestParseIncome(t *testing.T) {
	head := "date,product_id,income_per_10k\n"
	tests := []struct {
		name, file string
		want       []Income
		bad        bool
	}{
		{"one day", head + "2026-10-12,prd_mmf,512300\n", []Income{{"2026-10-12", "prd_mmf", 512300}}, false},
		{"no line", head, nil, false},
		{"blank lines", head + "\n2026-10-12,prd_mmf,1\n\n", []Income{{"2026-10-12", "prd_mmf", 1}}, false},
		{"empty", "", nil, true},
		{"another header", "date,product,income\n", nil, true},
		{"a float", head + "2026-10-12,prd_mmf,0.5123\n", nil, true},
		{"negative", head + "2026-10-12,prd_mmf,-1\n", nil, true},
		{"not a date", head + "2026-13-01,prd_mmf,1\n", nil, true},
		{"a bad product", head + "2026-10-12,PRD,1\n", nil, true},
		{"too few fields", head + "2026-10-12,prd_mmf\n", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIncome(strings.NewReader(tc.file))
			if tc.bad {
				require.ErrorIs(t, err, ErrStatementFormat)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
