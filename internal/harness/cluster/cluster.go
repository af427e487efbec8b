package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/payflow/payflow/internal/harness/devstack"
)

// Options configure a whole cluster: Temporal and payflow.
type Options struct {
	Temporal TemporalOptions
	Payflow  PayflowOptions
	// Throwaway clusters (tests) drop their databases on Stop.
	Throwaway bool
}

// DefaultOptions are make cluster's: Temporal's usual ports, the databases
// payflow_temporal and payflow_temporal_visibility on PostgreSQL at 127.0.0.1:5432,
// payflow_cluster on MariaDB at 127.0.0.1:3306, the bank simulator on :8090,
// stripe-mock on :12111, two workers and API replicas on :8080 and :8081. root is the
// repository; data and logs go under dataDir.
func DefaultOptions(root, binDir, payflowBin, dataDir string) Options {
	return Options{
		Temporal: TemporalOptions{
			Root: root, BinDir: binDir,
			Postgres:  Postgres{Addr: envOr("PAYFLOW_CLUSTER_PG_ADDR", "127.0.0.1:5432"), User: envOr("PAYFLOW_CLUSTER_PG_USER", "root"), Password: os.Getenv("PAYFLOW_CLUSTER_PG_PASSWORD")},
			DB:        "payflow_temporal",
			Namespace: "payflow", Retention: 72 * time.Hour,
			VisibilityDB: "payflow_temporal_visibility",
			Ports:        DefaultPorts(),
		},
		Payflow: PayflowOptions{
			Bin:            payflowBin,
			StripeMockBin:  filepath.Join(binDir, "stripe-mock"),
			MySQL:          MySQL{Addr: envOr("MYSQL_ADDR", "127.0.0.1:3306"), User: envOr("MYSQL_USER", "root"), Password: os.Getenv("MYSQL_PASSWORD")},
			Database:       "payflow_cluster",
			Namespace:      "payflow",
			APIAddrs:       []string{"127.0.0.1:8080", "127.0.0.1:8081"},
			BanksimAddr:    "127.0.0.1:8090",
			StripeMockAddr: "127.0.0.1:12111",
			Workers:        2,
			// Worker i serves /metrics on 127.0.0.1:9091+i.
			WorkerMetricsPort: 9091,
			DataDir:           dataDir,
		},
	}
}

// ThrowawayOptions are a throwaway cluster's (tests, measurements): the topology of
// DefaultOptions on free ports and fresh databases named after a random suffix, so
// that it runs beside make cluster and beside other engineers' tests on the same
// machine. Stop drops its databases.
func ThrowawayOptions(root, binDir, payflowBin, dataDir string) (Options, error) {
	o := DefaultOptions(root, binDir, payflowBin, dataDir)
	var b [4]byte
	_, _ = rand.Read(b[:])
	suffix := hex.EncodeToString(b[:])
	o.Throwaway = true
	o.Temporal.DB = "payflow_ct_" + suffix
	o.Temporal.VisibilityDB = "payflow_ct_" + suffix + "_visibility"
	o.Payflow.Database = "payflow_ct_" + suffix
	var err error
	if o.Temporal.Ports, err = FreePorts(); err != nil {
		return o, err
	}
	var ports [4]int
	for i := range ports {
		if ports[i], err = devstack.FreePort(); err != nil {
			return o, err
		}
	}
	o.Payflow.APIAddrs = []string{fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1])}
	o.Payflow.BanksimAddr = fmt.Sprintf("127.0.0.1:%d", ports[2])
	o.Payflow.StripeMockAddr = fmt.Sprintf("127.0.0.1:%d", ports[3])
	o.Payflow.WorkerMetricsPort = 0 // a free port for each worker
	return o, nil
}

// Addrs lists every address the cluster listens on.
func (o Options) Addrs() []string {
	out := o.Temporal.Ports.Addrs()
	out = append(out, o.Payflow.APIAddrs...)
	out = append(out, o.Payflow.BanksimAddr)
	if o.Payflow.WorkerMetricsPort > 0 {
		for i := 0; i < o.Payflow.Workers; i++ {
			out = append(out, fmt.Sprintf("127.0.0.1:%d", o.Payflow.WorkerMetricsPort+i))
		}
	}
	if o.Payflow.StripeMockBin != "" {
		out = append(out, o.Payflow.StripeMockAddr)
	}
	return out
}

// Cluster is a running cluster.
type Cluster struct {
	Opts     Options
	Temporal *Temporal
	Payflow  *Payflow
}

// Start checks that every port is free, then starts Temporal and payflow on it.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if err := devstack.CheckPortsFree(o.Addrs()...); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Payflow.DataDir, 0o755); err != nil {
		return nil, err
	}
	c := &Cluster{Opts: o}
	t, err := StartTemporal(ctx, o.Temporal)
	if err != nil {
		c.dropDatabases()
		return nil, err
	}
	c.Temporal = t
	o.Payflow.Temporal = t.Address()
	o.Payflow.Namespace = o.Temporal.Namespace
	c.Opts.Payflow = o.Payflow
	p, err := StartPayflow(ctx, o.Payflow)
	if err != nil {
		c.Stop()
		return nil, err
	}
	c.Payflow = p
	return c, nil
}

// Procs are every process of the cluster, by name.
func (c *Cluster) Procs() []*devstack.Proc {
	var out []*devstack.Proc
	if c.Payflow != nil {
		out = append(out, c.Payflow.Procs()...)
	}
	if c.Temporal != nil {
		for _, s := range Services {
			if p := c.Temporal.Proc(s); p != nil {
				out = append(out, p)
			}
		}
	}
	return out
}

// Stop stops payflow, then Temporal; a throwaway cluster also drops its databases.
func (c *Cluster) Stop() {
	if c.Payflow != nil {
		c.Payflow.Stop()
	}
	if c.Temporal != nil {
		c.Temporal.Stop()
	}
	c.dropDatabases()
}

func (c *Cluster) dropDatabases() {
	if !c.Opts.Throwaway {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = DropDatabases(ctx, c.Opts.Temporal.Postgres, c.Opts.Temporal.DB, c.Opts.Temporal.VisibilityDB)
	_ = c.Opts.Payflow.MySQL.DropDatabase(ctx, c.Opts.Payflow.Database)
}

// LogFiles returns an Out function writing each process's log to dir/<name>.log.
func LogFiles(dir string, also io.Writer) (func(name string) io.Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return func(name string) io.Writer {
		f, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return io.Discard
		}
		if also != nil {
			return io.MultiWriter(f, also)
		}
		return f
	}, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
