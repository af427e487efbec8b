//go:build cluster

package clustertest

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/payflow/payflow/internal/harness/cluster"
)

// snapshot is every counter the capacity measurement reads, at one moment.
type snapshot struct {
	at time.Time
	// counters by name: "temporal.persist.<op>", "temporal.visibility.<op>",
	// "temporal.rpc.<op>", "temporal.latsum.<op>", "temporal.latcount.<op>",
	// "cpu.<process group>", "pg.<column>", "rows.<table>", "sql.<command>".
	v map[string]float64
}

func (s snapshot) sub(before snapshot) map[string]float64 {
	out := map[string]float64{}
	for k, v := range s.v {
		out[k] = v - before.v[k]
	}
	return out
}

// metricLine is one Prometheus sample: name{labels} value.
var metricLine = regexp.MustCompile(`^([a-z_]+)\{([^}]*)\} ([0-9.e+-]+)$`)
var operationLabel = regexp.MustCompile(`operation="([^"]+)"`)

// scrapeTemporal adds every service's persistence requests (by operation, default
// store and visibility store) and the frontend's RPCs (by operation).
func scrapeTemporal(ctx context.Context, into map[string]float64) error {
	for _, s := range cluster.Services {
		req, err := http.NewRequestWithContext(ctx, "GET", c.Temporal.MetricsURL(s), nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("metrics of %s: %w", s, err)
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			m := metricLine.FindStringSubmatch(sc.Text())
			if m == nil {
				continue
			}
			var key string
			switch {
			case m[1] == "persistence_requests":
				key = "temporal.persist."
			case m[1] == "persistence_latency_sum":
				key = "temporal.latsum."
			case m[1] == "persistence_latency_count":
				key = "temporal.latcount."
			case m[1] == "visibility_persistence_requests":
				key = "temporal.visibility."
			case m[1] == "service_requests" && s == cluster.Frontend:
				key = "temporal.rpc."
			default:
				continue
			}
			op := operationLabel.FindStringSubmatch(m[2])
			if op == nil {
				continue
			}
			v, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				continue
			}
			into[key+op[1]] += v
		}
		resp.Body.Close()
		if err := sc.Err(); err != nil {
			return err
		}
	}
	return nil
}

// clockTicks is the kernel's USER_HZ (getconf CLK_TCK), 100 on Linux.
const clockTicks = 100

// cpuMillis reads a process's user+system CPU time from /proc/<pid>/stat.
func cpuMillis(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command may contain spaces; fields start after the last ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) * 1000 / clockTicks
}

// group names the component a cluster process belongs to.
func group(name string) string {
	switch {
	case strings.HasPrefix(name, "api"):
		return "api"
	case strings.HasPrefix(name, "worker"):
		return "worker"
	default:
		return name
	}
}

// scrapeCPU adds the CPU milliseconds of every cluster process by component and of
// the PostgreSQL backends serving Temporal's databases. mariadbd's CPU is not
// attributable (the server is shared); MariaDB is sized from statements instead.
func scrapeCPU(ctx context.Context, pg *sql.DB, into map[string]float64) error {
	for _, p := range c.Procs() {
		into["cpu."+group(p.Name)] += cpuMillis(p.Pid())
	}
	rows, err := pg.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname IN ($1, $2)`, c.Opts.Temporal.DB, c.Opts.Temporal.VisibilityDB)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return err
		}
		// Keyed by pid, so that a backend that appears between two snapshots counts
		// from zero instead of being lost in a sum.
		into[fmt.Sprintf("pgbackend.%d", pid)] = cpuMillis(pid)
	}
	return rows.Err()
}

// scrapeMySQL adds the row count of each of payflow's tables: exact, whatever else
// the shared server does.
func scrapeMySQL(ctx context.Context, my *sql.DB, into map[string]float64) error {
	tables, err := my.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'`)
	if err != nil {
		return err
	}
	var names []string
	for tables.Next() {
		var n string
		if err := tables.Scan(&n); err != nil {
			tables.Close()
			return err
		}
		names = append(names, n)
	}
	tables.Close()
	for _, n := range names {
		var count float64
		if err := my.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+n+"`").Scan(&count); err != nil {
			return err
		}
		into["rows."+n] = count
	}
	return nil
}

// scrapePG adds PostgreSQL's own counters for Temporal's two databases: exact.
func scrapePG(ctx context.Context, pg *sql.DB, into map[string]float64) error {
	var commits, inserted, updated, deleted, fetched, written float64
	err := pg.QueryRowContext(ctx, `SELECT sum(xact_commit), sum(tup_inserted), sum(tup_updated), sum(tup_deleted), sum(tup_fetched), sum(blks_hit + blks_read)
		FROM pg_stat_database WHERE datname IN ($1, $2)`, c.Opts.Temporal.DB, c.Opts.Temporal.VisibilityDB).Scan(&commits, &inserted, &updated, &deleted, &fetched, &written)
	if err != nil {
		return err
	}
	into["pg.xact_commit"] = commits
	into["pg.tup_inserted"] = inserted
	into["pg.tup_updated"] = updated
	into["pg.tup_deleted"] = deleted
	into["pg.tup_fetched"] = fetched
	var size float64
	if err := pg.QueryRowContext(ctx, `SELECT pg_database_size($1) + pg_database_size($2)`, c.Opts.Temporal.DB, c.Opts.Temporal.VisibilityDB).Scan(&size); err != nil {
		return err
	}
	into["pg.bytes"] = size
	var wal float64
	if err := pg.QueryRowContext(ctx, `SELECT pg_current_wal_lsn() - '0/0'::pg_lsn`).Scan(&wal); err == nil {
		// WAL bytes of the whole PostgreSQL server (shared, like mariadbd's CPU).
		into["pg.wal_bytes (shared)"] = wal
	}
	return nil
}

