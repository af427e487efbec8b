package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	_ "github.com/go-sql-driver/mysql" // raw MariaDB commits
	"gorm.io/gorm"

	"github.com/payflow/payflow/bench/load"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// LedgerRow is one concurrency of the ledger measurement.
type LedgerRow struct {
	Concurrency       int     `json:"concurrency"`
	PostingsPerS      float64 `json:"ledger_postings_per_s"`
	PostingP50MS      float64 `json:"posting_p50_ms"`
	PostingP99MS      float64 `json:"posting_p99_ms"`
	PostingErrors     int     `json:"posting_errors"`
	CommitsPerS       float64 `json:"mariadb_commits_per_s"`
	CommitP50MS       float64 `json:"commit_p50_ms"`
	CommitErrors      int     `json:"commit_errors"`
	PostingsVsCommits float64 `json:"ledger_vs_mariadb"`
	// BatchedPostingsPerS are postings when each transaction holds Batch of them
	// (one Ledger.Run calling Tx.Post Batch times: each still its own balanced
	// journal with its idempotency key, entries and balance version), so that the
	// transaction's begin, commit and balance update are shared.
	Batch               int     `json:"batch,omitempty"`
	BatchedPostingsPerS float64 `json:"ledger_batched_postings_per_s,omitempty"`
	BatchedVsCommits    float64 `json:"ledger_batched_vs_mariadb,omitempty"`
	// PerPosting and PerCommit are MariaDB's global status counters over each
	// measurement divided by what it completed (statements, prepares, rollbacks,
	// row lock waits): what one posting costs the server. The server may be shared,
	// so that they are upper bounds.
	PerPosting map[string]float64 `json:"server_work_per_posting"`
	PerCommit  map[string]float64 `json:"server_work_per_commit"`
	// CPUMSPerPosting and CPUMSPerCommit are the milliseconds of CPU MariaDB
	// (mariadb) and this process (client: gorm, the ledger and the driver) spent
	// per posting and per raw commit: unlike the rates, they hardly move with the
	// machine's load.
	CPUMSPerPosting map[string]float64 `json:"cpu_ms_per_posting,omitempty"`
	CPUMSPerCommit  map[string]float64 `json:"cpu_ms_per_commit,omitempty"`
	// YieldPostingsPerS are yield-shaped postings (the fund's untracked income
	// clearing account -amount, a wallet +amount) through Ledger.PostBatch,
	// YieldBatch per call, each client crediting wallets of its own (issue 19).
	// YieldByBatch has the rate at every batch size measured (-yield-batch).
	YieldBatch           int                `json:"yield_batch,omitempty"`
	YieldPostingsPerS    float64            `json:"yield_postings_per_s,omitempty"`
	YieldP50MS           float64            `json:"yield_batch_p50_ms,omitempty"`
	YieldErrors          int                `json:"yield_errors,omitempty"`
	YieldVsCommits       float64            `json:"yield_vs_mariadb,omitempty"`
	YieldByBatch         map[string]float64 `json:"yield_postings_per_s_by_batch,omitempty"`
	PerYieldPosting      map[string]float64 `json:"server_work_per_yield_posting,omitempty"`
	CPUMSPerYieldPosting map[string]float64 `json:"cpu_ms_per_yield_posting,omitempty"`
}

// goalYieldVsMariaDB is issue 19's goal: yield postings through the batched write
// path at least as fast as raw single-row commits at the same concurrency.
const goalYieldVsMariaDB = 1.0

// yieldBatches are the batch sizes of the yield measurement; the first is the row's
// yield_postings_per_s.
var yieldBatches = flag.String("yield-batch", "500,100", "postings per Ledger.PostBatch call of the yield measurement; the first is the figure, the others are measured beside it")

