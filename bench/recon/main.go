// Command recon benchmarks reconciliation: for each size (100k and 1M by default) it
// seeds a day's statement of that many lines into an in-process bank simulator (one
// batch inject, in an order that is not by reference) and as many bank transfer
// records into a fresh MariaDB database (bulk inserts), with differences planted
// every thousand references, then runs the ReconcileStatement activity's code
// directly (no Temporal) in a child process, the way a worker runs it, and reports
// that process's throughput and peak RSS:
//
//	go run ./bench/recon -out bench/results/recon.json   (make bench-recon)
//
// The child's peak RSS is VmHWM from /proc/self/status: memory must not grow with the
// statement, so the figures at 100k and 1M should be about the same. The report is
// checked against the planted differences before it is written.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/banksim"
	"github.com/payflow/payflow/bench/load"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/bank/sim"
	"github.com/payflow/payflow/internal/harness/devstack"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/recon"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// Goals of the benchmark (issue 6).
const (
	goalLinesPerSecond = 500_000
	goalPeakRSSMB      = 256
)

func main() {
	child := flag.Bool("child", false, "internal: run one reconciliation and print its figures")
	sizes := flag.String("sizes", "100000,1000000", "statement lines (and our records) per run, comma-separated")
	out := flag.String("out", "bench/results/recon.json", "where to write the results")
	repeat := flag.Int("repeat", 3, "reconciliations per size; the median is reported (the machine may be shared)")
	dsn := flag.String("dsn", "", "internal (child): database")
	bankURL := flag.String("bank", "", "internal (child): bank simulator URL")
	day := flag.String("day", "", "internal (child): the day to reconcile")
	flag.Parse()
	var err error
	if *child {
		err = runChild(*dsn, *bankURL, *day)
	} else {
		err = run(*sizes, *out, *repeat)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/recon:", err)
		os.Exit(1)
	}
}

// Run is one reconciliation's figures.
type Run struct {
	Lines      int64   `json:"lines"`
	OurRecords int64   `json:"our_records"`
	Seconds    float64 `json:"seconds"`
	LinesPerS  float64 `json:"lines_per_s"`
	PeakRSSMB  float64 `json:"peak_rss_mb"`
	// CPUSeconds is the reconciling process's own CPU time (user and system): what
	// the pass costs whatever else the machine is doing; the bank simulator and the
	// database spend theirs in other processes.
	CPUSeconds   float64                     `json:"cpu_seconds"`
	Counts       models.ReconciliationCounts `json:"counts"`
	SeedSeconds  float64                     `json:"seed_seconds,omitempty"`
	ExpectCounts bool                        `json:"counts_as_planted"`
	// SamplesLinesPerS are all the runs' throughputs (the figures above are the
	// median run's, with the largest peak RSS of all).
	SamplesLinesPerS []float64 `json:"samples_lines_per_s,omitempty"`
}

// Results is bench/results/recon.json.
type Results struct {
	ReconLines     int64   `json:"recon_lines"`
	ReconLinesPerS float64 `json:"recon_lines_per_s"`
	ReconPeakRSSMB float64 `json:"recon_peak_rss_mb"`
	GoalLinesPerS  int     `json:"goal_lines_per_s"`
	GoalPeakRSSMB  int     `json:"goal_peak_rss_mb"`
	MemoryFlat     bool    `json:"memory_flat"`
	Runs           []Run   `json:"runs"`
	CPUs           int     `json:"cpus"`
	GoVersion      string  `json:"go_version"`
	Database       string  `json:"database"`
	ChunkLines     int     `json:"chunk_lines"`
	PageSize       int     `json:"page_size"`
	MeasuredAt     string  `json:"measured_at"`
	// LoadAverage is /proc/loadavg before the first and after the last measurement:
	// on a shared machine the wall-clock figures move with it, the CPU ones do not.
	LoadAverage     []string `json:"load_average"`
	StatementSource string   `json:"statement_source"`
}

