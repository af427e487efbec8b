// Command bench is make bench: on the stack of make run (the Temporal dev server with
// the same flags, its Web UI, the bank simulator, stripe-mock, a worker and the API,
// on make run's ports) but with payflow's data on MariaDB, in one run it measures
//
//   - end-to-end card payments: signed API requests from concurrent clients, each
//     waited for until the payment is `succeeded` (payments_per_s, payment_p50_ms,
//     payment_p99_ms), with CPU profiles of the worker and the API taken meanwhile;
//   - on the same dev server, raw Temporal workflows of four sequential no-op
//     activities (temporal_baseline_per_s) and of none (temporal_empty_per_s), at the
//     same concurrency, so that payflow's cost is a ratio to the engine (the three
//     run in interleaved rounds, so that a shared machine's changing load weighs on
//     each alike), at 16 clients (bound by latency) and again at 64 (bound by the
//     engine: the "saturation" object);
//   - one client's synchronous card payments (POST with Prefer: wait=10 through the
//     client generated from api/openapi.yaml, polled when answered 202) beside a raw
//     workflow of one activity started and awaited (ExecuteWorkflow, Get): their
//     p50 and p99 and the ratio of the p50s (the "sync" object, goal <= 1.5);
//   - ledger postings per second through internal/ledger beside raw single-row
//     MariaDB commits at the same concurrency (ledger_postings_per_s,
//     mariadb_commits_per_s);
//   - reconciliation (bench/recon: recon_lines, recon_lines_per_s,
//     recon_peak_rss_mb);
//   - with -only yield (not by default), the balance yield's daily run over 100k and
//     1M opted-in wallets on MariaDB (yield_run_1m_s, yield_peak_rss_mb);
//
// then writes bench/results/latest.json and prints a table. It refuses to start when
// one of make run's ports is taken; -free-ports runs everything on free ports instead
// (for development beside another stack).
//
//	go run ./bench                       (make bench)
//	go run ./bench -free-ports -duration 10s -recon skip
//	go run ./bench -free-ports -duration 6s -saturation-duration 6s -sync-duration 6s -only payments,temporal
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/payflow/payflow/bench/load"
	"github.com/payflow/payflow/internal/harness/devstack"
	"github.com/payflow/payflow/internal/ledger"
)

// Goals of issues 9 and 14.
const (
	goalPaymentsVsBaseline = 1.0
	goalLedgerVsMariaDB    = 0.5
	// A synchronous payment's p50 at one client is within this many times a raw
	// one-activity workflow's (issue 14).
	goalSyncVsOneActivity = 1.5
)

