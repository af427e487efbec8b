package recon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

const header = "reference,kind,amount,currency,status,time\n"

func line(ref string, amount int64, status string) string {
	return fmt.Sprintf("%s,charge,%d,CNY,%s,2026-03-01T10:00:00Z\n", ref, amount, status)
}

// table stands in for reconciliation_differences: keyed like its unique index.
type table struct {
	mu      sync.Mutex
	rows    map[string]models.Difference
	inserts int
}

func newTable() *table { return &table{rows: map[string]models.Difference{}} }

func (t *table) sink(_ context.Context, diffs []models.Difference) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range diffs {
		t.inserts++
		k := fmt.Sprintf("%s|%s|%d", d.Kind, d.Reference, d.Line)
		if _, ok := t.rows[k]; !ok {
			t.rows[k] = d
		}
	}
	return nil
}

func (t *table) keys() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for k := range t.rows {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func oursOf(recs []Record) Ours {
	recs = slices.Clone(recs)
	slices.SortFunc(recs, func(a, b Record) int { return strings.Compare(a.Reference, b.Reference) })
	return func(_ context.Context, after string, limit int) ([]Record, error) {
		i := sort.Search(len(recs), func(i int) bool { return recs[i].Reference > after })
		return slices.Clone(recs[i:min(i+limit, len(recs))]), nil
	}
}

// rec is a card payment of ours with the status; a succeeded one has its journal.
func rec(ref string, amount int64, status string) Record {
	r := Record{Reference: ref, Intent: &Intent{Kind: "payment", Amount: amount, Currency: "CNY", Status: status, Books: true}}
	switch status {
	case "succeeded":
		r.Intent.Expect = ExpectMoved
		r.Ledger = Ledger{Booked: true, Amount: amount, Currency: "CNY"}
	case "failed", "canceled":
		r.Intent.Expect = ExpectNotMoved
	default:
		r.Intent.Expect = ExpectOpen
	}
	return r
}

func run(t *testing.T, cfg Config, statement string, ours []Record, tb *table) Result {
	t.Helper()
	cfg.TempDir = t.TempDir()
	res, err := Reconcile(context.Background(), cfg, Job{
		ReconciliationID: "rec_test", Statement: strings.NewReader(statement), Ours: oursOf(ours), Sink: tb.sink,
	})
	require.NoError(t, err)
	return res
}

// Every class, with line numbers, across several sorted chunks.
func TestClassifies(t *testing.T) {
	statement := header +
		line("pay_c", 300, "succeeded") + // 2: amount mismatch (ours 301)
		line("pay_a", 100, "succeeded") + // 3: matched
		line("pay_x", 50, "succeeded") + // 4: missing on our side
		line("pay_d", 400, "failed") + // 5: status mismatch (ours succeeded)
		"pay_m,charge,12.5,CNY,succeeded,2026-03-01T10:00:00Z\n" + // 6: malformed amount
		"pay_u,charge,10,XYZ,succeeded,2026-03-01T10:00:00Z\n" + // 7: unknown currency
		line("pay_a", 100, "succeeded") + // 8: duplicate of line 3
		"pay_short,charge,10\n" + // 9: malformed field count
		line("pay_f", 700, "failed") + // 10: matched failed charge
		"pay_q,charge,1,CNY,succeeded,\"bad\"quote\n" + // 11: malformed CSV
		line("pay_g", 800, "succeeded") + // 12: matched
		"pay_t,charge,10,CNY,succeeded,yesterday\n" // 13: malformed time
	ours := []Record{
		rec("pay_a", 100, "succeeded"), rec("pay_c", 301, "succeeded"), rec("pay_d", 400, "succeeded"),
		rec("pay_e", 500, "succeeded"), // missing at bank
		rec("pay_f", 700, "failed"), rec("pay_g", 800, "succeeded"),
	}
	for _, chunk := range []int{1, 2, 3, 100} {
		t.Run(fmt.Sprintf("chunk %d", chunk), func(t *testing.T) {
			tb := newTable()
			res := run(t, Config{ChunkLines: chunk, PageSize: 2, BatchSize: 2}, statement, ours, tb)
			require.Equal(t, models.ReconciliationCounts{
				StatementLines: 12, OurRecords: 6, Matched: 3, MissingOnOurSide: 1, MissingAtBank: 1,
				AmountMismatch: 1, StatusMismatch: 1, Malformed: 4, UnknownCurrency: 1, DuplicateReference: 1,
			}, res.Counts)
			require.Equal(t, []string{
				"amount_mismatch|pay_c|2",
				"duplicate_reference|pay_a|8",
				"malformed|pay_m|6",
				"malformed|pay_q|11",
				"malformed|pay_short|9",
				"malformed|pay_t|13",
				"missing_at_bank|pay_e|0",
				"missing_on_our_side|pay_x|4",
				"status_mismatch|pay_d|5",
				"unknown_currency|pay_u|7",
			}, tb.keys())
			d := tb.rows["amount_mismatch|pay_c|2"]
			require.Equal(t, int64(301), d.Ours.Amount)
			require.Equal(t, int64(300), d.Bank.Amount)
			require.Equal(t, "rec_test", d.ReconciliationID)
			require.Equal(t, "XYZ", tb.rows["unknown_currency|pay_u|7"].Bank.Currency)
			require.Contains(t, tb.rows["malformed|pay_m|6"].Raw, "12.5")
			require.Equal(t, (12-5+chunk-1)/chunk, res.Chunks, "readable lines in chunks of %d", chunk)
		})
	}
}

// A transfer the bank canceled (payflow asked it to, at a deadline or for an
// operator) moved no money: its line is read, counted and compared with nothing.
func TestCanceledLinesMoveNothing(t *testing.T) {
	statement := header + line("wd_a", 100, "canceled") + line("pay_b", 200, "succeeded")
	tb := newTable()
	res := run(t, Config{}, statement, []Record{rec("pay_b", 200, "succeeded")}, tb)
	require.Equal(t, models.ReconciliationCounts{StatementLines: 2, OurRecords: 1, Matched: 1}, res.Counts)
	require.Empty(t, tb.keys())
}

// A stray quote spoils its own line only, and a line longer than maxLine is reported
// (cut) and skipped: no line can make the pass read the rest of the statement into
// memory.
func TestBadLinesStayAlone(t *testing.T) {
	statement := header +
		"\"pay_stray,charge,10,CNY,succeeded,2026-03-01T10:00:00Z\n" + // 2
		line("pay_a", 100, "succeeded") + // 3
		"pay_long,charge,10,CNY,succeeded," + strings.Repeat("x", maxLine+10) + "\n" + // 4
		"\r\n" + // 5: blank
		"\"pay_b\",charge,200,CNY,succeeded,\"2026-03-01T10:00:00Z\"\r\n" + // 6: quoted, CRLF
		line("pay_c", 300, "succeeded") // 7
	tb := newTable()
	res := run(t, Config{}, statement, []Record{rec("pay_a", 100, "succeeded"), rec("pay_b", 200, "succeeded"), rec("pay_c", 300, "succeeded")}, tb)
	require.Equal(t, models.ReconciliationCounts{StatementLines: 5, OurRecords: 3, Matched: 3, Malformed: 2}, res.Counts)
	require.Equal(t, []string{"malformed|\"pay_stray|2", "malformed|pay_long|4"}, tb.keys())
	require.LessOrEqual(t, len(tb.rows["malformed|pay_long|4"].Raw), maxRaw)
}

func TestRejectsAnotherFormat(t *testing.T) {
	for _, s := range []string{"", "ref,kind,amount\npay_a,charge,1\n", "reference,amount,kind,currency,status,time\n"} {
		_, err := Reconcile(context.Background(), Config{TempDir: t.TempDir()}, Job{
			Statement: strings.NewReader(s), Ours: oursOf(nil), Sink: newTable().sink,
		})
		require.True(t, errors.Is(err, ErrStatementFormat), "%q: %v", s, err)
	}
}

// Our records out of byte order (a case-insensitive collation) fail the pass instead
// of producing a wrong report.
func TestRejectsUnsortedRecords(t *testing.T) {
	unsorted := func(_ context.Context, after string, limit int) ([]Record, error) {
		if after != "" {
			return nil, nil
		}
		return []Record{rec("pay_b", 1, "succeeded"), rec("PAY_A", 1, "succeeded")}, nil
	}
	_, err := Reconcile(context.Background(), Config{TempDir: t.TempDir()}, Job{
		Statement: strings.NewReader(header), Ours: unsorted, Sink: newTable().sink,
	})
	require.True(t, errors.Is(err, ErrRecordOrder), "%v", err)
}

// randomDay builds a statement (shuffled, with planted differences and bad lines) and
// our records, and the oracle: what a naive in-memory comparison finds.
func randomDay(r *rand.Rand, n int) (string, []Record, models.ReconciliationCounts, []string) {
	var b strings.Builder
	b.WriteString(header)
	var ours []Record
	var want models.ReconciliationCounts
	var keys []string
	type planted struct {
		text string
		key  string
		kind models.DifferenceKind
	}
	var lines []planted
	for i := 0; i < n; i++ {
		ref := fmt.Sprintf("pay_%08d_%d", r.IntN(1<<30), i) // unique, in random order
		amount := int64(1 + r.IntN(100000))
		switch k := r.IntN(20); {
		case k == 0: // only at the bank
			lines = append(lines, planted{line(ref, amount, "succeeded"), ref, models.DiffMissingOnOurSide})
		case k == 1: // only ours
			ours = append(ours, rec(ref, amount, "succeeded"))
			want.MissingAtBank++
			want.OurRecords++
			keys = append(keys, "missing_at_bank|"+ref+"|0")
		case k == 2:
			lines = append(lines, planted{line(ref, amount+1, "succeeded"), ref, models.DiffAmountMismatch})
			ours = append(ours, rec(ref, amount, "succeeded"))
			want.OurRecords++
		case k == 3:
			lines = append(lines, planted{line(ref, amount, "failed"), ref, models.DiffStatusMismatch})
			ours = append(ours, rec(ref, amount, "succeeded"))
			want.OurRecords++
		case k == 4:
			lines = append(lines, planted{fmt.Sprintf("%s,charge,-%d,CNY,succeeded,2026-03-01T10:00:00Z\n", ref, amount), ref, models.DiffMalformed})
		case k == 5: // twice at the bank
			lines = append(lines, planted{line(ref, amount, "succeeded"), ref, ""}, planted{line(ref, amount, "succeeded"), ref, models.DiffDuplicateReference})
			ours = append(ours, rec(ref, amount, "succeeded"))
			want.OurRecords++
			want.Matched++
		default:
			lines = append(lines, planted{line(ref, amount, "succeeded"), ref, ""})
			ours = append(ours, rec(ref, amount, "succeeded"))
			want.OurRecords++
			want.Matched++
		}
	}
	// The bank's order: anything but sorted. Duplicates keep their relative order
	// (the first one seen is the one compared).
	dupFirst := map[string]bool{}
	order := r.Perm(len(lines))
	var shuffled []planted
	for _, i := range order {
		shuffled = append(shuffled, lines[i])
	}
	for i, p := range shuffled {
		if p.kind == models.DiffDuplicateReference && !dupFirst[p.key] {
			// This is the first line of its reference now: it is the compared one
			// and the plain one is the duplicate.
			for j := i + 1; j < len(shuffled); j++ {
				if shuffled[j].key == p.key {
					shuffled[i].kind, shuffled[j].kind = "", models.DiffDuplicateReference
					break
				}
			}
		}
		dupFirst[p.key] = true
	}
	for i, p := range shuffled {
		b.WriteString(p.text)
		want.StatementLines++
		if p.kind != "" {
			want.AddDifference(p.kind)
			keys = append(keys, fmt.Sprintf("%s|%s|%d", p.kind, p.key, i+2))
		}
	}
	sort.Strings(keys)
	return b.String(), ours, want, keys
}

// A property test: random days, small chunks and pages, against the oracle.
func TestMatchesTheOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		statement, ours, want, keys := randomDay(r, 50+r.IntN(400))
		tb := newTable()
		res := run(t, Config{ChunkLines: 1 + r.IntN(60), PageSize: 1 + r.IntN(40), BatchSize: 1 + r.IntN(30)}, statement, ours, tb)
		require.Equal(t, want, res.Counts, "day %d", i)
		require.Equal(t, keys, tb.keys(), "day %d", i)
	}
}

