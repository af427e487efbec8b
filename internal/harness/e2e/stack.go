// Package e2e runs payflow's real processes (the Temporal dev server from ./bin, the
// bank simulator, stripe-mock, workers and API replicas, all as separate processes) and tests them
// over HTTP, on MariaDB and on SQLite. The Stack type is also what the benchmarks and
// the chaos runs start.
package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/contract"
	"github.com/payflow/payflow/internal/harness/devstack"
	"github.com/payflow/payflow/internal/harness/testenv"
)

// DemoSecret is the demo merchant's secret in every stack, DemoWebhookSecret the
// secret its webhooks are signed with.
const (
	DemoSecret        = "demo_secret_change_me"
	DemoWebhookSecret = "whsec_demo_change_me"
)

// OpsToken is the ops token of every stack.
const OpsToken = "ops-demo-token"

// Build compiles cmd/payflow into dir (with -race when race is set, and the build
// tags given, such as failpoints) and returns the binary's path.
func Build(root, dir string, race bool, tags ...string) (string, error) {
	bin := filepath.Join(dir, "payflow")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, "./cmd/payflow")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build payflow: %v\n%s", err, out)
	}
	return bin, nil
}

// Temporal is a dev server shared by stacks (each stack uses its own task queue).
type Temporal struct {
	Addr string
	Proc *devstack.Proc
}

// StartTemporal starts a headless, in-memory dev server on a free port, or one that
// keeps its state in dbFile, with the given namespaces besides "default".
func StartTemporal(ctx context.Context, binDir, dbFile string, out io.Writer, namespaces ...string) (*Temporal, error) {
	port, err := devstack.FreePort()
	if err != nil {
		return nil, err
	}
	p, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{
		Bin: filepath.Join(binDir, "temporal"), Port: port, Headless: true, DBFile: dbFile, LogLevel: "error",
		Namespaces: namespaces,
	}, out)
	if err != nil {
		return nil, err
	}
	return &Temporal{Addr: fmt.Sprintf("127.0.0.1:%d", port), Proc: p}, nil
}

// StackOptions configure one payflow stack.
type StackOptions struct {
	Name     string
	Bin      string
	Temporal string
	Backend  testenv.Backend
	// DSN overrides the database (else a fresh one of Backend is created).
	DSN     string
	WorkDir string
	Out     io.Writer
	// Env is added to every payflow process (PAYFLOW_BANK_POLL=2s, ...).
	Env     map[string]string
	Workers int
	APIs    int
	// APIAddrs fixes the API replicas' addresses (else free ports are picked); a
	// Temporal Web started before the stack points its codec endpoint at the first.
	APIAddrs []string
	// BanksimAddr and StripeMockAddr fix the simulator's and stripe-mock's addresses
	// (make bench runs on make run's ports); "" picks free ports.
	BanksimAddr    string
	StripeMockAddr string
	// Pprof gives every worker and API replica a pprof listener on a free port
	// (PAYFLOW_PPROF_ADDR), listed in WorkerPprofURLs and APIPprofURLs.
	Pprof bool
	// StripeMockBin is the stripe-mock binary; "" is ./bin/stripe-mock of the
	// repository.
	StripeMockBin string
	// Validator, when set, checks every exchange of the stack's merchant clients and
	// ops requests against the OpenAPI description (the simulator's admin API is not
	// payflow's and is not checked).
	Validator *contract.Validator

	// Namespace isolates the stack's flows and schedules from other stacks on the
	// same server ("" is "default"): ids like reconciliation/<channel>/<day> and the
	// schedule reconciliation/<channel> are the same in every stack.
	Namespace string
}

// Stack is a running payflow: banksim, stripe-mock, workers and API replicas.
type Stack struct {
	Opts       StackOptions
	DSN        string
	TaskQueue  string
	BanksimURL string
	StripeURL  string
	APIURLs    []string
	Banksim    *devstack.Proc
	StripeMock *devstack.Proc
	Workers    []*devstack.Proc
	APIs       []*devstack.Proc
	env        []string
	dropDB     func()
	mu         sync.Mutex

	// WorkerMetricsURLs are the workers' /metrics, in the order of Workers.
	WorkerMetricsURLs []string
	// WorkerPprofURLs and APIPprofURLs are the processes' pprof roots
	// (http://addr/debug/pprof), in the order of Workers and APIs, when Opts.Pprof.
	WorkerPprofURLs []string
	APIPprofURLs    []string
}