func run(sizeList string, out string, repeat int) error {
	var sizes []int
	for _, s := range strings.Split(sizeList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1000 {
			return fmt.Errorf("-sizes: %q is not a size of at least 1000", s)
		}
		sizes = append(sizes, n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)

	dsn, db, drop, err := testenv.OpenMySQL(ctx, "payflow_bench", 4)
	if err != nil {
		return err
	}
	defer drop()

	work, err := os.MkdirTemp("", "payflow-bench-recon-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	port, err := devstack.FreePort()
	if err != nil {
		return err
	}
	bankAddr := fmt.Sprintf("127.0.0.1:%d", port)
	srv, err := banksim.New(banksim.Config{Addr: bankAddr, DBPath: filepath.Join(work, "banksim.db"), Logger: logrus.NewEntry(log)})
	if err != nil {
		return err
	}
	defer srv.Close()
	go func() { _ = srv.ListenAndServe(ctx) }()
	bankURL := "http://" + bankAddr
	if err := devstack.WaitHTTP(ctx, bankURL+"/healthz", nil, 30*time.Second); err != nil {
		return err
	}

	res := Results{
		GoalLinesPerS: goalLinesPerSecond, GoalPeakRSSMB: goalPeakRSSMB, CPUs: runtime.NumCPU(), GoVersion: runtime.Version(),
		Database: "MariaDB at " + testenv.MySQLAddr(), ChunkLines: recon.DefaultChunkLines, PageSize: recon.DefaultPageSize,
		MeasuredAt: time.Now().UTC().Format(time.RFC3339), StatementSource: "banksim over HTTP, in the parent process",
	}
	for i, n := range sizes {
		if i == 0 {
			res.LoadAverage = append(res.LoadAverage, load.LoadAverage())
		}
		day := time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC).Format(models.DayLayout)
		start := time.Now()
		want, err := seed(ctx, db, bankURL, day, n)
		if err != nil {
			return fmt.Errorf("seed %d lines: %w", n, err)
		}
		seeded := time.Since(start).Seconds()
		fmt.Printf("seeded %s: %d statement lines, %d records in %.1fs\n", day, want.StatementLines, want.OurRecords, seeded)
		var samples []Run
		for k := 0; k < max(repeat, 1); k++ {
			r, err := measure(dsn, bankURL, day)
			if err != nil {
				return err
			}
			if r.Counts != want {
				return fmt.Errorf("day %s: counts %+v, planted %+v", day, r.Counts, want)
			}
			fmt.Printf("reconciled %d lines against %d records in %.2fs (%.2f s of CPU): %.0f lines/s, peak RSS %.1f MB\n",
				r.Lines, r.OurRecords, r.Seconds, r.CPUSeconds, r.LinesPerS, r.PeakRSSMB)
			samples = append(samples, r)
		}
		// The median run by time; the peak RSS is the largest of all.
		slices.SortFunc(samples, func(a, b Run) int { return cmp.Compare(a.Seconds, b.Seconds) })
		r := samples[len(samples)/2]
		for _, s := range samples {
			r.PeakRSSMB = max(r.PeakRSSMB, s.PeakRSSMB)
			r.SamplesLinesPerS = append(r.SamplesLinesPerS, math.Round(s.LinesPerS))
		}
		r.SeedSeconds = seeded
		r.ExpectCounts = true
		res.Runs = append(res.Runs, r)
	}
	res.LoadAverage = append(res.LoadAverage, load.LoadAverage())
	last := res.Runs[len(res.Runs)-1]
	res.ReconLines, res.ReconLinesPerS, res.ReconPeakRSSMB = last.Lines, last.LinesPerS, last.PeakRSSMB
	// Flat: the largest run's peak is within 25% (or 16 MB) of the smallest's.
	first := res.Runs[0]
	res.MemoryFlat = last.PeakRSSMB <= max(first.PeakRSSMB*1.25, first.PeakRSSMB+16)
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s\n", out)
	return nil
}

// measure runs one reconciliation in a child process and reads its figures.
func measure(dsn, bankURL, day string) (Run, error) {
	self, err := os.Executable()
	if err != nil {
		return Run{}, err
	}
	cmd := exec.Command(self, "-child", "-dsn", dsn, "-bank", bankURL, "-day", day)
	cmd.Stderr = os.Stderr
	outb, err := cmd.Output()
	if err != nil {
		return Run{}, fmt.Errorf("child: %w", err)
	}
	var r Run
	if err := json.Unmarshal(outb, &r); err != nil {
		return Run{}, fmt.Errorf("child answered %q: %w", outb, err)
	}
	return r, nil
}

// runChild is the measured process: the worker's reconciliation code, called
// directly, and nothing else.
func runChild(dsn, bankURL, day string) error {
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	log.SetOutput(os.Stderr)
	db, err := store.Open(dsn, 8)
	if err != nil {
		return err
	}
	defer db.Close()
	acts := &activities.Reconciliation{
		Channels: bank.NewRegistry(sim.New(bankURL, "", 30*time.Second)),
		Store:    store.New(db, nil), // reconciliation seals no secret
		Log:      logrus.NewEntry(log),
	}
	if path := os.Getenv("PAYFLOW_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	res, err := acts.ReconcileStatement(context.Background(), models.ReconcileStatementInput{
		ReconciliationID: models.NewID(models.PrefixReconciliation), Channel: sim.Name, Date: day,
	})
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	rss, err := peakRSSMB()
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(Run{
		Lines: res.Counts.StatementLines, OurRecords: res.Counts.OurRecords, Seconds: secs,
		LinesPerS: float64(res.Counts.StatementLines) / secs, PeakRSSMB: rss, CPUSeconds: cpu, Counts: res.Counts,
	})
}

