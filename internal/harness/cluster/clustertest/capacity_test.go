//go:build cluster

package clustertest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/payflow/payflow/internal/harness/cluster"
)

// batch is one kind of unit the capacity run measures.
type batch struct {
	name string
	n    int
	// run makes unit i and returns the workflow id it started ("" for none),
	// after that workflow has closed.
	run func(ctx context.Context, i int) (string, error)
}

// result is a batch's measured cost per unit.
type result struct {
	name    string
	n       int
	elapsed time.Duration
	d       delta
	// raw is the batch's delta, not per unit nor less the idle rate (for means).
	raw map[string]float64
	// history composition of the unit's workflows, per unit.
	events map[string]float64
	bytes  float64
}

// TestCapacity (make capacity) measures what one payment, top-up, withdrawal,
// refund and GET costs on a quiet cluster: Temporal's workflow and activity tasks
// (from the histories), its persistence requests (from its own metrics) and
// PostgreSQL's tuples, MariaDB's rows and statements, and CPU milliseconds per
// component. It writes a report to PAYFLOW_CAPACITY_OUT (docs/capacity.md quotes it)
// and prints it.
func TestCapacity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	pg, err := c.Opts.Temporal.Postgres.Open(ctx, "postgres")
	require.NoError(t, err)
	defer pg.Close()
	my, err := mysqlDirect.Open(ctx, c.Opts.Payflow.Database)
	require.NoError(t, err)
	defer my.Close()
	require.NotNil(t, sqlc, "run through make capacity (PAYFLOW_SQL_COUNTER=1 routes payflow's statements through the counter)")
	const conc = 8
	card := func(amount int, token string) map[string]any {
		return map[string]any{"amount": amount, "currency": "CNY", "source": map[string]any{"type": "card", "token": token}}
	}
	// createAndWait starts one flow through the API and waits for its workflow to
	// close through Temporal, not by polling the API, so that the API's cost is the
	// creating call alone.
	createAndWait := func(ctx context.Context, target string, body any) (object, error) {
		r, _, err := create(ctx, target, body, 202)
		if err != nil {
			return object{}, err
		}
		var o object
		if err := r.JSON(&o); err != nil {
			return o, err
		}
		return o, tc.GetWorkflow(ctx, o.WorkflowID, "").Get(ctx, nil)
	}

	// A merchant endpoint that accepts every webhook.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer hook.Close()
	// Setup, not measured: wallets to top up and withdraw from.
	var wallets []string
	for i := 0; i < 10; i++ {
		r, _, err := create(ctx, "/v1/accounts", map[string]any{"currency": "CNY"}, 201)
		require.NoError(t, err)
		var a object
		require.NoError(t, r.JSON(&a))
		wallets = append(wallets, a.ID)
	}
	var payMu sync.Mutex
	var paid []string
	batches := []batch{
		{"payment (card, tok_success)", 200, func(ctx context.Context, i int) (string, error) {
			o, err := createAndWait(ctx, "/v1/payments", card(1000+i, "tok_success"))
			payMu.Lock()
			paid = append(paid, o.ID)
			payMu.Unlock()
			return o.WorkflowID, err
		}},
		{"payment with notify_url (+ webhook delivery)", 100, func(ctx context.Context, i int) (string, error) {
			body := card(1000+i, "tok_success")
			body["notify_url"] = hook.URL + "/events"
			o, err := createAndWait(ctx, "/v1/payments", body)
			return o.WorkflowID, err
		}},
		{"top-up (card, tok_success)", 100, func(ctx context.Context, i int) (string, error) {
			o, err := createAndWait(ctx, "/v1/topups", map[string]any{
				"account_id": wallets[i%len(wallets)], "amount": 10000, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"},
			})
			return o.WorkflowID, err
		}},
		{"withdrawal (ba_success, no approval)", 100, func(ctx context.Context, i int) (string, error) {
			o, err := createAndWait(ctx, "/v1/withdrawals", map[string]any{
				"account_id": wallets[i%len(wallets)], "amount": 1000, "currency": "CNY", "destination": map[string]any{"bank_account": "ba_success"},
			})
			return o.WorkflowID, err
		}},
		{"refund (partial)", 100, func(ctx context.Context, i int) (string, error) {
			o, err := createAndWait(ctx, "/v1/payments/"+paid[i]+"/refunds", map[string]any{"amount": 100})
			return o.WorkflowID, err
		}},
		{"GET /v1/payments/{id}", 500, func(ctx context.Context, i int) (string, error) {
			r, err := c.Payflow.Client(nextReplica()).Get(ctx, "/v1/payments/"+paid[i%len(paid)])
			if err == nil && r.Status != 200 {
				err = fmt.Errorf("HTTP %d: %s", r.Status, r.Body)
			}
			return "", err
		}},
	}

	// What the cluster does on its own, to subtract.
	idle, err := idleRates(ctx, pg, my, 20*time.Second)
	require.NoError(t, err)
	var results []result
	for _, b := range batches {
		before, err := takeSnapshot(ctx, pg, my)
		require.NoError(t, err)
		start := time.Now()
		ids := make([]string, b.n)
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, b.n)
		for w := 0; w < conc; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= b.n {
						return
					}
					id, err := b.run(ctx, i)
					if err != nil {
						errs <- fmt.Errorf("%s %d: %w", b.name, i, err)
						return
					}
					ids[i] = id
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		elapsed := time.Since(start)
		// Let the asynchronous part land: transfer and visibility tasks, and
		// PostgreSQL's statistics, which idle backends flush within 10 s.
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(12 * time.Second):
		}
		after, err := takeSnapshot(ctx, pg, my)
		require.NoError(t, err)
		res := result{name: b.name, n: b.n, elapsed: elapsed, d: perUnit(before, after, idle, b.n), raw: after.sub(before), events: map[string]float64{}}
		for _, id := range ids {
			if id == "" {
				continue
			}
			ev, size, err := historyShape(ctx, id)
			require.NoError(t, err)
			for k, v := range ev {
				res.events[k] += float64(v) / float64(b.n)
			}
			res.bytes += float64(size) / float64(b.n)
		}
		results = append(results, res)
		t.Logf("%s: %d in %s", b.name, b.n, elapsed.Round(time.Millisecond))
	}
	sizes, err := rowBytes(ctx, my)
	require.NoError(t, err)
	report := capacityReport(results, idle, sizes)
	fmt.Println(report)
	if out := os.Getenv("PAYFLOW_CAPACITY_OUT"); out != "" {
		require.NoError(t, os.WriteFile(out, []byte(report), 0o644))
	}
}

