package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	temporal "go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	apiclient "github.com/payflow/payflow/api/client"
	"github.com/payflow/payflow/bench/load"
	"github.com/payflow/payflow/internal/harness/devstack"
	"github.com/payflow/payflow/internal/harness/e2e"
	"github.com/payflow/payflow/internal/harness/testenv"
)

// ports are make run's addresses, or free ones with -free-ports.
type ports struct {
	temporal, ui             int
	api, banksim, stripeMock string
}

func pickPorts(free bool) (ports, error) {
	p := ports{temporal: 7233, ui: 8233, api: "127.0.0.1:8080", banksim: "127.0.0.1:8090", stripeMock: "127.0.0.1:12111"}
	if !free {
		// The same check as make run's: a stack still running is named, not fought.
		if err := devstack.CheckPortsFree(fmt.Sprintf("127.0.0.1:%d", p.temporal), fmt.Sprintf("127.0.0.1:%d", p.ui),
			p.api, p.banksim, p.stripeMock); err != nil {
			return ports{}, fmt.Errorf("make bench runs on make run's ports: %w", err)
		}
		return p, nil
	}
	var ns [5]int
	for i := range ns {
		n, err := devstack.FreePort()
		if err != nil {
			return ports{}, err
		}
		ns[i] = n
	}
	return ports{temporal: ns[0], ui: ns[1], api: fmt.Sprintf("127.0.0.1:%d", ns[2]),
		banksim: fmt.Sprintf("127.0.0.1:%d", ns[3]), stripeMock: fmt.Sprintf("127.0.0.1:%d", ns[4])}, nil
}