// peakRSSMB reads the process's peak resident set (VmHWM).
func peakRSSMB() (float64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", v, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

// seed plants a day of n references: at the bank one statement line each, in an
// order that is not by reference; on our side one record each; and every thousand
// references one of each kind of difference. It returns the counts a run must report.
func seed(ctx context.Context, db *store.DB, bankURL, day string, n int) (models.ReconciliationCounts, error) {
	var want models.ReconciliationCounts
	at := day + "T12:00:00Z"
	created, _ := time.Parse(time.RFC3339, at)

	pr, pw := io.Pipe()
	injected := make(chan error, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, "POST", bankURL+"/sim/statement/inject", pr)
		if err != nil {
			injected <- err
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			pr.CloseWithError(err)
			injected <- err
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("inject: HTTP %d: %s", resp.StatusCode, body)
		}
		pr.CloseWithError(err)
		injected <- err
	}()

	ins := newInserter(ctx, db, created)
	var buf strings.Builder
	buf.WriteString(`{"lines":[`)
	first := true
	line := func(ref, amount, currency, status string) {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		fmt.Fprintf(&buf, `{"date":%q,"reference":%q,"kind":"charge","amount":%s,"currency":%q,"status":%q,"time":%q}`,
			day, ref, amount, currency, status, at)
		want.StatementLines++
	}
	// i*7919 mod n visits every reference once (7919 is a prime that divides no
	// size of the form 10^k), far from reference order.
	for k := 0; k < n; k++ {
		i := (k * 7919) % n
		ref := fmt.Sprintf("pay_b%s_%09d", strings.ReplaceAll(day, "-", ""), i)
		amount := int64(100 + i%99_900)
		am := strconv.FormatInt(amount, 10)
		switch i % 1000 {
		case 1: // ours only: in transit (the bank may book it tomorrow)
			ins.add(ref, amount, "succeeded")
			want.OurRecords++
			want.InTransit++
		case 2: // the bank's only
			line(ref, am, "CNY", "succeeded")
			want.MissingOnOurSide++
		case 3:
			line(ref, strconv.FormatInt(amount+1, 10), "CNY", "succeeded")
			ins.add(ref, amount, "succeeded")
			want.OurRecords++
			want.AmountMismatch++
		case 4:
			line(ref, am, "CNY", "failed")
			ins.add(ref, amount, "succeeded")
			want.OurRecords++
			want.StatusMismatch++
		case 5: // unreadable at the bank
			line(ref, `"12.50"`, "CNY", "succeeded")
			want.Malformed++
		case 6:
			line(ref, am, "XXY", "succeeded")
			want.UnknownCurrency++
		case 7: // twice at the bank
			line(ref, am, "CNY", "succeeded")
			line(ref, am, "CNY", "succeeded")
			ins.add(ref, amount, "succeeded")
			want.OurRecords++
			want.Matched++
			want.DuplicateReference++
		default:
			line(ref, am, "CNY", "succeeded")
			ins.add(ref, amount, "succeeded")
			want.OurRecords++
			want.Matched++
		}
		if buf.Len() > 256<<10 {
			if _, err := io.WriteString(pw, buf.String()); err != nil {
				return want, err
			}
			buf.Reset()
		}
		if ins.err != nil {
			return want, ins.err
		}
	}
	buf.WriteString(`]}`)
	if _, err := io.WriteString(pw, buf.String()); err != nil {
		return want, err
	}
	pw.Close()
	if err := ins.flush(); err != nil {
		return want, err
	}
	return want, <-injected
}