// historyShape counts a closed workflow's events by kind and its history's size,
// with those of the child workflows it started (a webhook delivery), so that a unit's
// tasks are all of the work it caused.
func historyShape(ctx context.Context, workflowID string) (map[string]int, int64, error) {
	d, err := tc.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		return nil, 0, err
	}
	size := d.WorkflowExecutionInfo.GetHistorySizeBytes()
	it := tc.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	out := map[string]int{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, 0, err
		}
		out["events"]++
		switch ev.EventType {
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			out["workflow tasks"]++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			out["activities"]++
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			out["activity attempts"] += int(ev.GetActivityTaskStartedEventAttributes().GetAttempt())
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			if ev.GetMarkerRecordedEventAttributes().GetMarkerName() == "LocalActivity" {
				out["local activities"]++
			}
		case enumspb.EVENT_TYPE_TIMER_STARTED:
			out["timers"]++
		case enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			out["search attribute upserts"]++
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			out["child workflows"]++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			out["signals"]++
		case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
			child, childSize, err := historyShape(ctx, ev.GetChildWorkflowExecutionStartedEventAttributes().GetWorkflowExecution().GetWorkflowId())
			if err != nil {
				return nil, 0, err
			}
			for k, v := range child {
				out[k] += v
			}
			size += childSize
		}
	}
	return out, size, nil
}