// A pass killed in the middle and resumed from its last checkpoint skips what was
// done, stores nothing twice and ends with the same report as one that never stopped.
func TestResumesFromCheckpoint(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	statement, ours, want, keys := randomDay(r, 20000)
	cfg := Config{ChunkLines: 3000, PageSize: 500, BatchSize: 50, CheckpointEvery: time.Nanosecond, TempDir: t.TempDir()}

	tb := newTable()
	ctx, cancel := context.WithCancel(context.Background())
	var last Checkpoint
	_, err := Reconcile(ctx, cfg, Job{
		ReconciliationID: "rec_test", Statement: strings.NewReader(statement), Ours: oursOf(ours), Sink: tb.sink,
		Progress: func(cp Checkpoint) {
			last = cp
			if cp.Phase == PhaseMatching && cp.MergedLines > 8000 {
				cancel() // the worker dies here
			}
		},
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, PhaseMatching, last.Phase)
	require.NotEmpty(t, last.LastReference)
	firstInserts := tb.inserts

	// The checkpoint travels as JSON in the heartbeat.
	res, err := Reconcile(context.Background(), cfg, Job{
		ReconciliationID: "rec_test", Statement: strings.NewReader(statement), Ours: oursOf(ours), Sink: tb.sink,
		Resume: &last,
	})
	require.NoError(t, err)
	require.True(t, res.Resumed)
	require.Equal(t, last.LastReference, res.ResumedAfter)
	require.Greater(t, res.SkippedLines, int64(8000))
	require.Equal(t, want, res.Counts)
	require.Equal(t, keys, tb.keys())
	// The resumed pass re-reported only the bad lines of the statement (found again
	// while sorting) and what came after the checkpoint.
	require.Less(t, tb.inserts-firstInserts, len(keys))
	entries, err := os.ReadDir(cfg.TempDir)
	require.NoError(t, err)
	require.Empty(t, entries, "temporary chunks are removed")
}

func TestChunkRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c")
	in := []Line{
		{Reference: "pay_b", Kind: "refund", Amount: 10_000_000_000_000, Currency: "BHD", Status: "failed", No: 1 << 40},
		{Reference: "pay_a", Kind: "payout", Amount: 1, Currency: "JPY", Status: "processing", No: 2},
	}
	require.NoError(t, writeChunk(path, slices.Clone(in)))
	c, err := openChunk(path)
	require.NoError(t, err)
	defer c.f.Close()
	var out []Line
	for {
		ok, err := c.next()
		require.NoError(t, err)
		if !ok {
			break
		}
		out = append(out, c.cur)
	}
	require.Equal(t, []Line{in[1], in[0]}, out)
}

