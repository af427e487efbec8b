// Package cluster runs payflow in its production shape on one machine: a real
// Temporal server (not the dev server) whose four services, frontend, history,
// matching and the internal worker, are separate processes on PostgreSQL, and in
// front of it the bank simulator, payflow workers and API replicas on MariaDB, each
// its own process started from the same binary and PAYFLOW_* keys as the helm chart.
// `payflow cluster` (make cluster), the cluster tests (make test-cluster) and the
// capacity measurement (make capacity) all start it through this package.
package cluster

import (
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payflow/payflow/internal/harness/devstack"
)

// Service is one of the Temporal server's services, each run as its own process.
type Service string

// The Temporal services, in the order they are started.
const (
	History  Service = "history"
	Matching Service = "matching"
	Frontend Service = "frontend"
	Worker   Service = "worker"
)

// Services lists every Temporal service in start order. History starts first and
// alone: on a fresh database the first process to start writes the cluster's
// metadata, and two doing it at once fail on a duplicate key.
var Services = []Service{History, Matching, Frontend, Worker}

// ServerVersion is the Temporal server the Makefile builds into ./bin (go install,
// pinned); the launcher refuses another one, so that config and schema match.
const ServerVersion = "1.29.1"

// Ports are the Temporal services' ports: gRPC, membership (ringpop) and Prometheus
// metrics, one set per process.
type Ports struct {
	Frontend, FrontendHTTP, FrontendMembership int
	History, HistoryMembership                 int
	Matching, MatchingMembership               int
	Worker, WorkerMembership                   int
	// Metrics is each service's Prometheus port (/metrics).
	Metrics map[Service]int
}

// DefaultPorts are make cluster's: Temporal's usual ports (7233 frontend, ...), and
// the metrics ports mirror the gRPC ones (9233 frontend, ...).
func DefaultPorts() Ports { return PortsFrom(7233) }

// PortsFrom lays every port out around the frontend's gRPC port the way Temporal's
// defaults are laid out around 7233: history +1, matching +2, worker +6, frontend
// HTTP +10, membership ports 300 below, metrics 2000 above. make cluster moves the
// whole set with PAYFLOW_CLUSTER_TEMPORAL_PORT when 7233 is taken (make run's dev
// server uses it).
func PortsFrom(frontend int) Ports {
	f := frontend
	return Ports{
		Frontend: f, FrontendHTTP: f + 10, FrontendMembership: f - 300,
		History: f + 1, HistoryMembership: f - 299,
		Matching: f + 2, MatchingMembership: f - 298,
		Worker: f + 6, WorkerMembership: f - 294,
		Metrics: map[Service]int{Frontend: f + 2000, History: f + 2001, Matching: f + 2002, Worker: f + 2006},
	}
}

// FreePorts picks free loopback ports for every service (tests, so that a test
// cluster runs beside make cluster and other engineers' stacks). They come from
// 20000-32767, below the kernel's ephemeral range, because Temporal stores a
// member's port in a SMALLINT column (cluster_membership.rpc_port): a port above
// 32767 makes the service fail at start.
func FreePorts() (Ports, error) {
	var n [13]int
	taken := map[int]bool{}
	for i := range n {
		p, err := freeLowPort(taken)
		if err != nil {
			return Ports{}, err
		}
		n[i] = p
	}
	return Ports{
		Frontend: n[0], FrontendHTTP: n[1], FrontendMembership: n[2],
		History: n[3], HistoryMembership: n[4],
		Matching: n[5], MatchingMembership: n[6],
		Worker: n[7], WorkerMembership: n[8],
		Metrics: map[Service]int{Frontend: n[9], History: n[10], Matching: n[11], Worker: n[12]},
	}, nil
}

