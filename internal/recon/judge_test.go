package recon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

// Every outcome of the three sides, and when an item is in transit rather than a
// difference.
func TestJudge(t *testing.T) {
	day := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	charge := func(amount int64, cur, status string) *Line {
		return &Line{Reference: "pay_1", Kind: "charge", Amount: amount, Currency: cur, Status: status, No: 2}
	}
	ours := func(status string, expect Expect, booked bool) *Record {
		r := &Record{Reference: "pay_1", Intent: &Intent{Kind: "payment", Amount: 100, Currency: "CNY", Status: status, Expect: expect, Books: true}}
		if booked {
			r.Ledger = Ledger{Booked: true, Amount: 100, Currency: "CNY"}
		}
		return r
	}
	carried := func(r *Record, since string, bank *Line) *Record {
		r.Carried = &Carried{Since: since, Bank: bank}
		return r
	}
	reversed := &Record{Reference: "pay_1", Intent: &Intent{Kind: "payment", Amount: 100, Currency: "CNY", Status: "failed", Expect: ExpectMoved}}
	cases := []struct {
		name  string
		bank  *Line
		ours  *Record
		want  models.DifferenceKind
		since string
	}{
		{"all three agree", charge(100, "CNY", "succeeded"), ours("succeeded", ExpectMoved, true), "", ""},
		{"failed on both sides, nothing booked", charge(100, "CNY", "failed"), ours("failed", ExpectNotMoved, false), "", ""},
		{"the bank moved money we have no object for", charge(100, "CNY", "succeeded"), nil, models.DiffMissingOnOurSide, ""},
		{"our bank layer's record without object or line", nil, &Record{Reference: "pay_1"}, models.DiffMissingAtBank, ""},
		{"amount", charge(90, "CNY", "succeeded"), ours("succeeded", ExpectMoved, true), models.DiffAmountMismatch, ""},
		{"currency", charge(100, "USD", "succeeded"), ours("succeeded", ExpectMoved, true), models.DiffCurrencyMismatch, ""},
		{"the bank charged, our flow failed", charge(100, "CNY", "succeeded"), ours("failed", ExpectNotMoved, false), models.DiffStatusMismatch, ""},
		{"the bank failed it, we succeeded", charge(100, "CNY", "failed"), ours("succeeded", ExpectMoved, true), models.DiffStatusMismatch, ""},
		{"succeeded without its journal", charge(100, "CNY", "succeeded"), ours("succeeded", ExpectMoved, false), models.DiffNotBooked, ""},
		{"a journal for a failed object", charge(100, "CNY", "failed"), ours("failed", ExpectNotMoved, true), models.DiffNotBooked, ""},
		{"a journal of another amount", charge(100, "CNY", "succeeded"), &Record{Reference: "pay_1",
			Intent: &Intent{Kind: "payment", Amount: 100, Currency: "CNY", Status: "succeeded", Expect: ExpectMoved, Books: true},
			Ledger: Ledger{Booked: true, Amount: 99, Currency: "CNY"}}, models.DiffNotBooked, ""},
		{"a charge reversed after our flow failed", charge(100, "CNY", "succeeded"), reversed, "", ""},
		{"failed with no line and no journal: nothing moved", nil, ours("failed", ExpectNotMoved, false), "", ""},
		{"failed with no line but a journal", nil, ours("failed", ExpectNotMoved, true), models.DiffNotBooked, ""},
		{"succeeded, no line yet: in transit", nil, ours("succeeded", ExpectMoved, true), models.DiffInTransit, "2026-03-05"},
		{"still open, the bank charged: in transit", charge(100, "CNY", "succeeded"), ours("processing", ExpectOpen, false), models.DiffInTransit, "2026-03-05"},
		{"the bank still processing: in transit", charge(100, "CNY", "processing"), ours("succeeded", ExpectMoved, true), models.DiffInTransit, "2026-03-05"},
		{"carried a day, still no line: in transit", nil, carried(ours("succeeded", ExpectMoved, true), "2026-03-04", nil), models.DiffInTransit, "2026-03-04"},
		{"carried two days, still no line: missing at bank", nil, carried(ours("succeeded", ExpectMoved, true), "2026-03-03", nil), models.DiffMissingAtBank, "2026-03-03"},
		{"carried, the line came today", charge(100, "CNY", "succeeded"), carried(ours("succeeded", ExpectMoved, true), "2026-03-04", nil), "", ""},
		{"carried bank line, our flow finished today", nil, carried(ours("succeeded", ExpectMoved, true), "2026-03-04", charge(100, "CNY", "succeeded")), "", ""},
		{"carried bank line, still open after two days", nil, carried(ours("processing", ExpectOpen, false), "2026-03-03", charge(100, "CNY", "succeeded")), models.DiffStatusMismatch, "2026-03-03"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := judge(tc.bank, tc.ours, day, 2)
			require.Equal(t, tc.want, v.kind)
			require.Equal(t, tc.since, v.since)
		})
	}
}