// createWallets inserts n wallets, a thousand per transaction.
func createWallets(db *store.DB, n int) ([]string, error) {
	ids := make([]string, n)
	for start := 0; start < n; start += 1000 {
		err := db.Transaction(func(tx *gorm.DB) error {
			for i := start; i < min(start+1000, n); i++ {
				ids[i] = models.NewID(models.PrefixAccount)
				if err := ledger.InsertWallet(tx, ledger.NewWallet(ids[i], "mch_bench", "CNY", "")); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// serverCounters are the MariaDB status counters read around each measurement.
var serverCounters = []string{"Questions", "Com_stmt_prepare", "Com_commit", "Com_rollback", "Innodb_row_lock_waits", "Innodb_deadlocks"}

func serverStatus(ctx context.Context, db *sql.DB) map[string]float64 {
	out := map[string]float64{}
	rows, err := db.QueryContext(ctx, "SHOW GLOBAL STATUS")
	if err != nil {
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if rows.Scan(&k, &v) != nil {
			continue
		}
		for _, c := range serverCounters {
			if strings.EqualFold(k, c) {
				f, _ := strconv.ParseFloat(v, 64)
				out[c] = f
			}
		}
	}
	return out
}

// pools lets busy keep conc idle connections and idle keep keep.
func pools(busy *sql.DB, conc int, idle *sql.DB, keep int) {
	idle.SetMaxIdleConns(keep)
	busy.SetMaxIdleConns(conc)
}

func scale(m map[string]float64, f float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = v * f
	}
	return out
}

// perOp is each counter's growth divided by n.
func perOp(before, after map[string]float64, n int) map[string]float64 {
	out := map[string]float64{}
	if n == 0 {
		return out
	}
	for k, a := range after {
		out[k] = round2((a - before[k]) / float64(n))
	}
	return out
}

// runLedger measures, at each concurrency, postings through the ledger and raw
// single-row commits on the same MariaDB database, one after the other, and checks
// the ledger's invariants at the end.
//
// Each client posts top-ups to a wallet of its own (clearing -amount, wallet +amount):
// a balanced journal, its two entries and the wallet's versioned balance update, in
// one transaction. Clients do not contend for a balance row, so that the figure is the
// ledger's cost per posting, not a hot account's (which optimistic versioning
// serialises by design, retrying the loser).
func runLedger(ctx context.Context, o options, res *Results) error {
	dsn, drop, err := testenv.CreateMySQLDatabase("payflow_bench")
	if err != nil {
		return err
	}
	defer drop()
	maxConc := 0
	for _, c := range o.ledgerConc {
		maxConc = max(maxConc, c)
	}
	db, err := store.Open(dsn, maxConc)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	l := ledger.New(db)
	l.SetGroup(o.ledgerGroup[0], o.ledgerGroup[1])
	res.LedgerGroup, res.LedgerGroupSlots = o.ledgerGroup[0], o.ledgerGroup[1]
	clearing, err := l.EnsureAccount(ctx, ledger.ClearingSpec("banksim", "CNY"))
	if err != nil {
		return err
	}
	wallets, err := createWallets(db, maxConc)
	if err != nil {
		return err
	}
	batches, err := parseInts(*yieldBatches)
	if err != nil || len(batches) == 0 {
		return fmt.Errorf("-yield-batch %q: %v", *yieldBatches, err)
	}
	maxBatch := 0
	for _, b := range batches {
		maxBatch = max(maxBatch, b)
	}
	// The fund's income clearing account stands for the platform side of a yield
	// credit: untracked, so that it is no hot row.
	income, err := l.EnsureAccount(ctx, ledger.ClearingSpec("fundsim", "CNY"))
	if err != nil {
		return err
	}
	// Each client credits a set of wallets of its own, one posting per wallet per
	// batch, as a yield run's range does.
	say("creating %d wallets for the yield measurement", maxConc*maxBatch)
	yieldWallets, err := createWallets(db, maxConc*maxBatch)
	if err != nil {
		return err
	}
	res.GoalYield = goalYieldVsMariaDB

	goDSN, err := store.MySQLDriverDSN(dsn)
	if err != nil {
		return err
	}
	raw, err := sql.Open("mysql", goDSN)
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(maxConc)
	ledgerPool, err := db.DB.DB()
	if err != nil {
		return err
	}
	if _, err := raw.ExecContext(ctx, `CREATE TABLE bench_commits (
		id BIGINT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(64) NOT NULL, v BIGINT NOT NULL) ENGINE=InnoDB`); err != nil {
		return err
	}

	procs := map[string]int{"client": os.Getpid()}
	if pid := findProcess("mariadbd"); pid > 0 {
		procs["mariadb"] = pid
	}
	var seq atomic.Int64
	for _, conc := range o.ledgerConc {
		// A client takes a wallet from the pool for each posting, so that no two
		// post to the same one at once.
		pool := make(chan string, conc)
		for _, w := range wallets[:conc] {
			pool <- w
		}
		postN := func(ctx context.Context, n int) error {
			wallet := <-pool
			defer func() { pool <- wallet }()
			keys := make([]string, n)
			for i := range keys {
				keys[i] = fmt.Sprintf("bench/%d/credit", seq.Add(1))
			}
			return l.Run(ctx, func(tx *ledger.Tx) error {
				for _, key := range keys {
					if _, err := tx.Post(ledger.Posting{Key: key, Flow: models.FlowTopup, FlowID: key, MerchantID: "mch_bench",
						Currency: "CNY", Legs: []ledger.Leg{{AccountID: clearing, Amount: -100}, {AccountID: wallet, Amount: 100}}}); err != nil {
						return err
					}
				}
				return nil
			})
		}
		post := func(ctx context.Context) error { return postN(ctx, 1) }
		commit := func(ctx context.Context) error {
			n := seq.Add(1)
			_, err := raw.ExecContext(ctx, "INSERT INTO bench_commits (k, v) VALUES (?, ?)", fmt.Sprintf("bench/%d", n), n)
			return err
		}
		// Only one pool keeps idle connections at a time: the server is shared, and
		// two pools of 32 would take a good part of its max_connections.
		pools(ledgerPool, conc, raw, 1)
		_ = load.Measure(o.ledgerDur/5, conc, post) // warm the pool and the buffer pool
		s0, c0 := serverStatus(ctx, raw), cpuSeconds(procs)
		lr := load.Measure(o.ledgerDur, conc, post)
		s1, c1 := serverStatus(ctx, raw), cpuSeconds(procs)
		pools(raw, conc, ledgerPool, 0)
		cr := load.Measure(o.ledgerDur, conc, commit)
		s2, c2 := serverStatus(ctx, raw), cpuSeconds(procs)
		row := LedgerRow{
			Concurrency: conc, PostingsPerS: round2(lr.PerSecond), PostingP50MS: ms(lr.P50), PostingP99MS: ms(lr.P99),
			PostingErrors: lr.Errors, CommitsPerS: round2(cr.PerSecond), CommitP50MS: ms(cr.P50), CommitErrors: cr.Errors,
			PerPosting: perOp(s0, s1, lr.Done+lr.Errors), PerCommit: perOp(s1, s2, cr.Done+cr.Errors),
			CPUMSPerPosting: perOp(scale(c0, 1000), scale(c1, 1000), lr.Done+lr.Errors),
			CPUMSPerCommit:  perOp(scale(c1, 1000), scale(c2, 1000), cr.Done+cr.Errors),
		}
		if cr.PerSecond > 0 {
			row.PostingsVsCommits = round2(lr.PerSecond / cr.PerSecond)
		}
		if o.ledgerBatch > 1 {
			pools(ledgerPool, conc, raw, 0)
			br := load.Measure(o.ledgerDur, conc, func(ctx context.Context) error { return postN(ctx, o.ledgerBatch) })
			row.Batch, row.BatchedPostingsPerS = o.ledgerBatch, round2(br.PerSecond*float64(o.ledgerBatch))
			if br.FirstError != "" {
				say("ledger errors at %d, %d per transaction: %s", conc, o.ledgerBatch, br.FirstError)
			}
			if cr.PerSecond > 0 {
				row.BatchedVsCommits = round2(row.BatchedPostingsPerS / cr.PerSecond)
			}
		}
		sets := make(chan []string, conc)
		for i := 0; i < conc; i++ {
			sets <- yieldWallets[i*maxBatch : (i+1)*maxBatch]
		}
		yieldN := func(ctx context.Context, n int) error {
			set := <-sets
			defer func() { sets <- set }()
			postings := make([]ledger.Posting, n)
			for i := range postings {
				key := fmt.Sprintf("yield/%s/%d", set[i], seq.Add(1))
				postings[i] = ledger.Posting{Key: key, Flow: "yield", FlowID: key, MerchantID: "mch_bench", Currency: "CNY",
					Legs: []ledger.Leg{{AccountID: income, Amount: -7}, {AccountID: set[i], Amount: 7}}}
			}
			out, err := l.PostBatch(ctx, postings)
			if err != nil {
				return err
			}
			for _, r := range out {
				if r.Err != nil {
					return r.Err
				}
			}
			return nil
		}
		row.YieldByBatch = map[string]float64{}
		for i, n := range batches {
			pools(ledgerPool, conc, raw, 0)
			y0, yc0 := serverStatus(ctx, raw), cpuSeconds(procs)
			yr := load.Measure(o.ledgerDur, conc, func(ctx context.Context) error { return yieldN(ctx, n) })
			y1, yc1 := serverStatus(ctx, raw), cpuSeconds(procs)
			rate := round2(yr.PerSecond * float64(n))
			row.YieldByBatch[fmt.Sprint(n)] = rate
			if yr.FirstError != "" {
				say("yield errors at %d, %d per batch: %s", conc, n, yr.FirstError)
			}
			if i == 0 {
				done := (yr.Done + yr.Errors) * n
				row.YieldBatch, row.YieldPostingsPerS, row.YieldP50MS, row.YieldErrors = n, rate, ms(yr.P50), yr.Errors
				row.PerYieldPosting = perOp(y0, y1, done)
				row.CPUMSPerYieldPosting = perOp(scale(yc0, 1000), scale(yc1, 1000), done)
				if cr.PerSecond > 0 {
					row.YieldVsCommits = round2(rate / cr.PerSecond)
				}
			}
			say("yield at concurrency %d, %d per batch: %.0f postings/s (%.2f x raw commits)", conc, n, rate, rate/max(cr.PerSecond, 1))
		}
		if lr.FirstError != "" || cr.FirstError != "" {
			say("ledger errors at %d: %s %s", conc, lr.FirstError, cr.FirstError)
		}
		say("ledger at concurrency %d: %.0f postings/s, %.0f raw commits/s (%.2f), %.0f postings/s %d per transaction; CPU ms per posting %v, per commit %v",
			conc, lr.PerSecond, cr.PerSecond, row.PostingsVsCommits, row.BatchedPostingsPerS, row.Batch, row.CPUMSPerPosting, row.CPUMSPerCommit)
		res.Ledger = append(res.Ledger, row)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	// The figures count only if the ledger's rules held under the load.
	rep, err := l.Check(ctx)
	if err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("ledger check failed after the benchmark: %+v", rep)
	}
	res.LedgerCheckOK = true
	res.LedgerJournals = rep.Journals
	return nil
}
