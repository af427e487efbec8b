package main

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"

	_ "github.com/go-sql-driver/mysql" // raw MariaDB commits

	"github.com/payflow/payflow/bench/load"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/internal/testenv"
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
	clearing, err := l.EnsureAccount(ctx, ledger.ClearingSpec("banksim", "CNY"))
	if err != nil {
		return err
	}
	wallets := make([]string, maxConc)
	for i := range wallets {
		wallets[i] = models.NewID(models.PrefixAccount)
		if err := l.Run(ctx, func(tx *ledger.Tx) error {
			return ledger.InsertWallet(tx.DB(), ledger.NewWallet(wallets[i], "mch_bench", "CNY", ""))
		}); err != nil {
			return err
		}
	}

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
	raw.SetMaxIdleConns(maxConc)
	if _, err := raw.ExecContext(ctx, `CREATE TABLE bench_commits (
		id BIGINT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(64) NOT NULL, v BIGINT NOT NULL) ENGINE=InnoDB`); err != nil {
		return err
	}

	var seq atomic.Int64
	for _, conc := range o.ledgerConc {
		// A client takes a wallet from the pool for each posting, so that no two
		// post to the same one at once.
		pool := make(chan string, conc)
		for _, w := range wallets[:conc] {
			pool <- w
		}
		post := func(ctx context.Context) error {
			wallet := <-pool
			defer func() { pool <- wallet }()
			n := seq.Add(1)
			key := fmt.Sprintf("bench/%d/credit", n)
			return l.Run(ctx, func(tx *ledger.Tx) error {
				_, err := tx.Post(ledger.Posting{Key: key, Flow: models.FlowTopup, FlowID: key, MerchantID: "mch_bench",
					Currency: "CNY", Legs: []ledger.Leg{{AccountID: clearing, Amount: -100}, {AccountID: wallet, Amount: 100}}})
				return err
			})
		}
		commit := func(ctx context.Context) error {
			n := seq.Add(1)
			_, err := raw.ExecContext(ctx, "INSERT INTO bench_commits (k, v) VALUES (?, ?)", fmt.Sprintf("bench/%d", n), n)
			return err
		}
		_ = load.Measure(o.ledgerDur/5, conc, commit) // warm the pool and the buffer pool
		lr := load.Measure(o.ledgerDur, conc, post)
		cr := load.Measure(o.ledgerDur, conc, commit)
		row := LedgerRow{
			Concurrency: conc, PostingsPerS: round2(lr.PerSecond), PostingP50MS: ms(lr.P50), PostingP99MS: ms(lr.P99),
			PostingErrors: lr.Errors, CommitsPerS: round2(cr.PerSecond), CommitP50MS: ms(cr.P50), CommitErrors: cr.Errors,
		}
		if cr.PerSecond > 0 {
			row.PostingsVsCommits = round2(lr.PerSecond / cr.PerSecond)
		}
		if lr.FirstError != "" || cr.FirstError != "" {
			say("ledger errors at %d: %s %s", conc, lr.FirstError, cr.FirstError)
		}
		say("ledger at concurrency %d: %.0f postings/s, %.0f raw commits/s (%.2f)", conc, lr.PerSecond, cr.PerSecond, row.PostingsVsCommits)
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