func takeSnapshot(ctx context.Context, pg, my *sql.DB) (snapshot, error) {
	s := snapshot{at: time.Now(), v: map[string]float64{}}
	// PostgreSQL's statistics reach pg_stat_database up to 0.5 s after a commit.
	if _, err := pg.ExecContext(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
		return s, err
	}
	if sqlc != nil {
		sqlc.snapshot(s.v)
	}
	for _, f := range []func() error{
		func() error { return scrapeTemporal(ctx, s.v) },
		func() error { return scrapeCPU(ctx, pg, s.v) },
		func() error { return scrapeMySQL(ctx, my, s.v) },
		func() error { return scrapePG(ctx, pg, s.v) },
	} {
		if err := f(); err != nil {
			return s, err
		}
	}
	return s, nil
}

// delta is what a batch cost: after minus before, less what the idle cluster does
// in the same time (shard and membership heartbeats, the system workflows, other
// users of the shared servers), per unit.
type delta map[string]float64

func perUnit(before, after snapshot, idle map[string]float64, units int) delta {
	d := after.sub(before)
	secs := after.at.Sub(before.at).Seconds()
	out := delta{}
	pgCPU := 0.0
	for k, v := range d {
		if strings.HasPrefix(k, "pgbackend.") {
			pgCPU += v
			continue
		}
		out[k] = (v - idle[k]*secs) / float64(units)
	}
	out["cpu.postgres (temporal)"] = (pgCPU - idle["cpu.postgres (temporal)"]*secs) / float64(units)
	return out
}

// idleRates measures what the cluster does on its own, per second.
func idleRates(ctx context.Context, pg, my *sql.DB, d time.Duration) (map[string]float64, error) {
	a, err := takeSnapshot(ctx, pg, my)
	if err != nil {
		return nil, err
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(d):
	}
	b, err := takeSnapshot(ctx, pg, my)
	if err != nil {
		return nil, err
	}
	secs := b.at.Sub(a.at).Seconds()
	out := map[string]float64{}
	pgCPU := 0.0
	for k, v := range b.sub(a) {
		if strings.HasPrefix(k, "pgbackend.") {
			pgCPU += v
			continue
		}
		out[k] = v / secs
	}
	out["cpu.postgres (temporal)"] = pgCPU / secs
	return out, nil
}

// isWrite classifies a persistence operation by its name.
func isWrite(op string) bool {
	for _, p := range []string{"Get", "List", "Read", "Count", "Scan", "Query", "Assert", "Describe"} {
		if strings.HasPrefix(op, p) {
			return false
		}
	}
	return true
}

func sumPrefix(d delta, prefix string, keep func(string) bool) float64 {
	t := 0.0
	for k, v := range d {
		if strings.HasPrefix(k, prefix) && (keep == nil || keep(strings.TrimPrefix(k, prefix))) {
			t += v
		}
	}
	return t
}

// topOps lists the operations under prefix costing at least 0.05 per unit, largest
// first, as "Op 1.2".
func topOps(d delta, prefix string) string {
	type kv struct {
		k string
		v float64
	}
	var l []kv
	for k, v := range d {
		if strings.HasPrefix(k, prefix) && v >= 0.05 {
			l = append(l, kv{strings.TrimPrefix(k, prefix), v})
		}
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v || l[i].v == l[j].v && l[i].k < l[j].k })
	var parts []string
	for _, e := range l {
		parts = append(parts, fmt.Sprintf("%s %.2f", e.k, e.v))
	}
	return strings.Join(parts, ", ")
}

func fprintf(w io.Writer, format string, a ...any) { _, _ = fmt.Fprintf(w, format, a...) }

// rowBytes is each of payflow's tables' average row length (data and indexes per
// row), after ANALYZE so that InnoDB's estimates are fresh.
func rowBytes(ctx context.Context, my *sql.DB) (map[string]float64, error) {
	rows, err := my.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'`)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	out := map[string]float64{}
	for _, n := range names {
		if _, err := my.ExecContext(ctx, "ANALYZE TABLE `"+n+"`"); err != nil {
			return nil, err
		}
		var count, data, index float64
		if err := my.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+n+"`").Scan(&count); err != nil {
			return nil, err
		}
		if err := my.QueryRowContext(ctx, `SELECT data_length, index_length FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?`, n).Scan(&data, &index); err != nil {
			return nil, err
		}
		if count > 0 {
			out[n] = (data + index) / count
		}
	}
	return out, nil
}
