package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"time"

	_ "github.com/go-sql-driver/mysql" // the MySQL driver for database/sql

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/devstack"
)

// MySQL is the MariaDB/MySQL server payflow keeps its data in.
type MySQL struct {
	Addr     string
	User     string
	Password string
}

// DSN is payflow's PAYFLOW_DB_DSN for database db.
func (m MySQL) DSN(db string) string {
	return fmt.Sprintf("mysql://%s:%s@tcp(%s)/%s", m.User, m.Password, m.Addr, db)
}

// Open connects to the server (db "" for none).
func (m MySQL) Open(ctx context.Context, db string) (*sql.DB, error) {
	conn, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/%s?parseTime=true", m.User, m.Password, m.Addr, db))
	if err != nil {
		return nil, err
	}
	if err := conn.PingContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("MariaDB/MySQL at %s as %s: %w; start it with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`", m.Addr, m.User, err)
	}
	return conn, nil
}

// CreateDatabase creates db if it does not exist (never drops or empties it).
func (m MySQL) CreateDatabase(ctx context.Context, db string) error {
	conn, err := m.Open(ctx, "")
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS `"+db+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		return fmt.Errorf("create database %s: %w", db, err)
	}
	return nil
}

// DropDatabase drops db: only for the throwaway clusters of tests.
func (m MySQL) DropDatabase(ctx context.Context, db string) error {
	conn, err := m.Open(ctx, "")
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+db+"`")
	return err
}

// PayflowOptions configure payflow's processes on the cluster.
type PayflowOptions struct {
	// Bin is the payflow binary (every role).
	Bin string
	// StripeMockBin is ./bin/stripe-mock; "" starts none (the stripe and auto
	// channels then fail over or fail, banksim is unaffected).
	StripeMockBin string
	MySQL         MySQL
	// Database is created if missing and migrated with `payflow migrate --seed-demo`.
	Database string
	// DSN, when set, is payflow's database instead of MySQL's Database (make chaos
	// runs on SQLite too); it is migrated the same way.
	DSN       string
	Temporal  string
	Namespace string
	// APIAddrs are the API replicas' listen addresses, one process each.
	APIAddrs       []string
	BanksimAddr    string
	StripeMockAddr string
	Workers        int
	// WorkerMetricsPort: worker i serves /metrics and /healthz on
	// 127.0.0.1:WorkerMetricsPort+i (9091, 9092, ... for make cluster); 0 picks a free
	// port for each worker.
	WorkerMetricsPort int
	// DataDir holds the bank simulator's database (PAYFLOW_DATA_DIR).
	DataDir string
	// Env is added to every payflow process (PAYFLOW_BANK_POLL=5s, ...).
	Env map[string]string
	Out func(name string) io.Writer
	Say func(format string, args ...any)
}

// Payflow is payflow running on a cluster: the bank simulator, stripe-mock, workers
// and API replicas, each a process.
type Payflow struct {
	Opts       PayflowOptions
	DSN        string
	BanksimURL string
	APIURLs    []string
	Banksim    *devstack.Proc
	StripeMock *devstack.Proc
	APIs       []*devstack.Proc
	env        []string
	mu         sync.Mutex
	workers    []*devstack.Proc
	started    int
}

// OpsToken is the ops API's bearer token on a cluster; DemoSecret the demo
// merchant's secret. Both are the local defaults, as in make run.
const (
	OpsToken   = "ops-demo-token"
	DemoSecret = "demo_secret_change_me"
)

func (o PayflowOptions) say(format string, args ...any) {
	if o.Say != nil {
		o.Say(format, args...)
	}
}

func (o PayflowOptions) out(name string) io.Writer {
	if o.Out == nil {
		return io.Discard
	}
	return o.Out(name)
}

// ProcessEnv is the configuration every payflow process of the cluster gets: the same
// PAYFLOW_* keys the helm chart sets on its Deployments.
func (o PayflowOptions) ProcessEnv(dsn string, apiURL string) map[string]string {
	env := map[string]string{
		"PAYFLOW_DB_DSN":               dsn,
		"PAYFLOW_TEMPORAL_ADDRESS":     o.Temporal,
		"PAYFLOW_TEMPORAL_NAMESPACE":   o.Namespace,
		"PAYFLOW_TASK_QUEUE":           "payflow",
		"PAYFLOW_BANKSIM_ADDR":         o.BanksimAddr,
		"PAYFLOW_BANKSIM_URL":          "http://" + o.BanksimAddr,
		"PAYFLOW_STRIPE_MOCK_ADDR":     o.StripeMockAddr,
		"PAYFLOW_STRIPE_URL":           "http://" + o.StripeMockAddr,
		"PAYFLOW_PUBLIC_URL":           apiURL,
		"PAYFLOW_DATA_DIR":             o.DataDir,
		"PAYFLOW_OPS_TOKENS":           OpsToken,
		"PAYFLOW_DEMO_MERCHANT_SECRET": DemoSecret,
		// The cluster's workers share one cache, as the chart's do (redis.url).
		"PAYFLOW_REDIS_URL": clusterRedisURL(),
	}
	for k, v := range o.Env {
		env[k] = v
	}
	return env
}