// Addrs lists every address the services listen on, for a port check before start.
func (p Ports) Addrs() []string {
	ports := []int{p.Frontend, p.FrontendHTTP, p.FrontendMembership, p.History, p.HistoryMembership,
		p.Matching, p.MatchingMembership, p.Worker, p.WorkerMembership}
	for _, s := range Services {
		ports = append(ports, p.Metrics[s])
	}
	out := make([]string, len(ports))
	for i, port := range ports {
		out[i] = fmt.Sprintf("127.0.0.1:%d", port)
	}
	return out
}

// env is what deploy/temporal/cluster.yaml reads (it is a template).
func (p Ports) env() []string {
	return []string{
		fmt.Sprintf("TEMPORAL_FRONTEND_PORT=%d", p.Frontend),
		fmt.Sprintf("TEMPORAL_FRONTEND_HTTP_PORT=%d", p.FrontendHTTP),
		fmt.Sprintf("TEMPORAL_FRONTEND_MEMBERSHIP_PORT=%d", p.FrontendMembership),
		fmt.Sprintf("TEMPORAL_HISTORY_PORT=%d", p.History),
		fmt.Sprintf("TEMPORAL_HISTORY_MEMBERSHIP_PORT=%d", p.HistoryMembership),
		fmt.Sprintf("TEMPORAL_MATCHING_PORT=%d", p.Matching),
		fmt.Sprintf("TEMPORAL_MATCHING_MEMBERSHIP_PORT=%d", p.MatchingMembership),
		fmt.Sprintf("TEMPORAL_WORKER_PORT=%d", p.Worker),
		fmt.Sprintf("TEMPORAL_WORKER_MEMBERSHIP_PORT=%d", p.WorkerMembership),
	}
}

func (p Ports) grpc(s Service) int {
	switch s {
	case Frontend:
		return p.Frontend
	case History:
		return p.History
	case Matching:
		return p.Matching
	default:
		return p.Worker
	}
}

// ready is the port that answers once a service has started: its gRPC port, except
// for the internal worker, which serves no gRPC and only joins the membership ring.
func (p Ports) ready(s Service) int {
	if s == Worker {
		return p.WorkerMembership
	}
	return p.grpc(s)
}

// TemporalOptions configure the Temporal cluster.
type TemporalOptions struct {
	// Root is the repository root: deploy/temporal holds the configuration.
	Root string
	// BinDir holds temporal-server, temporal-sql-tool and the temporal CLI.
	BinDir   string
	Postgres Postgres
	// DB and VisibilityDB are the two PostgreSQL databases (created if missing).
	DB, VisibilityDB string
	Ports            Ports
	// Namespace is created with Retention, and payflow's search attributes are
	// registered on it.
	Namespace string
	Retention time.Duration
	// LogLevel of the services (warn unless set).
	LogLevel string
	// Out gives each process's log writer.
	Out func(name string) io.Writer
	// Say reports progress to the person waiting (nil: quiet).
	Say func(format string, args ...any)
}

// Temporal is a running Temporal cluster: one process per service.
type Temporal struct {
	Opts TemporalOptions
	// Shards is the cluster's numHistoryShards.
	Shards int
	mu     sync.Mutex
	procs  map[Service]*devstack.Proc
}

// Address is the frontend's gRPC address, what clients dial.
func (t *Temporal) Address() string { return fmt.Sprintf("127.0.0.1:%d", t.Opts.Ports.Frontend) }

// MetricsURL is a service's Prometheus endpoint.
func (t *Temporal) MetricsURL(s Service) string {
	return fmt.Sprintf("http://127.0.0.1:%d/metrics", t.Opts.Ports.Metrics[s])
}

// Proc returns a service's current process.
func (t *Temporal) Proc(s Service) *devstack.Proc {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.procs[s]
}

// Procs returns every service's current process.
func (t *Temporal) Procs() map[Service]*devstack.Proc {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[Service]*devstack.Proc, len(t.procs))
	for k, v := range t.procs {
		out[k] = v
	}
	return out
}

func (o TemporalOptions) say(format string, args ...any) {
	if o.Say != nil {
		o.Say(format, args...)
	}
}

