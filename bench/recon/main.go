// Command recon benchmarks reconciliation: for each size (100k and 1M by default) it
// seeds a day's statement of that many lines into an in-process bank simulator (one
// batch inject, in an order that is not by reference) and as many bank transfer
// records into a fresh MariaDB database (bulk inserts), with differences planted
// every thousand references, times the database's floor (MariaDB alone streaming the
// rows the pass reads, floor.go), then runs the ReconcileStatement activity's code
// directly (no Temporal) in a child process, the way a worker runs it, and reports
// that process's throughput and peak RSS:
//
//	go run ./bench/recon -out bench/results/recon.json   (make bench-recon)
//	go run ./bench/recon -sizes 1000000 -repeat 1 -keep-db -out /tmp/r.json
//	go run ./bench/recon -floor -dsn 'mysql://root:@tcp(127.0.0.1:3306)/payflow_bench_...' -day 2026-01-01
//
// PAYFLOW_BENCH_CPUPROFILE=file writes the child's CPU profile.
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
	floorOnly := flag.Bool("floor", false, "only time the database's floor of the day -day in the database -dsn (one kept with -keep-db)")
	keepDB := flag.Bool("keep-db", false, "leave the seeded database in place (its DSN is printed) to query it afterwards")
	flag.Parse()
	var err error
	switch {
	case *child:
		err = runChild(*dsn, *bankURL, *day)
	case *floorOnly:
		err = runFloor(*dsn, *day)
	default:
		err = run(*sizes, *out, *repeat, *keepDB)
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
	CPUSeconds  float64                     `json:"cpu_seconds"`
	Counts      models.ReconciliationCounts `json:"counts"`
	SeedSeconds float64                     `json:"seed_seconds,omitempty"`
	// Floor is what MariaDB alone takes to stream the rows the pass reads.
	Floor        *Floor `json:"floor,omitempty"`
	ExpectCounts bool   `json:"counts_as_planted"`
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

func run(sizeList string, out string, repeat int, keepDB bool) error {
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
	if keepDB {
		fmt.Printf("database kept: %s\n", dsn)
	} else {
		defer drop()
	}

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
		floor, err := measureFloor(ctx, db, day)
		if err != nil {
			return err
		}
		fmt.Printf("floor: MariaDB streams the day's references in %.2fs, its three sides (%d rows) in %.2fs in one query, %.2fs in %d at once (%d pages read from disk, buffer pool %d MB)\n",
			floor.TransfersSeconds, floor.Rows, floor.JoinSeconds, floor.JoinParallelSeconds, floor.FloorParts, floor.DiskPagesRead, floor.BufferPoolMB)
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
		r.Floor = &floor
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

// runFloor times the floor of a kept database's day.
func runFloor(dsn, day string) error {
	db, err := store.Open(dsn, 8)
	if err != nil {
		return err
	}
	defer db.Close()
	f, err := measureFloor(context.Background(), db, day)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(f)
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
//
// Our records are inserted in reference order (the order of the tables' keys, so
// that MariaDB appends to its indexes instead of splitting pages all over a buffer
// pool smaller than the tables) while the statement streams to the bank simulator.
func seed(ctx context.Context, db *store.DB, bankURL, day string, n int) (models.ReconciliationCounts, error) {
	var want models.ReconciliationCounts
	at := day + "T12:00:00Z"
	created, _ := time.Parse(time.RFC3339, at)
	ref := func(i int) string { return fmt.Sprintf("pay_b%s_%09d", strings.ReplaceAll(day, "-", ""), i) }
	amountOf := func(i int) int64 { return int64(100 + i%99_900) }

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

	// The statement, on its own goroutine.
	written := make(chan error, 1)
	go func() {
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
		}
		// i*7919 mod n visits every reference once (7919 is a prime that divides
		// no size of the form 10^k), far from reference order.
		for k := 0; k < n; k++ {
			i := (k * 7919) % n
			ref, amount := ref(i), amountOf(i)
			am := strconv.FormatInt(amount, 10)
			switch i % 1000 {
			case 1: // ours only
			case 2:
				line(ref, am, "CNY", "succeeded")
			case 3:
				line(ref, strconv.FormatInt(amount+1, 10), "CNY", "succeeded")
			case 4:
				line(ref, am, "CNY", "failed")
			case 5: // unreadable at the bank
				line(ref, `"12.50"`, "CNY", "succeeded")
			case 6:
				line(ref, am, "XXY", "succeeded")
			case 7: // twice at the bank
				line(ref, am, "CNY", "succeeded")
				line(ref, am, "CNY", "succeeded")
			default:
				line(ref, am, "CNY", "succeeded")
			}
			if buf.Len() > 256<<10 {
				if _, err := io.WriteString(pw, buf.String()); err != nil {
					written <- err
					return
				}
				buf.Reset()
			}
		}
		buf.WriteString(`]}`)
		_, err := io.WriteString(pw, buf.String())
		pw.Close()
		written <- err
	}()

	// Our records, in reference order, and the counts the statement and they
	// plant.
	ins := newInserter(ctx, db, created)
	for i := 0; i < n && ins.err == nil; i++ {
		want.StatementLines++
		switch i % 1000 {
		case 1: // ours only: in transit (the bank may book it tomorrow)
			want.StatementLines--
			ins.add(ref(i), amountOf(i), "succeeded")
			want.OurRecords++
			want.InTransit++
		case 2: // the bank's only
			want.MissingOnOurSide++
		case 3:
			ins.add(ref(i), amountOf(i), "succeeded")
			want.OurRecords++
			want.AmountMismatch++
		case 4:
			ins.add(ref(i), amountOf(i), "succeeded")
			want.OurRecords++
			want.StatusMismatch++
		case 5:
			want.Malformed++
		case 6:
			want.UnknownCurrency++
		case 7:
			want.StatementLines++
			ins.add(ref(i), amountOf(i), "succeeded")
			want.OurRecords++
			want.Matched++
			want.DuplicateReference++
		default:
			ins.add(ref(i), amountOf(i), "succeeded")
			want.OurRecords++
			want.Matched++
		}
	}
	if ins.err != nil {
		pw.CloseWithError(ins.err)
		return want, ins.err
	}
	if err := ins.flush(); err != nil {
		pw.CloseWithError(err)
		return want, err
	}
	if err := <-written; err != nil {
		return want, err
	}
	return want, <-injected
}

// inserter bulk-inserts, per reference, our three sides' rows: the bank layer's
// record (bank_transfers), the payment, and its capture journal with its two
// entries (bank clearing debited, the merchant's settlement credited, both
// untracked accounts). Rows are written as literal multi-row INSERTs of seedBatch
// references (no placeholders: the values are the bench's own ids, numbers and
// words), the four tables' statements at once on their own connections: at 1M this
// takes the seeding from about six minutes to about one.
type inserter struct {
	ctx     context.Context
	db      *store.DB
	created string
	tables  []*bulk
	rows    int
	err     error
}

// seedBatch is how many references one flush inserts.
const seedBatch = 5000

// bulk is one table's pending multi-row INSERT.
type bulk struct {
	head string
	sql  strings.Builder
	n    int
}

// add appends a row of SQL literals (already quoted where they are strings).
func (b *bulk) add(values ...string) {
	if b.n == 0 {
		b.sql.Reset()
		b.sql.WriteString(b.head)
	} else {
		b.sql.WriteByte(',')
	}
	b.sql.WriteByte('(')
	for i, v := range values {
		if i > 0 {
			b.sql.WriteByte(',')
		}
		b.sql.WriteString(v)
	}
	b.sql.WriteByte(')')
	b.n++
}

const (
	benchClearing   = "acct_bench_clearing"
	benchSettlement = "acct_bench_settlement"
)

func newInserter(ctx context.Context, db *store.DB, created time.Time) *inserter {
	in := &inserter{ctx: ctx, db: db, created: "'" + created.UTC().Format("2006-01-02 15:04:05.000000") + "'", tables: []*bulk{
		{head: "INSERT INTO bank_transfers (reference, channel, kind, merchant_id, amount, currency, status, created_at) VALUES "},
		{head: "INSERT INTO payments (id, merchant_id, amount, currency, source_type, channel, status, workflow_id, created_at, updated_at) VALUES "},
		{head: "INSERT INTO journals (id, idempotency_key, flow, flow_id, merchant_id, created_at) VALUES "},
		{head: "INSERT INTO entries (id, journal_id, account_id, amount, currency, created_at) VALUES "},
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

// q quotes one of the bench's own strings (ids and words: no quote in them).
func q(s string) string { return "'" + s + "'" }

func (in *inserter) add(ref string, amount int64, status string) {
	am, c := strconv.FormatInt(amount, 10), in.created
	in.tables[0].add(q(ref), "'banksim'", "'charge'", "'mch_bench'", am, "'CNY'", q(status), c)
	in.tables[1].add(q(ref), "'mch_bench'", am, "'CNY'", "'card'", "'banksim'", q(status), q("payment-"+ref), c, c)
	if status == "succeeded" {
		jnl := q("jnl_" + ref)
		in.tables[2].add(jnl, jnl, "'payment'", q(ref), "'mch_bench'", c)
		in.tables[3].add(q("ent_c"+ref), jnl, q(benchClearing), strconv.FormatInt(-amount, 10), "'CNY'", c)
		in.tables[3].add(q("ent_s"+ref), jnl, q(benchSettlement), am, "'CNY'", c)
	}
	in.rows++
	if in.rows == seedBatch && in.err == nil {
		in.err = in.flush()
	}
}

// flush inserts the pending rows, the tables' statements concurrently.
func (in *inserter) flush() error {
	in.rows = 0
	errs := make(chan error, len(in.tables))
	n := 0
	for _, b := range in.tables {
		if b.n == 0 {
			continue
		}
		b.n = 0
		n++
		go func(sql string) { errs <- in.db.WithContext(in.ctx).Exec(sql).Error }(b.sql.String())
	}
	var first error
	for ; n > 0; n-- {
		if err := <-errs; err != nil && first == nil {
			first = fmt.Errorf("insert records: %w", err)
		}
	}
	return first
}