// StartPayflow creates and migrates the database, seeds the demo merchant, and starts
// the bank simulator, stripe-mock, the workers and the API replicas.
func StartPayflow(ctx context.Context, o PayflowOptions) (*Payflow, error) {
	if o.Workers == 0 {
		o.Workers = 1
	}
	p := &Payflow{Opts: o, DSN: o.DSN, BanksimURL: "http://" + o.BanksimAddr}
	if p.DSN == "" {
		p.DSN = o.MySQL.DSN(o.Database)
	}
	for _, a := range o.APIAddrs {
		p.APIURLs = append(p.APIURLs, "http://"+a)
	}
	// Bank callbacks reach the API through its public URL: in production a load
	// balancer in front of the replicas; here the first replica.
	p.env = devstack.Env(o.ProcessEnv(p.DSN, p.APIURLs[0]))

	if o.DSN == "" {
		o.say("migrating MariaDB database %s (created if missing) and seeding the demo merchant", o.Database)
		if err := o.MySQL.CreateDatabase(ctx, o.Database); err != nil {
			return nil, err
		}
	} else {
		o.say("migrating %s and seeding the demo merchant", o.DSN)
	}
	mig := exec.CommandContext(ctx, o.Bin, "migrate", "--seed-demo")
	mig.Env = append(os.Environ(), p.env...)
	if out, err := mig.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("payflow migrate: %v\n%s", err, out)
	}
	var err error
	o.say("starting the bank simulator on %s", o.BanksimAddr)
	if p.Banksim, err = p.start("banksim", o.Bin, []string{"banksim"}, nil); err != nil {
		p.Stop()
		return nil, err
	}
	if err := devstack.WaitHTTP(ctx, p.BanksimURL+"/healthz", p.Banksim, 30*time.Second); err != nil {
		p.Stop()
		return nil, err
	}
	if o.StripeMockBin != "" {
		if p.StripeMock, err = devstack.StartStripeMock(ctx, o.StripeMockBin, o.StripeMockAddr, o.out("stripe-mock")); err != nil {
			p.Stop()
			return nil, err
		}
	}
	for i := 0; i < o.Workers; i++ {
		if _, err := p.StartWorker(o.Bin, "worker"); err != nil {
			p.Stop()
			return nil, err
		}
	}
	o.say("started %d payflow workers (namespace %s, task queue payflow)", o.Workers, o.Namespace)
	for i, addr := range o.APIAddrs {
		o.say("starting API replica %d on %s", i, addr)
		api, err := p.start(fmt.Sprintf("api%d", i), o.Bin, []string{"api"}, []string{"PAYFLOW_API_ADDR=" + addr})
		if err != nil {
			p.Stop()
			return nil, err
		}
		p.APIs = append(p.APIs, api)
		if err := devstack.WaitHTTP(ctx, p.APIURLs[i]+"/readyz", api, 90*time.Second); err != nil {
			p.Stop()
			return nil, err
		}
	}
	return p, nil
}

func (p *Payflow) start(name, bin string, args, extra []string) (*devstack.Proc, error) {
	return devstack.Start(name, bin, args, append(append([]string{}, p.env...), extra...), p.Opts.out(name))
}

// StartWorker starts one more worker process: bin with args (payflow worker, or
// another build of the worker: the rolling upgrade test runs an older one).
func (p *Payflow) StartWorker(bin string, args ...string) (*devstack.Proc, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	port := p.Opts.WorkerMetricsPort + p.started
	if p.Opts.WorkerMetricsPort == 0 {
		var err error
		if port, err = devstack.FreePort(); err != nil {
			return nil, err
		}
	}
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", port)
	w, err := p.start(fmt.Sprintf("worker%d", p.started), bin, args, []string{"PAYFLOW_WORKER_METRICS_ADDR=" + metricsAddr})
	if err != nil {
		return nil, err
	}
	p.started++
	p.workers = append(p.workers, w)
	return w, nil
}