func (o TemporalOptions) out(name string) io.Writer {
	if o.Out == nil {
		return io.Discard
	}
	return o.Out(name)
}

func (o TemporalOptions) bin(name string) string { return filepath.Join(o.BinDir, name) }

// CheckBinaries fails with what to run when the server, the sql tool or the CLI is
// missing from BinDir, or the server is not the pinned version.
func (o TemporalOptions) CheckBinaries() error {
	for _, b := range []string{"temporal-server", "temporal-sql-tool", "temporal"} {
		if _, err := os.Stat(o.bin(b)); err != nil {
			return fmt.Errorf("%s is missing: run `make cluster-tools` (it builds the Temporal server %s and its sql tool into ./bin)", o.bin(b), ServerVersion)
		}
	}
	out, err := exec.Command(o.bin("temporal-server"), "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), " "+ServerVersion) {
		return fmt.Errorf("%s is not Temporal server %s (%q): run `make cluster-tools`", o.bin("temporal-server"), ServerVersion, strings.TrimSpace(string(out)))
	}
	return nil
}

// StartTemporal prepares the databases (creating or upgrading their schemas, never
// wiping them), starts the four services, and makes sure the namespace and payflow's
// search attributes exist.
func StartTemporal(ctx context.Context, o TemporalOptions) (*Temporal, error) {
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	if err := o.CheckBinaries(); err != nil {
		return nil, err
	}
	if err := PrepareDatabases(ctx, o); err != nil {
		return nil, err
	}
	shards, err := HistoryShards(o.Root)
	if err != nil {
		return nil, err
	}
	t := &Temporal{Opts: o, Shards: shards, procs: map[Service]*devstack.Proc{}}
	for _, s := range Services {
		o.say("starting the Temporal %s service on 127.0.0.1:%d (metrics :%d)", s, o.Ports.ready(s), o.Ports.Metrics[s])
		if err := t.Start(ctx, s); err != nil {
			t.Stop()
			return nil, err
		}
	}
	if err := t.ensureNamespace(ctx); err != nil {
		t.Stop()
		return nil, err
	}
	return t, nil
}

// Start starts (or restarts, after a crash) one service and waits until its gRPC
// port answers.
func (t *Temporal) Start(ctx context.Context, s Service) error {
	o := t.Opts
	env := append(o.Ports.env(),
		"TEMPORAL_PG_ADDR="+o.Postgres.Addr,
		"TEMPORAL_PG_USER="+o.Postgres.User,
		"TEMPORAL_PG_PASSWORD="+o.Postgres.Password,
		"TEMPORAL_DB="+o.DB,
		"TEMPORAL_VISIBILITY_DB="+o.VisibilityDB,
		"TEMPORAL_LOG_LEVEL="+o.LogLevel,
		"TEMPORAL_DYNAMIC_CONFIG="+filepath.Join(o.Root, "deploy", "temporal", "dynamicconfig.yaml"),
		fmt.Sprintf("TEMPORAL_METRICS_ADDR=127.0.0.1:%d", o.Ports.Metrics[s]),
	)
	name := "temporal-" + string(s)
	p, err := devstack.Start(name, o.bin("temporal-server"), []string{
		"--root", o.Root, "--config", "deploy/temporal", "--env", "cluster", "--allow-no-auth",
		"start", "--service", string(s),
	}, env, o.out(name))
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.procs[s] = p
	t.mu.Unlock()
	if err := devstack.WaitTCP(ctx, fmt.Sprintf("127.0.0.1:%d", o.Ports.ready(s)), p, 90*time.Second); err != nil {
		return fmt.Errorf("Temporal %s: %w", s, err)
	}
	return nil
}

// Kill kills one service's process group with SIGKILL, as a crash would.
func (t *Temporal) Kill(s Service) {
	if p := t.Proc(s); p != nil {
		p.Kill()
	}
}