// StartStack migrates a database, seeds the demo merchant and starts the processes.
func StartStack(ctx context.Context, o StackOptions) (*Stack, error) {
	if o.Workers == 0 {
		o.Workers = 1
	}
	if o.APIs == 0 {
		o.APIs = 1
	}
	s := &Stack{Opts: o, TaskQueue: "payflow-" + o.Name}
	s.DSN = o.DSN
	if s.DSN == "" {
		switch o.Backend {
		case testenv.MySQL:
			dsn, drop, err := testenv.CreateMySQLDatabase("payflow_e2e")
			if err != nil {
				return nil, err
			}
			s.DSN, s.dropDB = dsn, drop
		default:
			s.DSN = "sqlite://" + filepath.Join(o.WorkDir, "payflow.db")
		}
	}
	bankAddr, err := addrOrFree(o.BanksimAddr)
	if err != nil {
		return nil, err
	}
	s.BanksimURL = "http://" + bankAddr
	stripeAddr, err := addrOrFree(o.StripeMockAddr)
	if err != nil {
		return nil, err
	}
	s.StripeURL = "http://" + stripeAddr
	var apiAddrs []string
	for i := 0; i < o.APIs; i++ {
		addr := ""
		if i < len(o.APIAddrs) {
			addr = o.APIAddrs[i]
		} else {
			p, err := devstack.FreePort()
			if err != nil {
				return nil, err
			}
			addr = fmt.Sprintf("127.0.0.1:%d", p)
		}
		apiAddrs = append(apiAddrs, addr)
		s.APIURLs = append(s.APIURLs, "http://"+addr)
	}
	env := map[string]string{
		"PAYFLOW_DB_DSN":               s.DSN,
		"PAYFLOW_TEMPORAL_ADDRESS":     o.Temporal,
		"PAYFLOW_TASK_QUEUE":           s.TaskQueue,
		"PAYFLOW_BANKSIM_ADDR":         bankAddr,
		"PAYFLOW_BANKSIM_DB":           filepath.Join(o.WorkDir, "banksim.db"),
		"PAYFLOW_STRIPE_MOCK_ADDR":     stripeAddr,
		"PAYFLOW_STRIPE_URL":           s.StripeURL,
		"PAYFLOW_PUBLIC_URL":           s.APIURLs[0],
		"PAYFLOW_DATA_DIR":             o.WorkDir,
		"PAYFLOW_OPS_TOKENS":           OpsToken,
		"PAYFLOW_LOG_LEVEL":            "info",
		"PAYFLOW_DEMO_MERCHANT_SECRET": DemoSecret,
		"PAYFLOW_DEMO_WEBHOOK_SECRET":  DemoWebhookSecret,
	}
	if o.Namespace != "" {
		env["PAYFLOW_TEMPORAL_NAMESPACE"] = o.Namespace
	}
	for k, v := range o.Env {
		env[k] = v
	}
	s.env = devstack.Env(env)

	mig := exec.CommandContext(ctx, o.Bin, "migrate", "--seed-demo")
	mig.Env = append(os.Environ(), s.env...)
	if out, err := mig.CombinedOutput(); err != nil {
		s.Stop()
		return nil, fmt.Errorf("migrate: %v\n%s", err, out)
	}
	if s.Banksim, err = s.start("banksim", "banksim", nil); err != nil {
		s.Stop()
		return nil, err
	}
	if err := devstack.WaitHTTP(ctx, s.BanksimURL+"/healthz", s.Banksim, 30*time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	stripeBin := o.StripeMockBin
	if stripeBin == "" {
		wd, err := os.Getwd()
		if err != nil {
			s.Stop()
			return nil, err
		}
		root, err := devstack.RepoRoot(wd)
		if err != nil {
			s.Stop()
			return nil, err
		}
		stripeBin = filepath.Join(root, "bin", "stripe-mock")
	}
	if s.StripeMock, err = devstack.StartStripeMock(ctx, stripeBin, stripeAddr, o.Out); err != nil {
		s.Stop()
		return nil, err
	}
	for i := 0; i < o.Workers; i++ {
		if _, err := s.StartWorker(); err != nil {
			s.Stop()
			return nil, err
		}
	}
	for i := range apiAddrs {
		extra := []string{"PAYFLOW_API_ADDR=" + apiAddrs[i]}
		if o.Pprof {
			addr, err := addrOrFree("")
			if err != nil {
				s.Stop()
				return nil, err
			}
			extra = append(extra, "PAYFLOW_PPROF_ADDR="+addr)
			s.APIPprofURLs = append(s.APIPprofURLs, "http://"+addr+"/debug/pprof")
		}
		p, err := s.start(fmt.Sprintf("api%d", i), "api", extra)
		if err != nil {
			s.Stop()
			return nil, err
		}
		s.APIs = append(s.APIs, p)
		if err := devstack.WaitHTTP(ctx, s.APIURLs[i]+"/readyz", p, 60*time.Second); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// addrOrFree is addr, or a free loopback address when addr is "".
func addrOrFree(addr string) (string, error) {
	if addr != "" {
		return addr, nil
	}
	port, err := devstack.FreePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", port), nil
}

func (s *Stack) start(name, role string, extra []string) (*devstack.Proc, error) {
	return devstack.Start(s.Opts.Name+"/"+name, s.Opts.Bin, []string{role}, append(append([]string{}, s.env...), extra...), s.Opts.Out)
}

// StartWorker starts one more worker process, with a metrics listener of its own.
func (s *Stack) StartWorker() (*devstack.Proc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	port, err := devstack.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	extra := []string{"PAYFLOW_WORKER_METRICS_ADDR=" + addr}
	pprofURL := ""
	if s.Opts.Pprof {
		paddr, err := addrOrFree("")
		if err != nil {
			return nil, err
		}
		extra = append(extra, "PAYFLOW_PPROF_ADDR="+paddr)
		pprofURL = "http://" + paddr + "/debug/pprof"
	}
	p, err := s.start(fmt.Sprintf("worker%d", len(s.Workers)), "worker", extra)
	if err != nil {
		return nil, err
	}
	if s.Opts.Pprof {
		s.WorkerPprofURLs = append(s.WorkerPprofURLs, pprofURL)
	}
	s.Workers = append(s.Workers, p)
	s.WorkerMetricsURLs = append(s.WorkerMetricsURLs, "http://"+addr+"/metrics")
	return p, nil
}

// RestartAPI starts API replica i again on its address, after it exited (a failpoint)
// or to change its environment: extra (KEY=value) comes after the stack's, so that it
// overrides it. A replica still running is stopped first. It returns once the new
// process is ready.
func (s *Stack) RestartAPI(ctx context.Context, i int, extra ...string) (*devstack.Proc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.APIs[i].Stop(10 * time.Second); err != nil {
		return nil, err
	}
	env := append([]string{"PAYFLOW_API_ADDR=" + strings.TrimPrefix(s.APIURLs[i], "http://")}, extra...)
	p, err := s.start(fmt.Sprintf("api%d", i), "api", env)
	if err != nil {
		return nil, err
	}
	s.APIs[i] = p
	if err := devstack.WaitHTTP(ctx, s.APIURLs[i]+"/readyz", p, 60*time.Second); err != nil {
		return nil, err
	}
	return p, nil
}

// Client returns a demo-merchant client of API replica i.
func (s *Stack) Client(i int) *client.Client {
	return s.ClientFor(i, "mch_demo", DemoSecret)
}

// ClientFor returns a client of API replica i signing as the merchant.
func (s *Stack) ClientFor(i int, merchantID, secret string) *client.Client {
	c := client.New(s.APIURLs[i%len(s.APIURLs)], merchantID, secret)
	if s.Opts.Validator != nil {
		c.WithTransport(s.Opts.Validator.RoundTripper)
	}
	return c
}

// opsHTTP is the HTTP client of ops requests, validated like the merchant clients.
func (s *Stack) opsHTTP() *http.Client {
	if s.Opts.Validator == nil {
		return http.DefaultClient
	}
	return &http.Client{Transport: s.Opts.Validator.RoundTripper(nil)}
}

// Ops sends an ops request with the ops token.
func (s *Stack) Ops(ctx context.Context, method, path, body string) (*client.Response, error) {
	return client.Send(ctx, s.opsHTTP(), method, s.APIURLs[0]+path, body, "Bearer "+OpsToken)
}

// Bank sends a request to the simulator's admin API.
func (s *Stack) Bank(ctx context.Context, method, path, body string) (*client.Response, error) {
	return client.Send(ctx, http.DefaultClient, method, s.BanksimURL+path, body, "")
}

// Stop stops every process and drops the stack's MySQL database.
func (s *Stack) Stop() {
	for _, p := range s.APIs {
		_ = p.Stop(10 * time.Second)
	}
	for _, p := range s.Workers {
		_ = p.Stop(10 * time.Second)
	}
	if s.Banksim != nil {
		_ = s.Banksim.Stop(10 * time.Second)
	}
	if s.StripeMock != nil {
		_ = s.StripeMock.Stop(10 * time.Second)
	}
	if s.dropDB != nil {
		s.dropDB()
	}
}