// options are the command's flags.
type options struct {
	root        string
	binDir      string
	freePorts   bool
	concurrency int
	duration    time.Duration
	warmup      time.Duration
	rounds      int
	// saturation is the second regime's clients (0: none), measured satDuration in
	// all after satWarmup per phase (the synchronous regime's warm-up too).
	saturation  int
	satDuration time.Duration
	satWarmup   time.Duration
	// syncDuration is how long one client's synchronous payments and the raw
	// one-activity workflow are measured in all (0: not), with Prefer: wait=syncWait.
	syncDuration time.Duration
	syncWait     int
	ledgerConc   []int
	ledgerDur    time.Duration
	ledgerBatch  int
	ledgerGroup  [2]int
	recon        string
	reconSizes   string
	reconRepeat  int
	// yieldSizes are the wallets of each balance yield run, yieldWorkers the
	// goroutines crediting its ranges.
	yieldSizes   []int
	yieldWorkers int
	out          string
	profileDir   string
	verbose      bool
	only         map[string]bool
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var o options
	flag.StringVar(&o.binDir, "bin", "", "directory holding the temporal CLI and stripe-mock (default: the repository's bin)")
	flag.BoolVar(&o.freePorts, "free-ports", false, "run every process on free ports instead of make run's (development beside another stack)")
	flag.IntVar(&o.concurrency, "concurrency", 16, "concurrent clients of the payment and raw Temporal measurements")
	flag.DurationVar(&o.duration, "duration", 60*time.Second, "how long payments and each raw Temporal workflow are measured in all at -concurrency")
	flag.IntVar(&o.saturation, "saturation", 64, "concurrent clients of the second regime, payments and both raw workflows at saturation (0: skip it)")
	flag.DurationVar(&o.satDuration, "saturation-duration", 60*time.Second, "how long payments and each raw Temporal workflow are measured in all at -saturation")
	flag.DurationVar(&o.satWarmup, "saturation-warmup", 5*time.Second, "warm-up of each phase at -saturation and of the synchronous measurement")
	flag.DurationVar(&o.syncDuration, "sync-duration", 30*time.Second, "how long one client's synchronous payments and the raw one-activity workflow are measured each (0: skip)")
	flag.IntVar(&o.syncWait, "sync-wait", 10, "the synchronous payments' Prefer: wait=N, in seconds")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds the payment and raw Temporal measurements are split into")
	flag.DurationVar(&o.warmup, "warmup", 10*time.Second, "load before each measurement that is not counted")
	ledgerConc := flag.String("ledger-concurrency", "1,8,32", "concurrencies of the ledger and raw MariaDB measurements")
	flag.DurationVar(&o.ledgerDur, "ledger-duration", 10*time.Second, "how long each ledger and raw MariaDB measurement runs")
	flag.IntVar(&o.ledgerBatch, "ledger-batch", 10, "postings per transaction of the batched ledger measurement (1: none)")
	flag.IntVar(&o.ledgerGroup[0], "ledger-group", ledger.DefaultGroupMax, "the ledger's group commit: Run calls per group transaction (0: off, every posting its own transaction)")
	flag.IntVar(&o.ledgerGroup[1], "ledger-group-slots", ledger.DefaultGroupSlots, "the ledger's group commit: group transactions at once")
	flag.StringVar(&o.recon, "recon", "run", "reconciliation: run (bench/recon), reuse (fold bench/results/recon.json in) or skip")
	flag.StringVar(&o.reconSizes, "recon-sizes", "100000,1000000", "bench/recon -sizes")
	flag.IntVar(&o.reconRepeat, "recon-repeat", 1, "bench/recon -repeat")
	yieldSizes := flag.String("yield-sizes", "100000,1000000", "wallets of each balance yield run (-only yield)")
	flag.IntVar(&o.yieldWorkers, "yield-workers", 4, "goroutines crediting a yield run's ranges, as worker slots would")
	flag.StringVar(&o.out, "out", "bench/results/latest.json", "where to write the results")
	flag.StringVar(&o.profileDir, "profiles", "bench/results", "where to write the CPU profiles of the worker and the API (\"\": none)")
	flag.BoolVar(&o.verbose, "v", false, "stream the processes' logs")
	cpuProfile := flag.String("cpuprofile", "", "write this process's CPU profile (the ledger's client side) to the file")
	only := flag.String("only", "payments,temporal,ledger,recon,yield", "the parts to run (a dev convenience)")
	flag.Parse()

	var err error
	if o.ledgerConc, err = parseInts(*ledgerConc); err != nil {
		return fmt.Errorf("-ledger-concurrency: %w", err)
	}
	if o.rounds < 1 {
		return fmt.Errorf("-rounds must be at least 1")
	}
	if o.saturation < 0 || o.syncWait < 1 || o.syncWait > 10 {
		return fmt.Errorf("-saturation must be 0 or more and -sync-wait 1 to 10")
	}
	if o.recon != "run" && o.recon != "reuse" && o.recon != "skip" {
		return fmt.Errorf("-recon must be run, reuse or skip")
	}
	o.only = map[string]bool{}
	for _, p := range strings.Split(*only, ",") {
		o.only[strings.TrimSpace(p)] = true
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	if o.root, err = devstack.RepoRoot(wd); err != nil {
		return err
	}
	if o.binDir == "" {
		o.binDir = filepath.Join(o.root, "bin")
	}
	for _, p := range []*string{&o.out, &o.profileDir} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(o.root, *p)
		}
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res := &Results{
		MeasuredAt: time.Now().UTC().Format(time.RFC3339),
		Command:    "make bench (go run ./bench " + strings.Join(os.Args[1:], " ") + ")",
		Machine:    machine(),
		Regime:     Regime{Concurrency: o.concurrency, DurationS: o.duration.Seconds(), Rounds: o.rounds},
		GoalRatio:  goalPaymentsVsBaseline,
		GoalLedger: goalLedgerVsMariaDB,
	}
	res.LoadAverage = append(res.LoadAverage, load.LoadAverage())
	began := time.Now()

	if o.only["payments"] || o.only["temporal"] {
		if err := runStack(ctx, o, res); err != nil {
			return err
		}
	}
	if o.only["ledger"] {
		say("ledger postings and raw MariaDB commits at concurrency %v, %s each", o.ledgerConc, o.ledgerDur)
		if err := runLedger(ctx, o, res); err != nil {
			return err
		}
	}
	if o.only["yield"] {
		if o.yieldSizes, err = parseInts(*yieldSizes); err != nil {
			return fmt.Errorf("-yield-sizes: %w", err)
		}
		if err := runYield(ctx, o, res); err != nil {
			return err
		}
	}
	if o.only["recon"] && o.recon != "skip" {
		if err := runRecon(ctx, o, res); err != nil {
			return err
		}
	}
	res.LoadAverage = append(res.LoadAverage, load.LoadAverage())
	res.WallSeconds = time.Since(began).Seconds()
	res.finish()
	if err := res.write(o.out); err != nil {
		return err
	}
	fmt.Print(res.table())
	say("wrote %s", rel(o.root, o.out))
	// A figure of nothing is a failure, not a slow result.
	if o.only["payments"] && res.PaymentsDone == 0 {
		return fmt.Errorf("no payment succeeded (see the errors above; -v shows the processes' logs)")
	}
	if o.only["temporal"] && (res.TemporalBaselinePerS == 0 || res.TemporalEmptyPerS == 0) {
		return fmt.Errorf("no raw Temporal workflow completed")
	}
	if g := res.Saturation; g != nil && ((o.only["payments"] && g.PaymentsDone == 0) ||
		(o.only["temporal"] && (g.TemporalBaselinePerS == 0 || g.TemporalEmptyPerS == 0))) {
		return fmt.Errorf("nothing completed at %d clients", g.Concurrency)
	}
	if s := res.Sync; s != nil && (s.PaymentsDone == 0 || s.OneActivityDone == 0) {
		return fmt.Errorf("no synchronous payment or raw one-activity workflow completed")
	}
	return nil
}

// say reports progress on stderr.
func say(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// logOut is where the processes' logs go: a file in the work directory, and stderr
// too with -v.
func logOut(o options, path string) (io.Writer, func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	if o.verbose {
		return io.MultiWriter(f, os.Stderr), func() { f.Close() }, nil
	}
	return f, func() { f.Close() }, nil
}

func rel(root, p string) string {
	if r, err := filepath.Rel(root, p); err == nil {
		return r
	}
	return p
}