// A statement-only line is looked up: one we have an object for is compared with
// it, one we do not is missing on our side; in-transit items are counted apart from
// the differences.
func TestLookupAndTransit(t *testing.T) {
	statement := header +
		line("pay_charged_flow_failed", 100, "succeeded") +
		line("pay_unknown", 50, "succeeded") +
		line("pay_ok", 70, "succeeded")
	lookedUp := map[string]Record{"pay_charged_flow_failed": rec("pay_charged_flow_failed", 100, "failed")}
	var asked [][]string
	tb := newTable()
	res, err := Reconcile(context.Background(), Config{TempDir: t.TempDir()}, Job{
		ReconciliationID: "rec_test", Statement: strings.NewReader(statement),
		Ours: oursOf([]Record{rec("pay_ok", 70, "succeeded"), rec("pay_late", 30, "succeeded")}),
		Lookup: func(_ context.Context, refs []string) (map[string]Record, error) {
			asked = append(asked, refs)
			out := map[string]Record{}
			for _, r := range refs {
				if o, ok := lookedUp[r]; ok {
					out[r] = o
				}
			}
			return out, nil
		},
		Sink: tb.sink, Day: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), CarryDays: 2,
	})
	require.NoError(t, err)
	require.Equal(t, [][]string{{"pay_charged_flow_failed", "pay_unknown"}}, asked, "one batch")
	require.Equal(t, []string{
		"in_transit|pay_late|0", "missing_on_our_side|pay_unknown|3", "status_mismatch|pay_charged_flow_failed|2",
	}, tb.keys())
	require.Equal(t, models.ReconciliationCounts{
		StatementLines: 3, OurRecords: 3, Matched: 1, MissingOnOurSide: 1, StatusMismatch: 1, InTransit: 1,
	}, res.Counts)
	require.EqualValues(t, 2, res.Counts.Differences())
	for _, d := range tb.rows {
		if d.Reference == "pay_charged_flow_failed" {
			require.Equal(t, &models.DifferenceSide{Kind: "payment", Amount: 100, Currency: "CNY", Status: "failed"}, d.Ours)
			require.Equal(t, &models.DifferenceSide{Kind: "journal", Status: "not_booked"}, d.Ledger)
			require.Equal(t, "succeeded", d.Bank.Status)
		}
		if d.Kind == models.DiffInTransit {
			require.Equal(t, "2026-03-01", d.Since)
		}
	}
}

// Our records go through the spool file and come back whole: intent, ledger and a
// carried item with its bank line.
func TestSpoolKeepsEverySide(t *testing.T) {
	recs := []Record{
		{Reference: "pay_1", Intent: &Intent{Kind: "payment", Amount: 100, Currency: "CNY", Status: "succeeded", Expect: ExpectMoved, Books: true},
			Ledger: Ledger{Booked: true, Amount: 100, Currency: "CNY"}},
		{Reference: "pay_2"},
		{Reference: "rev_pay_3", Intent: &Intent{Kind: "reversal", Amount: 5, Currency: "USD", Status: "processing", Expect: ExpectOpen}},
		{Reference: "wd_4", Intent: &Intent{Kind: "withdrawal", Amount: 7, Currency: "EUR", Status: "pending_approval", Expect: ExpectOpen, Books: true},
			Carried: &Carried{Since: "2026-03-01", Bank: &Line{Reference: "wd_4", Kind: "payout", Amount: 7, Currency: "EUR", Status: "succeeded", No: 12}}},
		{Reference: "wd_5", Carried: &Carried{Since: "2026-03-02"}},
	}
	dir := t.TempDir()
	sp := startSpool(context.Background(), oursOf(recs), nil, "", 2, 1, dir)
	r, err := sp.open()
	require.NoError(t, err)
	defer r.close()
	var got []Record
	for {
		rec, ok, err := r.next()
		require.NoError(t, err)
		if !ok {
			break
		}
		got = append(got, rec)
	}
	require.Equal(t, recs, got)
}

// Pages enriched at once come out of the spool in reference order, each enriched;
// an enrichment that fails fails the spool.
func TestSpoolEnrichesPagesConcurrently(t *testing.T) {
	var recs []Record
	for i := range 50 {
		recs = append(recs, Record{Reference: fmt.Sprintf("pay_%03d", i)})
	}
	enrich := func(_ context.Context, page []Record) error {
		time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
		for i := range page {
			page[i].Intent = &Intent{Kind: "payment", Amount: int64(len(page[i].Reference)), Currency: "CNY", Status: "succeeded", Expect: ExpectMoved}
		}
		return nil
	}
	sp := startSpool(context.Background(), oursOf(recs), enrich, "", 3, 4, t.TempDir())
	r, err := sp.open()
	require.NoError(t, err)
	defer r.close()
	var got []string
	for {
		rec, ok, err := r.next()
		require.NoError(t, err)
		if !ok {
			break
		}
		require.NotNil(t, rec.Intent, rec.Reference)
		got = append(got, rec.Reference)
	}
	require.Len(t, got, 50)
	require.True(t, slices.IsSorted(got))

	boom := errors.New("database down")
	sp = startSpool(context.Background(), oursOf(recs), func(_ context.Context, page []Record) error {
		if page[0].Reference == "pay_030" {
			return boom
		}
		return nil
	}, "", 3, 4, t.TempDir())
	_, err = sp.open()
	require.ErrorIs(t, err, boom)
}
