// Command chaos is make chaos: it starts payflow's whole local stack (the Temporal
// dev server with make run's flags, the bank simulator, a worker and the API, on
// MariaDB, or on SQLite with -db sqlite), drives mixed money flows through it with the
// bank's faults on while it kills processes, and proves that nothing was lost or done
// twice (internal/harness/chaos). It exits 1 on any loss, 2 when the run itself could not
// happen (a port taken, MariaDB down).
//
// Scenario "workers": 500 flows, the worker killed (SIGKILL) twice and the API once,
// each restarted; beside them 40 bank-card verifications (matches, mismatches,
// repeats the cache may answer, the card whose answer times out) and 10 cards bound
// to wallets with the bank's SMS code, half of them topped up from; and the Redis
// the processes cache verification answers in shut down (SHUTDOWN NOSAVE) midway
// and started again, when it is this machine's and persists nothing. Scenario
// "temporal": 150 flows, the Temporal dev server killed and restarted on the same
// database file. Scenario "edges": operators' cancels of flows
// waiting at the bank, payouts past a short deadline, both while the bank cancels and
// while it refuses to, the bank simulator killed and restarted on its database file,
// a second merchant disabled mid-run, payments through stripe (stripe-mock) and auto.
// False bank callbacks are sent throughout every scenario. All three run by default,
// one after the other, each on a fresh database and a fresh Temporal state.
//
// By default it uses make run's ports (Temporal 7233, Web 8233, bank simulator 8090,
// API 8080, stripe-mock 12111 for the edges scenario) and refuses to start when one is
// taken; -free-ports picks free ones, for runs beside another stack.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/harness/chaos"
	"github.com/payflow/payflow/internal/harness/cluster"
	"github.com/payflow/payflow/internal/harness/devstack"
	"github.com/payflow/payflow/internal/store"
)

type options struct {
	binDir      string
	freePorts   bool
	scenarios   []string
	flows       map[string]int
	concurrency int
	keep        bool
	mysql       cluster.MySQL
	faults      string
	// temporalDown is how long the Temporal dev server stays down.
	temporalDown time.Duration
	// workerKills is how many times the workers scenario kills the worker.
	workerKills int
	// db is mysql (a fresh MariaDB database per scenario) or sqlite (a file in the
	// work directory, as make run has).
	db string
	// edges sizes the edges scenario.
	edges chaos.EdgesOptions
	// forgeEvery is the pause between two false bank callbacks (0: none sent).
	forgeEvery time.Duration
	// verifications and bindings size the workers scenario's identity requests.
	verifications, bindings int
	// killRedis: the workers scenario shuts the processes' Redis down midway, for
	// at least redisDown.
	killRedis bool
	redisDown time.Duration
}