func capacityReport(results []result, idle map[string]float64, sizes map[string]float64) string {
	var b bytes.Buffer
	host, _ := os.Hostname()
	fprintf(&b, "# payflow capacity measurement\n\n")
	fprintf(&b, "Measured by `make capacity` on %s (%d cores, %s), %s: a throwaway cluster of\n", host, runtime.NumCPU(), runtime.GOOS, time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fprintf(&b, "Temporal %s (4 processes, %d history shards, PostgreSQL) and payflow (2 workers, 2 API\n", cluster.ServerVersion, c.Temporal.Shards)
	fprintf(&b, "replicas, banksim; MariaDB). 8 concurrent clients; each flow created through the API\n")
	fprintf(&b, "and waited for through Temporal. Costs are per unit, after subtracting what the idle\n")
	fprintf(&b, "cluster does in the same time (measured for 20 s first).\n\n")

	fprintf(&b, "## Temporal, per unit\n\n")
	fprintf(&b, "| unit | n | s | workflow tasks | activities (attempts) | local activities | timers | SA upserts | history events | history bytes | persistence writes | persistence reads | visibility writes | frontend RPCs | PG commits | PG tuples ins+upd+del |\n")
	fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		d := r.d
		fprintf(&b, "| %s | %d | %.1f | %.2f | %.2f (%.2f) | %.2f | %.2f | %.2f | %.1f | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |\n",
			r.name, r.n, r.elapsed.Seconds(), r.events["workflow tasks"], r.events["activities"], r.events["activity attempts"],
			r.events["local activities"], r.events["timers"], r.events["search attribute upserts"], r.events["events"], r.bytes,
			sumPrefix(d, "temporal.persist.", isWrite), sumPrefix(d, "temporal.persist.", func(op string) bool { return !isWrite(op) }),
			sumPrefix(d, "temporal.visibility.", isWrite), sumPrefix(d, "temporal.rpc.", nil),
			d["pg.xact_commit"], d["pg.tup_inserted"]+d["pg.tup_updated"]+d["pg.tup_deleted"])
	}
	fprintf(&b, "\nPersistence operations per unit (all services, default store; writes and reads):\n\n")
	for _, r := range results {
		fprintf(&b, "- %s: %s\n", r.name, topOps(r.d, "temporal.persist."))
	}
	fprintf(&b, "\nVisibility operations per unit: \n\n")
	for _, r := range results {
		fprintf(&b, "- %s: %s\n", r.name, topOps(r.d, "temporal.visibility."))
	}

	fprintf(&b, "\n## MariaDB (payflow's data), per unit\n\n")
	fprintf(&b, "Rows are exact (row counts of payflow's tables before and after). Statements and round\n")
	fprintf(&b, "trips are exact too: payflow's processes reach MariaDB through a counting proxy that reads\n")
	fprintf(&b, "the MySQL protocol (the driver interpolates arguments client-side, interpolateParams being\n")
	fprintf(&b, "store.MySQLDriverDSN's default: a statement is one round trip). MariaDB's own global counters (SHOW GLOBAL STATUS)\n")
	fprintf(&b, "are not used: the server is shared with other work on this machine, which swamps them.\n\n")
	fprintf(&b, "| unit | rows inserted (by table) | statements | by verb | round trips | transactions (commit) |\n")
	fprintf(&b, "|---|---|---|---|---|---|\n")
	for _, r := range results {
		d := r.d
		verbs := delta{}
		for k, v := range d {
			for _, p := range []string{"sql.query.", "sql.prepare."} {
				if strings.HasPrefix(k, p) {
					verbs["v."+strings.TrimPrefix(k, p)] += v
				}
			}
		}
		statements := sumPrefix(d, "sql.query.", nil) + d["sql.execute"]
		fprintf(&b, "| %s | %.2f (%s) | %.1f | %s | %.1f | %.1f |\n", r.name,
			sumPrefix(d, "rows.", nil), topOps(d, "rows."), statements, topOps(verbs, "v."), d["sql.roundtrip"], verbs["v.commit"])
	}

	fprintf(&b, "\n## Storage and latency, per unit\n\n")
	fprintf(&b, "MariaDB bytes = rows inserted x each table's (data + index) bytes per row after ANALYZE;\n")
	fprintf(&b, "PostgreSQL bytes = growth of Temporal's two databases (history, mutable state, visibility,\n")
	fprintf(&b, "before retention deletes it). Latency is the mean of Temporal's persistence_latency for the\n")
	fprintf(&b, "write that every state transition makes, on this machine's PostgreSQL.\n\n")
	fprintf(&b, "| unit | MariaDB bytes | PostgreSQL bytes | UpdateWorkflowExecution mean ms | CreateWorkflowExecution mean ms |\n")
	fprintf(&b, "|---|---|---|---|---|\n")
	for _, r := range results {
		d := r.d
		mb := 0.0
		for k, v := range d {
			if strings.HasPrefix(k, "rows.") {
				mb += v * sizes[strings.TrimPrefix(k, "rows.")]
			}
		}
		fprintf(&b, "| %s | %.0f | %.0f | %s | %s |\n", r.name, mb, d["pg.bytes"], meanMillis(r.raw, "UpdateWorkflowExecution"), meanMillis(r.raw, "CreateWorkflowExecution"))
	}

	fprintf(&b, "\n## CPU milliseconds per unit\n\n")
	groups := map[string]bool{}
	for _, r := range results {
		for k := range r.d {
			if strings.HasPrefix(k, "cpu.") && !strings.Contains(k, "shared") && k != "cpu.stripe-mock" {
				groups[strings.TrimPrefix(k, "cpu.")] = true
			}
		}
	}
	var names []string
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	fprintf(&b, "| unit | %s | Temporal (4 services + its PostgreSQL) |\n", strings.Join(names, " | "))
	fprintf(&b, "|---|%s---|\n", strings.Repeat("---|", len(names)))
	for _, r := range results {
		var cells []string
		temporal := 0.0
		for _, g := range names {
			v := r.d["cpu."+g]
			cells = append(cells, fmt.Sprintf("%.2f", v))
			if strings.HasPrefix(g, "temporal-") || g == "postgres (temporal)" {
				temporal += v
			}
		}
		fprintf(&b, "| %s | %s | %.2f |\n", r.name, strings.Join(cells, " | "), temporal)
	}
	fprintf(&b, "\nIdle cluster, per second: Temporal persistence writes %.1f, reads %.1f; CPU ms/s: ",
		sumPrefix(delta(idle), "temporal.persist.", isWrite), sumPrefix(delta(idle), "temporal.persist.", func(op string) bool { return !isWrite(op) }))
	var idleCPU []string
	for _, g := range names {
		idleCPU = append(idleCPU, fmt.Sprintf("%s %.1f", g, idle["cpu."+g]))
	}
	fprintf(&b, "%s.\n", strings.Join(idleCPU, ", "))
	return b.String()
}

// meanMillis is an operation's mean persistence latency over a batch. Temporal's
// tally reporter gives histogram sums in seconds.
func meanMillis(raw map[string]float64, op string) string {
	n := raw["temporal.latcount."+op]
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", raw["temporal.latsum."+op]/n*1000)
}