// runStack starts the dev server and payflow on MariaDB, measures payments and the
// raw Temporal workflows, and stops everything it started.
func runStack(ctx context.Context, o options, res *Results) error {
	p, err := pickPorts(o.freePorts)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "payflow-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	say("building payflow")
	bin, err := e2e.Build(o.root, work, false)
	if err != nil {
		return err
	}
	out, closeLog, err := logOut(o, filepath.Join(work, "stack.log"))
	if err != nil {
		return err
	}
	defer closeLog()

	// The dev server exactly as make run starts it (cmd/payflow/dev.go): a file store
	// with WAL, the Web UI, the search attributes, the codec endpoint.
	say("starting the Temporal dev server on 127.0.0.1:%d (UI %d)", p.temporal, p.ui)
	tp, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{
		Bin: filepath.Join(o.binDir, "temporal"), Port: p.temporal, UIPort: p.ui,
		DBFile: filepath.Join(work, "temporal.db"), LogLevel: "warn",
		CodecEndpoint: "http://" + p.api + "/codec",
	}, out)
	if err != nil {
		return err
	}
	defer func() { _ = tp.Stop(15 * time.Second) }()
	temporalAddr := fmt.Sprintf("127.0.0.1:%d", p.temporal)

	say("starting banksim (%s), stripe-mock (%s), a worker and the API (%s) on a fresh MariaDB database at %s",
		p.banksim, p.stripeMock, p.api, testenv.MySQLAddr())
	st, err := e2e.StartStack(ctx, e2e.StackOptions{
		Name: "bench", Bin: bin, Temporal: temporalAddr, Backend: testenv.MySQL, WorkDir: work, Out: out,
		APIAddrs: []string{p.api}, BanksimAddr: p.banksim, StripeMockAddr: p.stripeMock,
		StripeMockBin: filepath.Join(o.binDir, "stripe-mock"), Pprof: o.profileDir != "",
		Env: map[string]string{"PAYFLOW_LOG_LEVEL": "warn"},
	})
	if err != nil {
		return fmt.Errorf("start payflow: %w (logs: -v)", err)
	}
	defer st.Stop()

	tc, err := temporal.Dial(temporal.Options{
		HostPort: temporalAddr,
		Logger:   sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))),
	})
	if err != nil {
		return err
	}
	defer tc.Close()

	procs := map[string]int{"temporal": tp.Pid(), "worker": st.Workers[0].Pid(), "api": st.APIs[0].Pid(),
		"banksim": st.Banksim.Pid(), "bench": os.Getpid()}
	if pid := findProcess("mariadbd"); pid > 0 {
		procs["mariadb"] = pid
	}

	// Each regime's phases run in interleaved rounds (payments, 4 activities, empty;
	// again), so that the machine's changing load weighs on each alike and the ratios
	// hold: first at -concurrency clients (bound by latency), then at -saturation
	// clients (bound by the engine), then one client's synchronous payment beside a raw
	// workflow of one activity.
	var raw rawOps
	if o.only["temporal"] {
		var stopWorker func()
		raw, stopWorker, err = temporalOps(tc)
		if err != nil {
			return err
		}
		defer stopWorker()
	}
	c := st.Client(0)
	var n atomic.Int64
	payments := func(ctx context.Context) error {
		return load.CardPayment(ctx, c, tc, 1000+n.Add(1)%1000)
	}
	throughput := func() []*phase {
		var phases []*phase
		if o.only["payments"] {
			phases = append(phases, &phase{name: "payments", op: payments},
				&phase{name: "payment code payments", op: func(ctx context.Context) error {
					return load.CodePayment(ctx, c, tc, 1000+n.Add(1)%1000)
				}})
		}
		if o.only["temporal"] {
			phases = append(phases, &phase{name: "temporal 4 activities", op: raw.four}, &phase{name: "temporal empty", op: raw.empty})
		}
		return phases
	}

	phases := throughput()
	err = measure(ctx, o, o.concurrency, o.duration, o.warmup, phases, procs, func(r int, ph *phase, round time.Duration, wg *sync.WaitGroup) {
		if r == 0 && ph.name == "payments" && o.profileDir != "" {
			profile(ctx, o, st, round, res, wg)
		}
	})
	if err != nil {
		return err
	}
	for _, ph := range phases {
		m := load.Merge(ph.results...)
		res.set(ph.name, m, ph.cores())
		say("%s at %d clients: %.1f/s over %d rounds", ph.name, o.concurrency, m.PerSecond, o.rounds)
	}

	if o.saturation > 0 {
		phases := throughput()
		if err := measure(ctx, o, o.saturation, o.satDuration, o.satWarmup, phases, procs, nil); err != nil {
			return err
		}
		sat := &Regime{Concurrency: o.saturation, DurationS: o.satDuration.Seconds(), Rounds: o.rounds}
		for _, ph := range phases {
			m := load.Merge(ph.results...)
			sat.set(ph.name, m, ph.cores())
			say("%s at %d clients: %.1f/s over %d rounds", ph.name, o.saturation, m.PerSecond, o.rounds)
		}
		res.Saturation = sat
	}

	if o.syncDuration > 0 && o.only["payments"] && o.only["temporal"] {
		gc, err := apiclient.NewClientWithResponses("http://"+p.api, apiclient.WithRequestEditorFn(apiclient.SignAsMerchant("mch_demo", e2e.DemoSecret)))
		if err != nil {
			return err
		}
		var answers load.SyncAnswers
		phases := []*phase{
			{name: "synchronous payment", op: func(ctx context.Context) error {
				return load.SyncCardPayment(ctx, gc, 1000+n.Add(1)%1000, o.syncWait, &answers)
			}},
			{name: "temporal 1 activity", op: raw.one},
		}
		// The answers are counted over the measured rounds, not the warm-up.
		reset := func(r int, ph *phase, _ time.Duration, _ *sync.WaitGroup) {
			if r == 0 && ph == phases[0] {
				answers.Final.Store(0)
				answers.Processing.Store(0)
			}
		}
		if err := measure(ctx, o, 1, o.syncDuration, o.satWarmup, phases, procs, reset); err != nil {
			return err
		}
		sy := &SyncResult{Concurrency: 1, DurationS: o.syncDuration.Seconds(), Rounds: o.rounds, Prefer: fmt.Sprintf("wait=%d", o.syncWait), Goal: goalSyncVsOneActivity}
		pay, one := load.Merge(phases[0].results...), load.Merge(phases[1].results...)
		sy.set(pay, one)
		sy.Answered200, sy.Answered202 = int(answers.Final.Load()), int(answers.Processing.Load())
		res.Sync = sy
		say("synchronous payment at 1 client: p50 %s, p99 %s; raw 1-activity workflow: p50 %s, p99 %s",
			pay.P50.Round(time.Millisecond), pay.P99.Round(time.Millisecond), one.P50.Round(time.Millisecond), one.P99.Round(time.Millisecond))
	}
	say("stopping the stack")
	return nil
}