// Stop stops the services in reverse start order.
func (t *Temporal) Stop() {
	for i := len(Services) - 1; i >= 0; i-- {
		if p := t.Proc(Services[i]); p != nil {
			_ = p.Stop(20 * time.Second)
		}
	}
}

// ensureNamespace creates the namespace and registers the search attributes that are
// missing, through the temporal CLI's operator commands, as an operator would on a
// production cluster. Both are idempotent: what exists is left alone.
func (t *Temporal) ensureNamespace(ctx context.Context) error {
	o := t.Opts
	cli := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, o.bin("temporal"), append(args, "--address="+t.Address())...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// The frontend answers before history owns its shards, and a new namespace reaches
	// each service's cache only on its next refresh (every 2 s): calls in the first
	// seconds fail with "not enough hosts" or "namespace not found", and are retried.
	retry := func(what string, fn func() (done bool, out string, err error)) error {
		deadline := time.Now().Add(90 * time.Second)
		for {
			done, out, err := fn()
			if done {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s: %v: %s", what, err, strings.TrimSpace(out))
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
		}
	}
	err := retry("namespace "+o.Namespace, func() (bool, string, error) {
		out, err := cli("operator", "namespace", "describe", "--namespace", o.Namespace)
		if err == nil {
			o.say("namespace %s exists", o.Namespace)
			return true, out, nil
		}
		if !strings.Contains(out, "not found") {
			return false, out, err
		}
		out, err = cli("operator", "namespace", "create", "--namespace", o.Namespace, "--retention", o.Retention.String())
		if err == nil {
			o.say("created namespace %s (retention %s)", o.Namespace, o.Retention)
		}
		return err == nil, out, err
	})
	if err != nil {
		return err
	}
	var list string
	if err := retry("list search attributes", func() (bool, string, error) {
		out, err := cli("operator", "search-attribute", "list", "--namespace", o.Namespace)
		list = out
		return err == nil, out, err
	}); err != nil {
		return err
	}
	added := 0
	for _, sa := range devstack.SearchAttributes {
		name, typ, _ := strings.Cut(sa, "=")
		if hasSearchAttribute(list, name) {
			continue
		}
		if err := retry("create search attribute "+name, func() (bool, string, error) {
			out, err := cli("operator", "search-attribute", "create", "--namespace", o.Namespace, "--name", name, "--type", typ)
			return err == nil || strings.Contains(out, "already exists"), out, err
		}); err != nil {
			return err
		}
		added++
	}
	if added == 0 {
		o.say("search attributes already registered on %s", o.Namespace)
		return nil
	}
	o.say("registered %d search attributes on %s", added, o.Namespace)
	// Every service reads namespaces (and their search attributes) from a cache
	// refreshed every 2 s (system.namespaceCacheRefreshInterval): wait for it, so that
	// the first flow's upsert is not refused by a history host that has not seen them.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(5 * time.Second):
	}
	return nil
}

// hasSearchAttribute finds name as a whole word in the CLI's list output.
func hasSearchAttribute(list, name string) bool {
	for _, line := range strings.Split(list, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && f[0] == name {
			return true
		}
	}
	return false
}

var shardsLine = regexp.MustCompile(`(?m)^\s*numHistoryShards:\s*(\d+)`)

// HistoryShards reads numHistoryShards from the cluster's configuration.
func HistoryShards(root string) (int, error) {
	b, err := os.ReadFile(filepath.Join(root, "deploy", "temporal", "cluster.yaml"))
	if err != nil {
		return 0, err
	}
	m := shardsLine.FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("deploy/temporal/cluster.yaml sets no numHistoryShards")
	}
	return strconv.Atoi(string(m[1]))
}

// freeLowPort finds a free loopback port in 20000-32767 not in taken.
func freeLowPort(taken map[int]bool) (int, error) {
	for tries := 0; tries < 200; tries++ {
		p := 20000 + mrand.IntN(12768)
		if taken[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		taken[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("no free port in 20000-32767")
}