func main() {
	var o options
	var scen string
	var flows1, flows2 int
	flag.StringVar(&o.binDir, "bin", "bin", "directory holding payflow (make build) and the temporal CLI (make tools)")
	flag.BoolVar(&o.freePorts, "free-ports", false, "use free ports instead of make run's (to run beside another stack)")
	flag.StringVar(&scen, "scenario", "workers,temporal,edges", "scenarios to run, in order: workers, temporal, edges")
	flag.IntVar(&flows1, "flows", 500, "flows of the workers scenario (a multiple of 10)")
	flag.IntVar(&flows2, "temporal-flows", 150, "flows of the temporal scenario (a multiple of 10)")
	flag.IntVar(&o.concurrency, "concurrency", 48, "flow chains (a payment and its refund, a wallet's flows) run at once")
	flag.BoolVar(&o.keep, "keep", false, "keep the database and the work directory (logs) after a green run too")
	flag.StringVar(&o.faults, "faults", `{"error_rate":0.2,"latency_ms":50,"processing_ms":1500,"duplicate_callbacks":true}`, "the bank simulator's faults during the run (POST /sim/faults)")
	flag.DurationVar(&o.temporalDown, "temporal-down", 5*time.Second, "how long the temporal scenario keeps the Temporal dev server down")
	flag.IntVar(&o.workerKills, "worker-kills", 2, "how many times the workers scenario kills the worker (spread from 15 % to 65 % of the flows created)")
	flag.StringVar(&o.db, "db", "mysql", "payflow's database: mysql (MariaDB at MYSQL_ADDR, a fresh database per scenario) or sqlite (a file, as make run)")
	flag.StringVar(&o.edges.Faults, "edges-faults", `{"error_rate":0.1,"latency_ms":50,"duplicate_callbacks":true}`, "edges scenario: the bank simulator's faults (each phase adds processing_ms and refuse_cancel)")
	flag.IntVar(&o.edges.Batch, "edges-batch", 6, "edges scenario: flows per group and phase (operator-canceled payments, operator-canceled withdrawals, payouts left to their deadline)")
	flag.DurationVar(&o.edges.Deadline, "edges-deadline", 20*time.Second, "edges scenario: the deadline of banksim payouts (PAYFLOW_BANK_DEADLINES=banksim.payout=...)")
	flag.DurationVar(&o.edges.Processing, "edges-processing", 30*time.Second, "edges scenario: how long the slow transfers take at the bank (longer than -edges-deadline)")
	flag.DurationVar(&o.edges.BankDown, "edges-bank-down", 5*time.Second, "edges scenario: how long the bank simulator stays down after it is killed")
	flag.DurationVar(&o.forgeEvery, "forge-every", 200*time.Millisecond, "the pause between two false bank callbacks sent during every scenario (0: none)")
	flag.IntVar(&o.verifications, "verifications", 40, "workers scenario: bank-card verifications (matches, mismatches, repeats, the card that times out)")
	flag.IntVar(&o.bindings, "bindings", 10, "workers scenario: cards bound to wallets (the even ones then topped up from)")
	flag.BoolVar(&o.killRedis, "kill-redis", true, "workers scenario: shut the processes' Redis down midway (SHUTDOWN NOSAVE) and start it again")
	flag.DurationVar(&o.redisDown, "redis-down", 5*time.Second, "workers scenario: how long Redis stays down at least")
	flag.Parse()
	o.scenarios = strings.Split(scen, ",")
	o.flows = map[string]int{"workers": flows1, "temporal": flows2}
	o.mysql = cluster.MySQL{Addr: envOr("MYSQL_ADDR", "127.0.0.1:3306"), User: envOr("MYSQL_USER", "root"), Password: os.Getenv("MYSQL_PASSWORD")}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	failed := false
	for _, s := range o.scenarios {
		ok, err := runScenario(ctx, o, strings.TrimSpace(s))
		if err != nil {
			fmt.Fprintf(os.Stderr, "chaos %s: %v\n", s, err)
			os.Exit(2)
		}
		failed = failed || !ok
	}
	fmt.Printf("chaos: %d scenarios in %s\n", len(o.scenarios), time.Since(start).Round(time.Second))
	if failed {
		fmt.Println("chaos: FAILED: something was lost or done twice (see the problems above)")
		os.Exit(1)
	}
	fmt.Println("chaos: ok, nothing lost or done twice")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// ports are where the stack listens.
type ports struct {
	temporal, ui                     int
	banksimAddr, apiAddr, stripeAddr string
}

// pickPorts picks make run's ports, or free ones; stripe-mock's is checked only for
// a scenario that starts it.
func pickPorts(free, stripe bool) (ports, error) {
	if !free {
		p := ports{temporal: 7233, ui: 8233, banksimAddr: "127.0.0.1:8090", apiAddr: "127.0.0.1:8080", stripeAddr: "127.0.0.1:12111"}
		addrs := []string{"127.0.0.1:7233", "127.0.0.1:8233", p.banksimAddr, p.apiAddr}
		if stripe {
			addrs = append(addrs, p.stripeAddr)
		}
		return p, devstack.CheckPortsFree(addrs...)
	}
	var n [5]int
	for i := range n {
		var err error
		if n[i], err = devstack.FreePort(); err != nil {
			return ports{}, err
		}
	}
	return ports{temporal: n[0], ui: n[1], banksimAddr: fmt.Sprintf("127.0.0.1:%d", n[2]), apiAddr: fmt.Sprintf("127.0.0.1:%d", n[3]),
		stripeAddr: fmt.Sprintf("127.0.0.1:%d", n[4])}, nil
}

// newSecret is a random secret of a run (the bank's callback secrets).
func newSecret(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// run is one scenario's stack and what it needs to kill and restart its parts.
type run struct {
	o        options
	name     string
	ports    ports
	workDir  string
	temporal *devstack.Proc
	tOpts    devstack.TemporalOptions
	tOut     io.Writer
	pf       *cluster.Payflow
	driver   *chaos.Driver
	start    time.Time
	mu       sync.Mutex
	logs     []*os.File
	// redis kills the processes' Redis (nil: not killed, redisNote says why);
	// outages are the times it was down.
	redis     *redisKiller
	redisNote string
	outages   []chaos.Outage
}

func (r *run) say(format string, args ...any) {
	fmt.Printf("[%s %6.1fs] %s\n", r.name, time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

func (r *run) out(name string) io.Writer {
	f, err := os.OpenFile(filepath.Join(r.workDir, "logs", name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return io.Discard
	}
	r.mu.Lock()
	r.logs = append(r.logs, f)
	r.mu.Unlock()
	return f
}

// runScenario starts a fresh stack, runs the scenario and proves it; ok is false when
// something was lost or done twice, err when the run itself could not happen.
func runScenario(ctx context.Context, o options, name string) (ok bool, err error) {
	if name != "workers" && name != "temporal" && name != "edges" {
		return false, fmt.Errorf("unknown scenario %q (workers, temporal, edges)", name)
	}
	edges := name == "edges"
	n := o.flows[name]
	if o.db != "mysql" && o.db != "sqlite" {
		return false, fmt.Errorf("-db is mysql or sqlite, not %q", o.db)
	}
	if !edges && (n < 10 || n%10 != 0) {
		return false, fmt.Errorf("flows must be a multiple of 10, not %d", n)
	}
	if edges && (o.edges.Batch < 1 || o.edges.Processing <= o.edges.Deadline+5*time.Second) {
		return false, fmt.Errorf("-edges-batch must be positive and -edges-processing at least 5s longer than -edges-deadline")
	}
	r := &run{o: o, name: name, start: time.Now()}
	if r.ports, err = pickPorts(o.freePorts, edges); err != nil {
		return false, err
	}
	if r.workDir, err = os.MkdirTemp("", "payflow-chaos-"+name+"-"); err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Join(r.workDir, "logs"), 0o755); err != nil {
		return false, err
	}
	r.say("work directory %s (process logs in logs/)", r.workDir)
	db := fmt.Sprintf("payflow_chaos_%s_%d", name, os.Getpid())
	defer func() {
		r.stop()
		switch {
		case ok && !o.keep:
			if o.db == "mysql" {
				dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_ = o.mysql.DropDatabase(dctx, db)
			}
			_ = os.RemoveAll(r.workDir)
		case o.db == "mysql":
			r.say("kept MariaDB database %s and %s for a look", db, r.workDir)
		default:
			r.say("kept %s (payflow.db, temporal.db, logs/) for a look", r.workDir)
		}
	}()
	// The whole scenario is bounded: setup, the run and the proof.
	ctx, cancel := context.WithTimeout(ctx, 8*time.Minute)
	defer cancel()

	apiURL := "http://" + r.ports.apiAddr
	r.tOpts = devstack.TemporalOptions{
		Bin: filepath.Join(o.binDir, "temporal"), Port: r.ports.temporal, UIPort: r.ports.ui,
		DBFile: filepath.Join(r.workDir, "temporal.db"), LogLevel: "warn", CodecEndpoint: apiURL + "/codec",
	}
	r.tOut = r.out("temporal")
	r.say("starting the Temporal dev server on 127.0.0.1:%d (Web %d), state in %s", r.ports.temporal, r.ports.ui, r.tOpts.DBFile)
	if r.temporal, err = devstack.StartTemporal(ctx, r.tOpts, r.tOut); err != nil {
		return false, err
	}
	dsn := ""
	if o.db == "sqlite" {
		dsn = "sqlite://" + filepath.Join(r.workDir, "payflow.db")
	} else if err := o.mysql.DropDatabase(ctx, db); err != nil {
		return false, err
	}
	// The bank callbacks' secrets are the run's own, so that the false callbacks it
	// sends are signed exactly as the banks' real ones.
	banksimSecret, stripeSecret := newSecret("chaos_banksim_"), newSecret("whsec_chaos")
	env := map[string]string{
		// make run's codec settings, for Temporal Web on this port.
		"PAYFLOW_CODEC_TRUST_LOCAL_UI":  "true",
		"PAYFLOW_CODEC_ALLOWED_ORIGINS": fmt.Sprintf("http://127.0.0.1:%[1]d,http://localhost:%[1]d", r.ports.ui),
		// A request that the bank holds (tok_timeout_success) times out after 3 s
		// instead of 10, and a processing transfer whose callback was lost is
		// polled after 10 s instead of 60, so that the run stays short.
		"PAYFLOW_BANK_TIMEOUT":            "3s",
		"PAYFLOW_BANK_POLL":               "10s",
		"PAYFLOW_LOG_LEVEL":               "info",
		"PAYFLOW_CHANNELS":                "banksim,stripe,alipaysim,wxpaysim",
		"PAYFLOW_BANKSIM_CALLBACK_SECRET": banksimSecret,
		"PAYFLOW_STRIPE_WEBHOOK_SECRET":   stripeSecret,
		// The wallet providers' notifications are signed with the run's own too.
		"PAYFLOW_ALIPAYSIM_NOTIFY_SECRET": newSecret("chaos_alipaysim_"),
		"PAYFLOW_WXPAYSIM_NOTIFY_SECRET":  newSecret("chaos_wxpaysim_"),
	}
	stripeMock := ""
	if edges {
		// Payouts past a short deadline; processing transfers polled every 2 s at
		// first, so that a flow notices the restarted bank soon.
		env["PAYFLOW_BANK_DEADLINES"] = fmt.Sprintf("banksim.payout=%s,%s", o.edges.Deadline, config.DefaultBankDeadlines)
		env["PAYFLOW_BANK_POLL"] = "2s"
		stripeMock = filepath.Join(o.binDir, "stripe-mock")
		r.say("stripe-mock on %s", r.ports.stripeAddr)
	}
	r.pf, err = cluster.StartPayflow(ctx, cluster.PayflowOptions{
		Bin: filepath.Join(o.binDir, "payflow"), MySQL: o.mysql, Database: db, DSN: dsn,
		Temporal: fmt.Sprintf("127.0.0.1:%d", r.ports.temporal), Namespace: "default",
		APIAddrs: []string{r.ports.apiAddr}, BanksimAddr: r.ports.banksimAddr, Workers: 1,
		StripeMockBin: stripeMock, StripeMockAddr: r.ports.stripeAddr,
		DataDir: r.workDir, Env: env, Out: r.out, Say: r.say,
	})
	if err != nil {
		return false, err
	}
	if name == "workers" {
		redisURL := r.pf.Opts.ProcessEnv(r.pf.DSN, apiURL)["PAYFLOW_REDIS_URL"]
		if o.killRedis {
			r.redis, r.redisNote = newRedisKiller(ctx, redisURL)
		} else {
			r.redisNote = "-kill-redis=false"
		}
		if r.redis != nil {
			r.say("the processes cache in the Redis on %s: it is shut down midway and started again", r.redis.addr)
			defer func() {
				// Whatever stopped the run, Redis is not left down.
				if !r.redis.down.IsZero() {
					sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					if err := r.redis.start(sctx); err != nil {
						r.say("COULD NOT START REDIS AGAIN: %v", err)
					} else {
						r.say("started Redis again on %s", r.redis.addr)
					}
				}
			}()
		} else {
			r.say("Redis is not killed: %s", r.redisNote)
		}
	}

	own, merchant, err := r.newParty(ctx, "chaos", "chaos-"+name+"-")
	if err != nil {
		return false, err
	}
	defer own.Receiver.Close()
	d, rcv := own.Driver, own.Receiver
	r.say("merchant %s: its webhooks go to %s (every 10th event refused once)", merchant, rcv.URL())
	r.driver = d
	faults := o.faults
	if edges {
		faults = o.edges.Faults
	}
	if err := d.SetBankFaults(ctx, faults); err != nil {
		return false, err
	}
	r.say("bank faults on: %s", faults)

	tr := &chaos.Tracker{}
	// False callbacks, signed with the run's secrets, throughout the run.
	forger := &chaos.Forger{APIURL: r.pf.APIURLs[0], BanksimSecret: banksimSecret, StripeSecret: stripeSecret, Every: o.forgeEvery,
		Waiting: func(ctx context.Context) ([]string, error) { return d.FlowsAtStage(ctx, merchant, "", "waiting_bank") }}
	forgeCtx, stopForging := context.WithCancel(ctx)
	defer stopForging()
	forged := make(chan struct{})
	go func() {
		defer close(forged)
		if o.forgeEvery > 0 {
			forger.Run(forgeCtx, tr)
		}
	}()

	verify := chaos.VerifyOptions{MerchantID: merchant, Receiver: rcv, Wait: 3 * time.Minute, Say: r.say, Since: r.start}
	var want int
	var erep chaos.EdgesReport
	runStart := time.Now()
	if edges {
		eo := o.edges
		eo.WalletPrefix, eo.Say = "chaos-"+name, r.say
		eo.OtherPayments, eo.OtherRefused, eo.StripePayments, eo.AutoPayments = 8, 3, 10, 6
		b, other, err := r.newParty(ctx, "chaos-disabled", "chaos-"+name+"-b-")
		if err != nil {
			return false, err
		}
		defer b.Receiver.Close()
		b.Driver.Merchant = other
		eo.Other = b.Driver
		verify.Others = map[string]chaos.Party{other: b}
		eo.KillBank = func() error { r.pf.KillBanksim(); return nil }
		eo.StartBank = r.pf.StartBanksim
		want = 10*eo.Batch + eo.OtherPayments + eo.StripePayments + eo.AutoPayments
		r.say("starting the edges: %d flows (groups of %d per phase; payouts' deadline %s, slow transfers %s at the bank), merchant %s to be disabled",
			want, eo.Batch, eo.Deadline, eo.Processing, other)
		if erep, err = chaos.Edges(ctx, d, tr, eo); err != nil {
			stopForging()
			<-forged
			return false, fmt.Errorf("the edges: %w", err)
		}
	} else {
		mix := chaos.MixOptions{
			Payments: n/2 - n*15/100 - n/20, Refunds: n * 15 / 100, Wallets: n / 10, Approvals: true,
			InStore: n / 20, Concurrency: o.concurrency, WalletPrefix: "chaos-" + name,
		}
		if name == "workers" {
			mix.Verifications, mix.Bindings = o.verifications, o.bindings
		}
		want = mix.Flows()
		chaosDone := make(chan error, 1)
		go func() {
			if name == "workers" {
				chaosDone <- r.killWorkersAndAPI(ctx, tr, mix.Flows())
			} else {
				chaosDone <- r.restartTemporal(ctx, tr, mix.Flows())
			}
		}()
		r.say("starting %d flows (%d card payments, %d in-store payments (QR codes and payment codes), %d refunds, %d top-ups (%d from bound cards), %d withdrawals of which %d wait for an operator), %d chains at once",
			mix.Flows(), mix.Payments, mix.InStore, mix.Refunds, 2*mix.Wallets+mix.BoundTopups(), mix.BoundTopups(), 3*mix.Wallets, mix.Wallets, mix.Concurrency)
		if mix.Verifications > 0 || mix.Bindings > 0 {
			r.say("beside them, paced through the run: %d bank-card verifications and %d card bindings", mix.Verifications, mix.Bindings)
		}
		chaos.Mix(ctx, d, tr, mix)
		if err := <-chaosDone; err != nil {
			stopForging()
			<-forged
			return false, fmt.Errorf("the chaos step: %w", err)
		}
	}
	stopForging()
	<-forged
	r.say("all %d flows created and seen ending in %s; proving", tr.Created.Load(), time.Since(runStart).Round(time.Second))

	books, err := store.Open(r.pf.DSN, 2)
	if err != nil {
		return false, err
	}
	defer books.Close()
	sqlDB, err := books.DB.DB()
	if err != nil {
		return false, err
	}
	verify.Books = chaos.Books{DB: sqlDB}
	r.mu.Lock()
	verify.CacheOutages = append([]chaos.Outage(nil), r.outages...)
	r.mu.Unlock()
	// The proofs read the bank's own records through its channel API too: no
	// faults while they do.
	if err := d.SetBankFaults(ctx, "{}"); err != nil {
		return false, err
	}
	rep := chaos.Verify(ctx, d, tr, verify)
	if rep.Flows != want {
		rep.Problems = append(rep.Problems, fmt.Sprintf("%d flows started, want %d", rep.Flows, want))
	}
	if edges {
		rep.Extra = append(rep.Extra, erep.Lines()...)
		erep.Coverage(&rep)
	}
	if name == "workers" {
		rep.Extra = append(rep.Extra, r.redisLine(verify.CacheOutages, rep.Identity))
	}
	// The backstop: a reconciliation of the run's days finds no difference. The
	// bank simulator keeps what it did; stripe-mock is stateless (its balance
	// transactions are fixed fixtures, none of them ours), so the edges' Stripe
	// payments cannot be reconciled against it.
	reconChannels := []string{"banksim"}
	if !edges {
		// The mix's in-store payments moved money at the wallet providers too.
		reconChannels = append(reconChannels, "alipaysim", "wxpaysim")
	}
	reconProblems, reconLines := d.ReconcileDays(ctx, reconChannels, r.start, time.Now())
	rep.Extra = append(rep.Extra, reconLines...)
	if edges {
		rep.Extra = append(rep.Extra, "reconciliation stripe: not run (stripe-mock keeps nothing: its statement is a fixed fixture)")
	}
	rep.Problems = append(rep.Problems, reconProblems...)
	if o.forgeEvery > 0 {
		rep.Extra = append(rep.Extra, forger.Summary())
		rep.Problems = append(rep.Problems, forger.Problems()...)
	}
	r.say("done in %s:\n%s", time.Since(r.start).Round(time.Second), rep)
	return rep.OK(), nil
}

// reviewThreshold is the run's merchant's: withdrawals over it wait for an operator
// (the mix's of chaos.ApprovalAmount do, its others of 20000 do not).
const reviewThreshold = 30000

// createMerchant onboards one of the run's merchants through the ops API, with the
// receiver as its webhook endpoint (every object without a notify_url of its own
// notifies there) and the review threshold. It answers the merchant's API secret and
// its webhook secret.
func createMerchant(ctx context.Context, pf *cluster.Payflow, name, notifyURL string) (id, secret, webhookSecret string, err error) {
	// No withdrawal delay: the run withdraws what it has just topped up.
	body, _ := json.Marshal(map[string]any{"name": name, "notify_url": notifyURL, "review_threshold": reviewThreshold, "withdrawal_delay": 0})
	resp, err := pf.Ops(ctx, "POST", "/v1/ops/merchants", string(body))
	if err != nil {
		return "", "", "", err
	}
	if resp.Status != 201 {
		return "", "", "", fmt.Errorf("create merchant: HTTP %d: %s", resp.Status, resp.Body)
	}
	var m struct {
		ID, Secret    string
		WebhookSecret string `json:"webhook_secret"`
	}
	if err := resp.JSON(&m); err != nil {
		return "", "", "", err
	}
	if m.ID == "" || m.Secret == "" || m.WebhookSecret == "" {
		return "", "", "", errors.New("create merchant: no id, secret or webhook_secret in the answer")
	}
	return m.ID, m.Secret, m.WebhookSecret, nil
}

// newParty creates a merchant named merchantName whose webhooks go to a new
// receiver (every 10th event refused once), and a driver of its flows whose
// Idempotency-Keys start with keyPrefix. The caller closes the receiver.
func (r *run) newParty(ctx context.Context, merchantName, keyPrefix string) (p chaos.Party, merchant string, err error) {
	rcv, err := chaos.NewReceiver("", 10)
	if err != nil {
		return chaos.Party{}, "", err
	}
	merchant, secret, webhookSecret, err := createMerchant(ctx, r.pf, merchantName, rcv.URL())
	if err != nil {
		rcv.Close()
		return chaos.Party{}, "", err
	}
	rcv.SetSecret(webhookSecret)
	d := &chaos.Driver{
		Clients: []*client.Client{client.New(r.pf.APIURLs[0], merchant, secret)},
		Bank:    r.pf.Bank, Ops: r.pf.Ops, KeyPrefix: keyPrefix,
	}
	return chaos.Party{Driver: d, Receiver: rcv}, merchant, nil
}

// waitCreated waits until n flows were created.
func waitCreated(ctx context.Context, tr *chaos.Tracker, n int) error {
	for int(tr.Created.Load()) < n {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// killWorkersAndAPI kills the worker (SIGKILL) at 15 % and 65 % of the flows
// created (more often with -worker-kills), and the API at 40 %; a new worker starts
// 3 s later, the API 5 s later.
func (r *run) killWorkersAndAPI(ctx context.Context, tr *chaos.Tracker, total int) error {
	type step struct {
		at   int
		what string
	}
	steps := []step{{total * 40 / 100, "api"}}
	if r.redis != nil {
		// Between the API's restart and the second worker kill.
		steps = append(steps, step{total * 52 / 100, "redis"})
	}
	for i := 0; i < r.o.workerKills; i++ {
		pct := 15
		if r.o.workerKills > 1 {
			pct += i * 50 / (r.o.workerKills - 1)
		}
		steps = append(steps, step{total * pct / 100, "worker"})
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at < steps[j].at })
	for _, s := range steps {
		if err := waitCreated(ctx, tr, s.at); err != nil {
			return err
		}
		inFlight := tr.Created.Load() - tr.Finished.Load()
		switch s.what {
		case "worker":
			ws := r.pf.Workers()
			w := ws[len(ws)-1]
			w.Kill()
			r.say("killed the worker (pid %d, SIGKILL) with %d flows in flight", w.Pid(), inFlight)
			if err := sleep(ctx, 3*time.Second); err != nil {
				return err
			}
			nw, err := r.pf.StartWorker(r.pf.Opts.Bin, "worker")
			if err != nil {
				return err
			}
			r.say("started a new worker (pid %d)", nw.Pid())
		case "api":
			// Killed while it handles a creating request when there is one within
			// 10 s: that request's answer is lost, and its client sends it again.
			deadline := time.Now().Add(10 * time.Second)
			for r.driver.Creating.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			a := r.pf.API(0)
			creating := r.driver.Creating.Load()
			a.Kill()
			r.say("killed the API (pid %d, SIGKILL) with %d flows in flight and %d creating requests unanswered", a.Pid(), inFlight, creating)
			if err := sleep(ctx, 5*time.Second); err != nil {
				return err
			}
			if err := r.pf.RestartAPI(ctx, 0); err != nil {
				return err
			}
			r.say("restarted the API (pid %d), ready", r.pf.API(0).Pid())
		case "redis":
			out, err := r.redisOutage(ctx, tr, r.o.redisDown)
			if err != nil {
				return err
			}
			r.mu.Lock()
			r.outages = append(r.outages, out)
			r.mu.Unlock()
		}
	}
	return nil
}

// redisLine says what became of Redis in the run.
func (r *run) redisLine(outages []chaos.Outage, ir chaos.IdentityReport) string {
	if r.redis == nil {
		return "redis: not killed: " + r.redisNote
	}
	if len(outages) == 0 {
		return "redis: never killed (the run ended before its turn)"
	}
	parts := make([]string, len(outages))
	for i, o := range outages {
		parts[i] = fmt.Sprintf("down from %.1fs for %s", o.From.Sub(r.start).Seconds(), o.To.Sub(o.From).Round(100*time.Millisecond))
	}
	return fmt.Sprintf("redis on %s: shut down (SHUTDOWN NOSAVE) and started again: %s; %d verifications asked and ended while it was down (the bank's answers, never the cache's)",
		r.redis.addr, strings.Join(parts, ", "), ir.InOutage)
}

// restartTemporal kills the Temporal dev server (SIGKILL) at 40 % of the flows
// created and starts it again (5 s later by default) on the same database file and
// ports.
func (r *run) restartTemporal(ctx context.Context, tr *chaos.Tracker, total int) error {
	if err := waitCreated(ctx, tr, total*40/100); err != nil {
		return err
	}
	inFlight := tr.Created.Load() - tr.Finished.Load()
	r.temporal.Kill()
	r.say("killed the Temporal dev server (pid %d, SIGKILL) with %d flows in flight", r.temporal.Pid(), inFlight)
	if err := sleep(ctx, r.o.temporalDown); err != nil {
		return err
	}
	p, err := devstack.StartTemporal(ctx, r.tOpts, r.tOut)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.temporal = p
	r.mu.Unlock()
	r.say("restarted the Temporal dev server (pid %d) on %s", p.Pid(), r.tOpts.DBFile)
	return nil
}

// stop stops payflow's processes, then Temporal.
func (r *run) stop() {
	if r.pf != nil {
		r.pf.Stop()
	}
	r.mu.Lock()
	t := r.temporal
	logs := r.logs
	r.mu.Unlock()
	if t != nil {
		_ = t.Stop(15 * time.Second)
	}
	for _, f := range logs {
		_ = f.Close()
	}
}