// measure runs phases at conc clients: a warm-up of each, then o.rounds interleaved
// rounds of d/o.rounds each. before, when set, runs before each round (with the round's
// WaitGroup, which measure waits for after the round).
func measure(ctx context.Context, o options, conc int, d, warmup time.Duration, phases []*phase, procs map[string]int,
	before func(r int, ph *phase, round time.Duration, wg *sync.WaitGroup)) error {
	for _, ph := range phases {
		if warmup > 0 {
			say("%s: warm-up %s at %d clients", ph.name, warmup, conc)
			_ = load.Measure(warmup, conc, ph.op)
		}
	}
	round := d / time.Duration(o.rounds)
	for r := 0; r < o.rounds; r++ {
		for _, ph := range phases {
			var wg sync.WaitGroup
			if before != nil {
				before(r, ph, round, &wg)
			}
			cpu0 := cpuSeconds(procs)
			m := load.Measure(round, conc, ph.op)
			ph.add(m, cpu0, cpuSeconds(procs))
			wg.Wait()
			say("round %d/%d, %s: %d clients for %s: %.1f/s, p50 %s, p99 %s, %d errors %s", r+1, o.rounds, ph.name,
				conc, round, m.PerSecond, m.P50.Round(time.Millisecond), m.P99.Round(time.Millisecond), m.Errors, m.FirstError)
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
	}
	return nil
}

// phase is one kind of operation measured in rounds, with the CPU each process
// spent during its rounds.
type phase struct {
	name    string
	op      func(context.Context) error
	results []load.Result
	cpu     map[string]float64
	elapsed time.Duration
}

func (p *phase) add(r load.Result, cpu0, cpu1 map[string]float64) {
	p.results = append(p.results, r)
	if p.cpu == nil {
		p.cpu = map[string]float64{}
	}
	for k, v := range cpu1 {
		if b, ok := cpu0[k]; ok {
			p.cpu[k] += v - b
		}
	}
	p.elapsed += r.Elapsed
}

// cores is the CPU each process used during the phase's rounds, in cores.
func (p *phase) cores() map[string]float64 {
	out := map[string]float64{}
	for k, v := range p.cpu {
		out[k] = round2(v / p.elapsed.Seconds())
	}
	return out
}

// profile takes CPU profiles of the worker and the API during the middle of a
// payments round (not its ramp-up or tail), in the background; wg ends with them.
func profile(ctx context.Context, o options, st *e2e.Stack, round time.Duration, res *Results, wg *sync.WaitGroup) {
	secs := max(1, int((round - 4*time.Second).Seconds()))
	var mu sync.Mutex
	for name, url := range map[string]string{"worker": st.WorkerPprofURLs[0], "api": st.APIPprofURLs[0]} {
		path := filepath.Join(o.profileDir, name+".cpu.pprof")
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(2 * time.Second)
			if err := fetchProfile(ctx, url, secs, path); err != nil {
				say("profile %s: %v", name, err)
				return
			}
			mu.Lock()
			res.Profiles = append(res.Profiles, rel(o.root, path))
			mu.Unlock()
		}()
	}
}

// fetchProfile saves a CPU profile of secs seconds from a pprof root.
func fetchProfile(ctx context.Context, root string, secs int, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/profile?seconds=%d", root, secs), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
