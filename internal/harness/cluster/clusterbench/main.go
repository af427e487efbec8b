// Command clusterbench is make bench's cluster mode, kept apart so that it can be
// wired into make bench: on a throwaway cluster of the production shape
// (internal/cluster: Temporal's four services on PostgreSQL, payflow on MariaDB) it
// measures card payments per second, created through the API and waited for through
// Temporal, with one and two workers and through one and two API replicas, beside the
// raw Temporal baseline (an empty workflow started and completed on the same cluster
// by an in-process worker). It prints a Markdown table (and writes it to -out). It
// needs what make cluster needs (make cluster-tools, PostgreSQL, MariaDB).
//
//	go run ./internal/cluster/clusterbench -duration 20s -concurrency 16
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/bench/load"
	"github.com/payflow/payflow/internal/harness/cluster"
	"github.com/payflow/payflow/internal/harness/devstack"
	"github.com/payflow/payflow/models"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "clusterbench:", err)
		os.Exit(1)
	}
}

// cell is one configuration measured.
type cell struct {
	name            string
	workers, apis   int
	done            int
	elapsed         time.Duration
	p50, p99        time.Duration
	errors          int
	perSecond       float64
	temporalBaseRow bool
}

func run() error {
	duration := flag.Duration("duration", 20*time.Second, "how long each configuration runs")
	concurrency := flag.Int("concurrency", 16, "concurrent clients")
	binDir := flag.String("bin", "", "directory holding temporal-server, temporal-sql-tool, temporal and stripe-mock (default: the repository's bin)")
	out := flag.String("out", "", "also write the table to this file")
	verbose := flag.Bool("v", false, "stream the processes' logs")
	flag.Parse()

	ctx := context.Background()
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	root, err := devstack.RepoRoot(wd)
	if err != nil {
		return err
	}
	if *binDir == "" {
		*binDir = filepath.Join(root, "bin")
	}
	work, err := os.MkdirTemp("", "payflow-clusterbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "payflow")
	build := exec.Command("go", "build", "-o", bin, "./cmd/payflow")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build payflow: %v\n%s", err, b)
	}
	var also io.Writer
	if *verbose {
		also = os.Stderr
	}
	logs, err := cluster.LogFiles(filepath.Join(work, "logs"), also)
	if err != nil {
		return err
	}
	o, err := cluster.ThrowawayOptions(root, *binDir, bin, filepath.Join(work, "data"))
	if err != nil {
		return err
	}
	say := func(format string, a ...any) { fmt.Fprintf(os.Stderr, "clusterbench: "+format+"\n", a...) }
	o.Temporal.Out, o.Temporal.Say = logs, say
	o.Payflow.Out, o.Payflow.Say = logs, say
	o.Payflow.Env = map[string]string{"PAYFLOW_LOG_LEVEL": "warn"}
	c, err := cluster.Start(ctx, o)
	if err != nil {
		return err
	}
	defer c.Stop()
	tc, err := client.Dial(client.Options{HostPort: c.Temporal.Address(), Namespace: o.Temporal.Namespace})
	if err != nil {
		return err
	}
	defer tc.Close()

	var cells []cell
	base, err := temporalBaseline(ctx, tc, *duration, *concurrency)
	if err != nil {
		return err
	}
	cells = append(cells, base)
	say("%s: %.1f/s", base.name, base.perSecond)
	for _, cfg := range []struct{ workers, apis int }{{1, 1}, {1, 2}, {2, 1}, {2, 2}} {
		if err := setWorkers(c, cfg.workers); err != nil {
			return err
		}
		r := payments(ctx, c, tc, cfg.apis, *duration, *concurrency)
		r.workers, r.apis = cfg.workers, cfg.apis
		cells = append(cells, r)
		say("%s: %.1f/s (p50 %s, p99 %s, %d errors)", r.name, r.perSecond, r.p50, r.p99, r.errors)
	}
	table := render(cells, *duration, *concurrency)
	fmt.Print(table)
	if *out != "" {
		return os.WriteFile(*out, []byte(table), 0o644)
	}
	return nil
}

// setWorkers leaves exactly n payflow worker processes running.
func setWorkers(c *cluster.Cluster, n int) error {
	var running []*devstack.Proc
	for _, w := range c.Payflow.Workers() {
		if !w.Exited() {
			running = append(running, w)
		}
	}
	for len(running) > n {
		if err := running[len(running)-1].Stop(30 * time.Second); err != nil {
			return err
		}
		running = running[:len(running)-1]
	}
	for len(running) < n {
		w, err := c.Payflow.StartWorker(c.Payflow.Opts.Bin, "worker")
		if err != nil {
			return err
		}
		running = append(running, w)
	}
	// A worker just started needs a moment to poll; the first second of a run would
	// otherwise measure its start.
	time.Sleep(3 * time.Second)
	return nil
}

// emptyWorkflow is the baseline: a workflow that does nothing.
func emptyWorkflow(ctx workflow.Context) error { return nil }

// temporalBaseline starts and waits for empty workflows, from an in-process worker
// on its own task queue: what the cluster does with no payflow in the way.
func temporalBaseline(ctx context.Context, tc client.Client, d time.Duration, conc int) (cell, error) {
	queue := "clusterbench-baseline"
	w := sdkworker.New(tc, queue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(emptyWorkflow, workflow.RegisterOptions{Name: "ClusterbenchEmpty"})
	if err := w.Start(); err != nil {
		return cell{}, err
	}
	defer w.Stop()
	r := measure(d, conc, func(ctx context.Context) error {
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "clusterbench/" + models.NewID(""), TaskQueue: queue}, "ClusterbenchEmpty")
		if err != nil {
			return err
		}
		return run.Get(ctx, nil)
	})
	r.name = "Temporal baseline: empty workflow (in-process worker)"
	r.temporalBaseRow = true
	return r, nil
}

// payments creates card payments through the first apis replicas in turn and waits
// for each to succeed.
func payments(ctx context.Context, c *cluster.Cluster, tc client.Client, apis int, d time.Duration, conc int) cell {
	var turn atomic.Int64
	r := measure(d, conc, func(ctx context.Context) error {
		i := int(turn.Add(1))
		return load.CardPayment(ctx, c.Payflow.Client(i%apis), tc, int64(1000+i%1000))
	})
	r.name = "card payments (tok_success), through the API, end to end"
	return r
}

// measure runs op from conc clients for d (bench/load, shared with make bench).
func measure(d time.Duration, conc int, op func(context.Context) error) cell {
	r := load.Measure(d, conc, op)
	return cell{done: r.Done, elapsed: r.Elapsed, errors: r.Errors, perSecond: r.PerSecond, p50: r.P50, p99: r.P99}
}

func render(cells []cell, d time.Duration, conc int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# make bench, cluster mode\n\n")
	fmt.Fprintf(&b, "A throwaway cluster (Temporal %s as 4 processes on PostgreSQL, payflow on MariaDB) on\n", cluster.ServerVersion)
	fmt.Fprintf(&b, "%d cores, %s; %d concurrent clients, %s per row, %s.\n\n", runtime.NumCPU(), runtime.GOOS, conc, d, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "| what | workers | API replicas | completed | per second | p50 | p99 | errors |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range cells {
		w, a := fmt.Sprint(c.workers), fmt.Sprint(c.apis)
		if c.temporalBaseRow {
			w, a = "-", "-"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %.1f | %s | %s | %d |\n", c.name, w, a, c.done, c.perSecond,
			c.p50.Round(time.Millisecond), c.p99.Round(time.Millisecond), c.errors)
	}
	return b.String()
}
