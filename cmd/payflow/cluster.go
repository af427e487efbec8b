package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/payflow/payflow/internal/harness/cluster"
	"github.com/payflow/payflow/internal/harness/devstack"
)

// runCluster is make cluster: payflow in its production shape, in the foreground
// until Ctrl-C. Temporal's four services run as separate processes on PostgreSQL,
// payflow's bank simulator, two workers and two API replicas on MariaDB; each
// process logs to .payflow/cluster/logs/<name>.log (or the terminal with --verbose).
func runCluster(args []string) error {
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	verbose, binDir := stackFlags(fs, "temporal-server, temporal-sql-tool, the temporal CLI and stripe-mock")
	dataDir := fs.String("data", filepath.Join(".payflow", "cluster"), "directory for the bank simulator's database and the logs")
	temporalPort := fs.Int("temporal-port", envInt("PAYFLOW_CLUSTER_TEMPORAL_PORT", 7233), "Temporal frontend port; the other services' ports follow it (history +1, matching +2, ...)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if root, err = devstack.RepoRoot(root); err != nil {
		return fmt.Errorf("run make cluster from the repository (deploy/temporal holds the server's configuration): %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bin, _ := filepath.Abs(*binDir)
	data, _ := filepath.Abs(*dataDir)
	logDir := filepath.Join(data, "logs")
	var also io.Writer
	if *verbose {
		also = os.Stdout
	}
	out, err := cluster.LogFiles(logDir, also)
	if err != nil {
		return err
	}
	say := func(format string, a ...any) { fmt.Printf("payflow cluster: "+format+"\n", a...) }
	o := cluster.DefaultOptions(root, bin, self, data)
	if *temporalPort <= 300 || *temporalPort+2006 > 32767 {
		return usageError{fmt.Errorf("--temporal-port %d: it must be in 301-30761 (Temporal stores ports in a SMALLINT)", *temporalPort)}
	}
	o.Temporal.Ports = cluster.PortsFrom(*temporalPort)
	o.Temporal.Out, o.Temporal.Say = out, say
	o.Payflow.Out, o.Payflow.Say = out, say

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := cluster.Start(ctx, o)
	if err != nil {
		return fmt.Errorf("%w (logs in %s)", err, logDir)
	}
	defer func() {
		fmt.Println("\npayflow cluster: stopping every process...")
		c.Stop()
	}()
	printCluster(c, logDir, selfCommand(self))

	// A process that dies of the Ctrl-C itself is no failure.
	if p := awaitExit(ctx, c.Procs()); p != nil && ctx.Err() == nil {
		return fmt.Errorf("%s exited (%v); stopping the rest (see %s)", p.Name, p.Err(), logDir)
	}
	return nil
}

func printCluster(c *cluster.Cluster, logDir, payflow string) {
	t, p := c.Opts.Temporal, c.Opts.Payflow
	fmt.Printf(`
payflow cluster is running (Ctrl-C stops every process):
  Temporal       frontend 127.0.0.1:%[1]d, history :%[2]d, matching :%[3]d, worker :%[4]d (separate processes)
                 PostgreSQL %[5]s, databases %[6]s and %[7]s, namespace %[8]s, %[9]d history shards
                 metrics    http://127.0.0.1:%[10]d/metrics (frontend), :%[11]d (history), :%[12]d (matching), :%[13]d (worker)
  API replicas   http://%[14]s and http://%[15]s
  workers        2 processes on task queue payflow
  bank simulator http://%[16]s
  MariaDB        %[17]s, database %[18]s
  logs           %[19]s/*.log

Try it (in another terminal), through either replica:
  PAYFLOW_API_URL=http://%[14]s %[21]s pay --amount 1050 --currency CNY --token tok_success
  PAYFLOW_API_URL=http://%[15]s %[21]s pay --amount 1050 --currency CNY --token tok_success
  ./bin/temporal workflow list --address 127.0.0.1:%[1]d --namespace %[8]s --query 'PayflowFlow="payment"'
  curl -s -H 'Authorization: Bearer %[20]s' http://%[14]s/v1/ops/ledger/check
`, t.Ports.Frontend, t.Ports.History, t.Ports.Matching, t.Ports.Worker,
		t.Postgres.Addr, t.DB, t.VisibilityDB, t.Namespace, c.Temporal.Shards,
		t.Ports.Metrics[cluster.Frontend], t.Ports.Metrics[cluster.History], t.Ports.Metrics[cluster.Matching], t.Ports.Metrics[cluster.Worker],
		p.APIAddrs[0], p.APIAddrs[1], p.BanksimAddr, p.MySQL.Addr, p.Database, logDir, cluster.OpsToken, payflow)
}

func envInt(key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def
	}
	return n
}