// RestartAPI starts API replica i again on its address (after it crashed or was
// killed: a running replica is killed first) and waits until it is ready.
func (p *Payflow) RestartAPI(ctx context.Context, i int) error {
	p.mu.Lock()
	old := p.APIs[i]
	p.mu.Unlock()
	old.Kill()
	api, err := p.start(fmt.Sprintf("api%d", i), p.Opts.Bin, []string{"api"}, []string{"PAYFLOW_API_ADDR=" + p.Opts.APIAddrs[i]})
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.APIs[i] = api
	p.mu.Unlock()
	return devstack.WaitHTTP(ctx, p.APIURLs[i]+"/readyz", api, 90*time.Second)
}

// KillBanksim kills the bank simulator at once (SIGKILL), as a crash would; its
// database file stays as the crash left it.
func (p *Payflow) KillBanksim() {
	p.mu.Lock()
	b := p.Banksim
	p.mu.Unlock()
	b.Kill()
}

// StartBanksim starts the bank simulator again on its address and database file
// (after KillBanksim: a running one is killed first) and waits until it answers.
// Its faults are back to their defaults: they live in its memory.
func (p *Payflow) StartBanksim(ctx context.Context) error {
	p.mu.Lock()
	old := p.Banksim
	p.mu.Unlock()
	old.Kill()
	b, err := p.start("banksim", p.Opts.Bin, []string{"banksim"}, nil)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.Banksim = b
	p.mu.Unlock()
	return devstack.WaitHTTP(ctx, p.BanksimURL+"/healthz", b, 30*time.Second)
}

// API is API replica i's current process.
func (p *Payflow) API(i int) *devstack.Proc {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.APIs[i]
}

// Workers are the worker processes started so far, running or not.
func (p *Payflow) Workers() []*devstack.Proc {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*devstack.Proc(nil), p.workers...)
}

// Procs are every payflow process started so far.
func (p *Payflow) Procs() []*devstack.Proc {
	out := append([]*devstack.Proc{}, p.APIs...)
	out = append(out, p.Workers()...)
	p.mu.Lock()
	b := p.Banksim
	p.mu.Unlock()
	for _, x := range []*devstack.Proc{b, p.StripeMock} {
		if x != nil {
			out = append(out, x)
		}
	}
	return out
}

// Client is a demo-merchant client of API replica i.
func (p *Payflow) Client(i int) *client.Client {
	return client.New(p.APIURLs[i%len(p.APIURLs)], "mch_demo", DemoSecret)
}

// Ops sends an ops request with the ops token to API replica 0.
func (p *Payflow) Ops(ctx context.Context, method, path, body string) (*client.Response, error) {
	return client.Send(ctx, http.DefaultClient, method, p.APIURLs[0]+path, body, "Bearer "+OpsToken)
}

// Bank sends a request to the bank simulator's admin API.
func (p *Payflow) Bank(ctx context.Context, method, path, body string) (*client.Response, error) {
	return client.Send(ctx, http.DefaultClient, method, p.BanksimURL+path, body, "")
}

// Stop stops the API replicas first (no new flows), then the workers, the bank
// simulator and stripe-mock.
func (p *Payflow) Stop() {
	p.mu.Lock()
	apis := append([]*devstack.Proc(nil), p.APIs...)
	p.mu.Unlock()
	for _, a := range apis {
		_ = a.Stop(15 * time.Second)
	}
	for _, w := range p.Workers() {
		_ = w.Stop(15 * time.Second)
	}
	p.mu.Lock()
	b := p.Banksim
	p.mu.Unlock()
	if b != nil {
		_ = b.Stop(10 * time.Second)
	}
	if p.StripeMock != nil {
		_ = p.StripeMock.Stop(10 * time.Second)
	}
}

func splitHostPort(addr string) (string, string, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("address %q: %w", addr, err)
	}
	return h, p, nil
}

// clusterRedisURL is the Redis the cluster's processes cache in: PAYFLOW_TEST_REDIS_URL's
// server (database 3), or the one on 127.0.0.1:6379.
func clusterRedisURL() string {
	u, err := url.Parse(os.Getenv("PAYFLOW_TEST_REDIS_URL"))
	if err != nil || u.Host == "" {
		u = &url.URL{Scheme: "redis", Host: "127.0.0.1:6379"}
	}
	u.Path = "/3"
	return u.String()
}
