package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/internal/yield"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// YieldRow is one size of the balance yield measurement: a day's run over `wallets`
// opted-in wallets on MariaDB, its ranges credited by `workers` goroutines (as that
// many worker slots would take the range activities), and the process's peak RSS
// during the run.
type YieldRow struct {
	Wallets       int     `json:"wallets"`
	Ranges        int     `json:"ranges"`
	Workers       int     `json:"workers"`
	SetupS        float64 `json:"setup_s"`
	RunS          float64 `json:"run_s"`
	WalletsPerS   float64 `json:"wallets_per_s"`
	Credited      int64   `json:"credited"`
	PeakRSSMB     float64 `json:"peak_rss_mb"`
	LedgerCheckOK bool    `json:"ledger_check_ok"`
}

// yieldDay is the day the measurement credits; the wallets' money arrived before it
// ended.
const yieldDay = "2026-01-05"

// runYield measures a day's yield run at each of o.yieldSizes wallets, each on a
// fresh MariaDB database: the wallets, their opening balances (one journal per
// thousand wallets, so that the ledger check holds) and their opt-ins are written
// with multi-row inserts, then the day is planned into ranges (yield.Engine.Plan, as
// the workflow does) and the ranges are credited by o.yieldWorkers goroutines. The
// peak RSS is the process's high-water mark, reset before each run, so that sizes
// compare: flat from 100k to 1M is the engine's bounded memory.
func runYield(ctx context.Context, o options, res *Results) error {
	for _, n := range o.yieldSizes {
		say("balance yield: %d wallets, %d workers", n, o.yieldWorkers)
		row, err := yieldOnce(ctx, n, o.yieldWorkers)
		if err != nil {
			return fmt.Errorf("yield of %d wallets: %w", n, err)
		}
		say("balance yield: %d wallets in %.1f s (%.0f/s), peak RSS %.1f MB, ledger check ok: %v", n, row.RunS, row.WalletsPerS, row.PeakRSSMB, row.LedgerCheckOK)
		res.Yield = append(res.Yield, row)
		if n == 1_000_000 {
			res.YieldRun1MS = row.RunS
		}
		res.YieldPeakRSSMB = max(res.YieldPeakRSSMB, row.PeakRSSMB)
	}
	return nil
}

func yieldOnce(ctx context.Context, n, workers int) (YieldRow, error) {
	row := YieldRow{Wallets: n, Workers: workers}
	_, db, drop, err := testenv.OpenMySQL(ctx, "payflow_bench_yield", workers+4)
	if err != nil {
		return row, err
	}
	defer drop()
	l := ledger.New(db)
	began := time.Now()
	if err := seedYieldWallets(ctx, db, l, n); err != nil {
		return row, err
	}
	row.SetupS = round2(time.Since(began).Seconds())

	eng := &yield.Engine{DB: db, Ledger: l}
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	began = time.Now()
	ranges, err := eng.Plan(ctx, workflows.YieldRangeSize, workflows.YieldMaxRanges)
	if err != nil {
		return row, err
	}
	row.Ranges = len(ranges)
	next := make(chan models.YieldRange)
	var (
		mu       sync.Mutex
		credited int64
		wallets  int64
		firstErr error
		wg       sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				t, err := eng.Credit(ctx, yield.Job{RunID: "yr_bench", Day: yieldDay, IncomePer10k: 512300, Range: r})
				mu.Lock()
				credited += t.Credited
				wallets += t.Wallets
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for _, r := range ranges {
		next <- r
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return row, firstErr
	}
	row.RunS = round2(time.Since(began).Seconds())
	row.PeakRSSMB = peakRSSMB()
	row.WalletsPerS = round2(float64(wallets) / row.RunS)
	row.Credited = credited
	if wallets != int64(n) {
		return row, fmt.Errorf("credited %d wallets of %d", wallets, n)
	}
	rep, err := l.Check(ctx)
	if err != nil {
		return row, err
	}
	row.LedgerCheckOK = rep.OK
	return row, nil
}

// seedYieldWallets writes n CNY wallets of mch_bench with balances of 1.00 to
// 1,000,000.00 CNY, funded before the day's end by one opening journal per thousand
// wallets from the bank clearing account, and opted in, with multi-row inserts.
func seedYieldWallets(ctx context.Context, db *store.DB, l *ledger.Ledger, n int) error {
	clearing, err := l.EnsureAccount(ctx, ledger.ClearingSpec("banksim", "CNY"))
	if err != nil {
		return err
	}
	end, _ := models.YieldDayEnd(yieldDay)
	at := end.Add(-12 * time.Hour).UTC()
	const chunk = 1000
	for start := 0; start < n; start += chunk {
		size := min(chunk, n-start)
		var accts, opts, entries strings.Builder
		var aArgs, oArgs, eArgs []any
		journal := fmt.Sprintf("jnl_bench%09d", start)
		var sum int64
		for i := start; i < start+size; i++ {
			id := fmt.Sprintf("acct_bench%09d", i)
			bal := int64(i%1_000_000+1) * 100
			sum += bal
			if i > start {
				accts.WriteString(",")
				opts.WriteString(",")
				entries.WriteString(",")
			}
			accts.WriteString("(?,?,'mch_bench','customer_wallet','CNY',1,?,1,?)")
			aArgs = append(aArgs, id, id, bal, at)
			opts.WriteString("(?,'mch_bench',1,?,?)")
			oArgs = append(oArgs, id, at, at)
			entries.WriteString("(?,?,?,?,'CNY',?,1,?)")
			eArgs = append(eArgs, "ent_"+id[5:], journal, id, bal, bal, at)
		}
		entries.WriteString(",(?,?,?,?,'CNY',0,0,?)")
		eArgs = append(eArgs, "ent_"+journal[4:]+"c", journal, clearing, -sum, at)
		stmts := []struct {
			q    string
			args []any
		}{
			{"INSERT INTO accounts (id, system_key, merchant_id, kind, currency, track_balance, balance, version, created_at) VALUES " + accts.String(), aArgs},
			{"INSERT INTO journals (id, idempotency_key, flow, flow_id, merchant_id, description, created_at) VALUES (?,?,'topup',?,'mch_bench','opening balances',?)",
				[]any{journal, "bench/" + journal, journal, at}},
			{"INSERT INTO entries (id, journal_id, account_id, amount, currency, balance_after, account_version, created_at) VALUES " + entries.String(), eArgs},
			{"INSERT INTO yield_wallets (account_id, merchant_id, enabled, enabled_at, updated_at) VALUES " + opts.String(), oArgs},
		}
		for _, s := range stmts {
			if err := db.WithContext(ctx).Exec(s.q, s.args...).Error; err != nil {
				return fmt.Errorf("seed wallets from %d: %w", start, err)
			}
		}
	}
	return nil
}

// resetPeakRSS resets the process's RSS high-water mark (Linux: clear_refs 5).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB is the process's RSS high-water mark (VmHWM) in MB.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return round2(kb / 1024)
		}
	}
	return 0
}
