//go:build cluster

// Package clustertest tests payflow on a real Temporal cluster (make test-cluster)
// and measures its costs there (make capacity). It needs PostgreSQL, MariaDB and the
// Temporal server in ./bin, takes minutes, and kills processes on purpose, so it
// runs only with -tags cluster and never as part of `go test ./...`.
package clustertest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/harness/cluster"
	"github.com/payflow/payflow/internal/harness/devstack"
	"github.com/payflow/payflow/internal/temporalx"
)

var (
	// c is the throwaway cluster every test of the package runs on.
	c *cluster.Cluster
	// tc is a Temporal client of the cluster's payflow namespace.
	tc client.Client
	// dc reads payloads of histories (markers, heartbeats) as the processes wrote them.
	dc converter.DataConverter
	// sqlc counts payflow's statements when PAYFLOW_SQL_COUNTER is set (make capacity);
	// mysqlDirect is MariaDB itself, for the test's own queries, which it must not count.
	sqlc        *sqlCounter
	mysqlDirect cluster.MySQL
	// payflowBin is today's build; release1Bin the worker of release 1.
	payflowBin, release1Bin string
	logDir                  string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	start := time.Now()
	ctx := context.Background()
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	root, err := devstack.RepoRoot(wd)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	binDir := os.Getenv("PAYFLOW_TEST_BIN_DIR")
	if binDir == "" {
		binDir = filepath.Join(root, "bin")
	}
	work, err := os.MkdirTemp("", "payflow-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(work)
		}
	}()
	// Production builds (no -race): the cluster measures and the test times what
	// runs in production.
	payflowBin = filepath.Join(work, "payflow")
	release1Bin = filepath.Join(work, "payflow-release1-worker")
	for bin, pkg := range map[string]string{payflowBin: "./cmd/payflow", release1Bin: "./internal/harness/cluster/release1worker"} {
		cmd := exec.Command("go", "build", "-o", bin, pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
			return 1
		}
	}
	logDir = filepath.Join(work, "logs")
	out, err := cluster.LogFiles(logDir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	o, err := cluster.ThrowawayOptions(root, binDir, payflowBin, filepath.Join(work, "data"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	say := func(format string, a ...any) { fmt.Printf("cluster: "+format+"\n", a...) }
	o.Temporal.Out, o.Temporal.Say = out, say
	o.Payflow.Out, o.Payflow.Say = out, say
	o.Payflow.Env = map[string]string{
		// Waiting flows query the bank after 5 s (not a minute), and a bank call that
		// takes 3 s has an unknown outcome, so that every flow ends within the test.
		"PAYFLOW_BANK_POLL":    "5s",
		"PAYFLOW_BANK_TIMEOUT": "3s",
		"PAYFLOW_LOG_LEVEL":    "info",
	}
	mysqlDirect = o.Payflow.MySQL
	if os.Getenv("PAYFLOW_SQL_COUNTER") != "" {
		// payflow's processes reach MariaDB through the counter; nothing else does.
		if sqlc, err = startSQLCounter(o.Payflow.MySQL.Addr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		o.Payflow.MySQL.Addr = sqlc.Addr()
	}
	c, err = cluster.Start(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start cluster:", err)
		dumpLogs()
		return 1
	}
	defer c.Stop()
	fmt.Printf("cluster: up in %s (Temporal %s, API %v)\n", time.Since(start).Round(time.Second), c.Temporal.Address(), c.Payflow.APIURLs)
	// The test reads payloads as payflow's processes write them: sealed with the
	// configured payload keys (the same defaults the cluster's processes load).
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "config:", err)
		return 1
	}
	codec, err := temporalx.NewCodec(cfg.PayloadKeys)
	if err != nil {
		fmt.Fprintln(os.Stderr, "payload codec:", err)
		return 1
	}
	dc = temporalx.NewDataConverter(codec)
	tc, err = client.Dial(temporalx.ClientConfig{Address: c.Temporal.Address(), Namespace: o.Temporal.Namespace, Codec: codec}.Options())
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial Temporal:", err)
		return 1
	}
	defer tc.Close()
	code := m.Run()
	if code != 0 {
		dumpLogs()
		keep = os.Getenv("PAYFLOW_KEEP_LOGS") != ""
		if keep {
			fmt.Fprintf(os.Stderr, "process logs kept in %s\n", logDir)
		}
	}
	fmt.Printf("cluster: whole run %s\n", time.Since(start).Round(time.Second))
	return code
}

// dumpLogs prints the last lines of every process's log.
func dumpLogs() {
	files, _ := filepath.Glob(filepath.Join(logDir, "*.log"))
	sort.Strings(files)
	for _, f := range files {
		if strings.Contains(f, "sql-tool") {
			continue
		}
		lines := tail(f, 25)
		fmt.Fprintf(os.Stderr, "\n==== %s (last %d lines) ====\n", filepath.Base(f), len(lines))
		for _, l := range lines {
			if len(l) > 400 {
				l = l[:400] + "..."
			}
			fmt.Fprintln(os.Stderr, l)
		}
	}
}

func tail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return lines
}