// A paced pass takes at least as long as its rate says, and finds the same.
func TestPacing(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	statement, ours, want, _ := randomDay(r, 6000)
	start := time.Now()
	res := run(t, Config{MaxRefsPerSecond: 20000}, statement, ours, newTable())
	require.Equal(t, want, res.Counts)
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "about 6000 references at 20000/s")
}

// An attempt that died while sorting the statement again (after resuming) passes its
// resume point on: the next one still skips what was matched.
func TestResumesAfterDyingWhileSortingAgain(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	statement, ours, want, keys := randomDay(r, 10000) // the sorting reports progress every 4096 lines
	cfg := Config{ChunkLines: 500, PageSize: 100, CheckpointEvery: time.Nanosecond, TempDir: t.TempDir()}
	tb := newTable()
	ctx, cancel := context.WithCancel(context.Background())
	var last Checkpoint
	_, err := Reconcile(ctx, cfg, Job{Statement: strings.NewReader(statement), Ours: oursOf(ours), Sink: tb.sink,
		Progress: func(cp Checkpoint) {
			last = cp
			if cp.Phase == PhaseMatching && cp.MergedLines > 1000 {
				cancel()
			}
		}})
	require.ErrorIs(t, err, context.Canceled)
	// The second attempt dies in its sorting phase: its checkpoint says sorting.
	ctx, cancel = context.WithCancel(context.Background())
	resumeFrom := last
	_, err = Reconcile(ctx, cfg, Job{Statement: strings.NewReader(statement), Ours: oursOf(ours), Sink: tb.sink, Resume: &resumeFrom,
		Progress: func(cp Checkpoint) {
			last = cp
			cancel()
		}})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, PhaseSorting, last.Phase)
	require.Equal(t, resumeFrom.LastReference, last.LastReference)
	res, err := Reconcile(context.Background(), cfg, Job{Statement: strings.NewReader(statement), Ours: oursOf(ours), Sink: tb.sink, Resume: &last})
	require.NoError(t, err)
	require.True(t, res.Resumed)
	require.Equal(t, 1, last.Resumes, "the second attempt was itself a resume")
	require.Equal(t, want, res.Counts)
	require.Equal(t, keys, tb.keys())
}