// inserter bulk-inserts, per reference, our three sides' rows: the bank layer's
// record (bank_transfers), the payment, and its capture journal with its two
// entries (bank clearing debited, the merchant's settlement credited, both
// untracked accounts), a thousand references per statement.
type inserter struct {
	ctx     context.Context
	db      *store.DB
	created time.Time
	tables  []*bulk
	rows    int
	err     error
}

// bulk is one table's pending multi-row INSERT.
type bulk struct {
	head, row string
	sql       strings.Builder
	args      []any
	n         int
}

func (b *bulk) add(args ...any) {
	if b.n == 0 {
		b.sql.Reset()
		b.sql.WriteString(b.head)
		b.args = b.args[:0]
	} else {
		b.sql.WriteByte(',')
	}
	b.sql.WriteString(b.row)
	b.args = append(b.args, args...)
	b.n++
}

const (
	benchClearing   = "acct_bench_clearing"
	benchSettlement = "acct_bench_settlement"
)

func newInserter(ctx context.Context, db *store.DB, created time.Time) *inserter {
	in := &inserter{ctx: ctx, db: db, created: created, tables: []*bulk{
		{head: "INSERT INTO bank_transfers (reference, channel, kind, merchant_id, amount, currency, status, created_at) VALUES ",
			row: "(?,'banksim','charge','mch_bench',?,'CNY',?,?)"},
		{head: "INSERT INTO payments (id, merchant_id, amount, currency, source_type, channel, status, workflow_id, created_at, updated_at) VALUES ",
			row: "(?,'mch_bench',?,'CNY','card','banksim',?,?,?,?)"},
		{head: "INSERT INTO journals (id, idempotency_key, flow, flow_id, merchant_id, created_at) VALUES ",
			row: "(?,?,'payment',?,'mch_bench',?)"},
		{head: "INSERT INTO entries (id, journal_id, account_id, amount, currency, created_at) VALUES ",
			row: "(?,?,?,?,'CNY',?)"},
	}}
	for _, a := range [][2]string{{benchClearing, "bank_clearing"}, {benchSettlement, "merchant_settlement"}} {
		err := db.WithContext(ctx).Exec(`INSERT INTO accounts (id, system_key, kind, currency, channel, track_balance, created_at)
			SELECT ?, ?, ?, 'CNY', 'banksim', 0, ? WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE id = ?)`, a[0], a[0], a[1], created, a[0]).Error
		if err != nil && in.err == nil {
			in.err = fmt.Errorf("create bench account: %w", err)
		}
	}
	return in
}

func (in *inserter) add(ref string, amount int64, status string) {
	in.tables[0].add(ref, amount, status, in.created)
	in.tables[1].add(ref, amount, status, "payment-"+ref, in.created, in.created)
	if status == "succeeded" {
		jnl := "jnl_" + ref
		in.tables[2].add(jnl, jnl, ref, in.created)
		in.tables[3].add("ent_c"+ref, jnl, benchClearing, -amount, in.created)
		in.tables[3].add("ent_s"+ref, jnl, benchSettlement, amount, in.created)
	}
	in.rows++
	if in.rows == 1000 && in.err == nil {
		in.err = in.flush()
	}
}

func (in *inserter) flush() error {
	in.rows = 0
	for _, b := range in.tables {
		if b.n == 0 {
			continue
		}
		b.n = 0
		if err := in.db.WithContext(in.ctx).Exec(b.sql.String(), b.args...).Error; err != nil {
			return fmt.Errorf("insert records: %w", err)
		}
	}
	return nil
}
