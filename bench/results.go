package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/payflow/payflow/bench/load"
)

// Results is bench/results/latest.json: every figure of make bench, from one run.
type Results struct {
	MeasuredAt string  `json:"measured_at"`
	Command    string  `json:"command"`
	Machine    Machine `json:"machine"`
	// LoadAverage is /proc/loadavg at the start and at the end: the machine may be
	// shared, and the wall-clock figures move with it.
	LoadAverage []string `json:"load_average"`
	WallSeconds float64  `json:"wall_seconds"`
	// Regime is payments and the raw workflows at the main concurrency (its fields
	// stand at the top level of the JSON).
	Regime
	GoalRatio float64 `json:"goal_payments_vs_baseline"`

	Profiles []string `json:"profiles,omitempty"`

	// LedgerPostingsPerS and MariaDBCommitsPerS are keyed by concurrency; Ledger has
	// the details of each.
	LedgerPostingsPerS map[string]float64 `json:"ledger_postings_per_s,omitempty"`
	MariaDBCommitsPerS map[string]float64 `json:"mariadb_commits_per_s,omitempty"`
	LedgerVsMariaDB    map[string]float64 `json:"ledger_vs_mariadb,omitempty"`
	GoalLedger         float64            `json:"goal_ledger_vs_mariadb"`
	Ledger             []LedgerRow        `json:"ledger,omitempty"`
	LedgerCheckOK      bool               `json:"ledger_check_ok"`
	// LedgerGroup and LedgerGroupSlots are the ledger's group commit in the
	// measurement: Run calls per group transaction (0: off) and groups at once.
	LedgerGroup      int `json:"ledger_group"`
	LedgerGroupSlots int `json:"ledger_group_slots,omitempty"`
	// YieldPostingsPerS are yield credits through the batched write path
	// (Ledger.PostBatch), keyed by concurrency, against MariaDBCommitsPerS.
	YieldPostingsPerS map[string]float64 `json:"yield_postings_per_s,omitempty"`
	YieldVsMariaDB    map[string]float64 `json:"yield_vs_mariadb,omitempty"`
	GoalYield         float64            `json:"goal_yield_vs_mariadb,omitempty"`
	LedgerJournals    int64              `json:"ledger_journals"`

	// Saturation is the same three measurements at more clients, where the engine,
	// not the latency, bounds the loop.
	Saturation *Regime `json:"saturation,omitempty"`
	// Sync is one client's synchronous payment beside a raw one-activity workflow.
	Sync *SyncResult `json:"sync,omitempty"`

	ReconLines      int64   `json:"recon_lines,omitempty"`
	ReconLinesPerS  float64 `json:"recon_lines_per_s,omitempty"`
	ReconPeakRSSMB  float64 `json:"recon_peak_rss_mb,omitempty"`
	ReconMemoryFlat bool    `json:"recon_memory_flat,omitempty"`
	ReconSource     string  `json:"recon_source,omitempty"`
	// Recon is bench/recon's whole report (every size and run).
	Recon json.RawMessage `json:"recon,omitempty"`

	// YieldRun1MS is the balance yield's run over a million wallets (-only yield);
	// Yield has every size.
	YieldRun1MS    float64    `json:"yield_run_1m_s,omitempty"`
	YieldPeakRSSMB float64    `json:"yield_peak_rss_mb,omitempty"`
	Yield          []YieldRow `json:"yield,omitempty"`
}

func ms(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }

// Regime is payments and the raw workflows at one concurrency.
type Regime struct {
	Concurrency int `json:"concurrency"`
	// DurationS is how long payments and each raw workflow were measured in all,
	// in Rounds interleaved rounds.
	DurationS float64 `json:"duration_s"`
	Rounds    int     `json:"rounds"`

	PaymentsPerS  float64 `json:"payments_per_s"`
	PaymentP50MS  float64 `json:"payment_p50_ms"`
	PaymentP99MS  float64 `json:"payment_p99_ms"`
	PaymentsDone  int     `json:"payments_done"`
	PaymentErrors int     `json:"payment_errors"`

	// PaymentCodePaymentsPerS are payments with a wallet provider's payment code
	// (alipaysim, paid at once), measured in the same rounds as the card payments.
	PaymentCodePaymentsPerS float64 `json:"payment_code_payments_per_s,omitempty"`
	PaymentCodeP50MS        float64 `json:"payment_code_p50_ms,omitempty"`
	PaymentCodeP99MS        float64 `json:"payment_code_p99_ms,omitempty"`
	PaymentCodeErrors       int     `json:"payment_code_errors,omitempty"`

	TemporalBaselinePerS  float64 `json:"temporal_baseline_per_s"`
	TemporalBaselineP50MS float64 `json:"temporal_baseline_p50_ms"`
	TemporalBaselineP99MS float64 `json:"temporal_baseline_p99_ms"`
	TemporalEmptyPerS     float64 `json:"temporal_empty_per_s"`
	TemporalEmptyP50MS    float64 `json:"temporal_empty_p50_ms"`
	TemporalErrors        int     `json:"temporal_errors"`

	PaymentsVsBaseline float64 `json:"payments_vs_baseline"`
	PaymentsVsEmpty    float64 `json:"payments_vs_empty"`

	CPUDuringPayments map[string]float64 `json:"cpu_cores_during_payments,omitempty"`
	CPUDuringBaseline map[string]float64 `json:"cpu_cores_during_baseline,omitempty"`
}

// set records one phase's merged measurement and computes the ratios so far.
func (g *Regime) set(name string, m load.Result, cores map[string]float64) {
	switch name {
	case "payments":
		g.PaymentsPerS, g.PaymentP50MS, g.PaymentP99MS = round2(m.PerSecond), ms(m.P50), ms(m.P99)
		g.PaymentsDone, g.PaymentErrors = m.Done, m.Errors
		g.CPUDuringPayments = cores
	case "payment code payments":
		g.PaymentCodePaymentsPerS, g.PaymentCodeP50MS, g.PaymentCodeP99MS = round2(m.PerSecond), ms(m.P50), ms(m.P99)
		g.PaymentCodeErrors = m.Errors
	case "temporal 4 activities":
		g.TemporalBaselinePerS, g.TemporalBaselineP50MS, g.TemporalBaselineP99MS = round2(m.PerSecond), ms(m.P50), ms(m.P99)
		g.TemporalErrors += m.Errors
		g.CPUDuringBaseline = cores
	case "temporal empty":
		g.TemporalEmptyPerS, g.TemporalEmptyP50MS = round2(m.PerSecond), ms(m.P50)
		g.TemporalErrors += m.Errors
	}
	if g.TemporalBaselinePerS > 0 {
		g.PaymentsVsBaseline = round2(g.PaymentsPerS / g.TemporalBaselinePerS)
	}
	if g.TemporalEmptyPerS > 0 {
		g.PaymentsVsEmpty = round2(g.PaymentsPerS / g.TemporalEmptyPerS)
	}
}

// SyncResult is one client's synchronous card payment (Prefer: wait=N; a 202 is
// polled until the payment is final) beside a raw workflow of one no-op activity
// started and awaited by its client.
type SyncResult struct {
	Concurrency int     `json:"concurrency"`
	DurationS   float64 `json:"duration_s"`
	Rounds      int     `json:"rounds"`
	Prefer      string  `json:"prefer"`

	PaymentP50MS  float64 `json:"sync_payment_p50_ms"`
	PaymentP99MS  float64 `json:"sync_payment_p99_ms"`
	PaymentsDone  int     `json:"sync_payments_done"`
	PaymentErrors int     `json:"sync_payment_errors"`
	// Answered200 and Answered202 are how the API answered the measured POSTs: with
	// the final payment, or processing (then polled).
	Answered200 int `json:"answered_200"`
	Answered202 int `json:"answered_202"`

	OneActivityP50MS  float64 `json:"temporal_one_activity_p50_ms"`
	OneActivityP99MS  float64 `json:"temporal_one_activity_p99_ms"`
	OneActivityDone   int     `json:"temporal_one_activity_done"`
	OneActivityErrors int     `json:"temporal_one_activity_errors"`

	// P50Ratio is sync_payment_p50_ms / temporal_one_activity_p50_ms (goal <= Goal).
	P50Ratio float64 `json:"sync_vs_one_activity_p50"`
	P99Ratio float64 `json:"sync_vs_one_activity_p99"`
	Goal     float64 `json:"goal_sync_vs_one_activity_p50"`
}

func (s *SyncResult) set(pay, one load.Result) {
	s.PaymentP50MS, s.PaymentP99MS, s.PaymentsDone, s.PaymentErrors = ms(pay.P50), ms(pay.P99), pay.Done, pay.Errors
	s.OneActivityP50MS, s.OneActivityP99MS, s.OneActivityDone, s.OneActivityErrors = ms(one.P50), ms(one.P99), one.Done, one.Errors
	if one.P50 > 0 {
		s.P50Ratio = round2(float64(pay.P50) / float64(one.P50))
	}
	if one.P99 > 0 {
		s.P99Ratio = round2(float64(pay.P99) / float64(one.P99))
	}
}

// finish computes the ratios.
func (r *Results) finish() {
	if len(r.Ledger) > 0 {
		r.LedgerPostingsPerS, r.MariaDBCommitsPerS, r.LedgerVsMariaDB = map[string]float64{}, map[string]float64{}, map[string]float64{}
		for _, l := range r.Ledger {
			k := fmt.Sprint(l.Concurrency)
			r.LedgerPostingsPerS[k], r.MariaDBCommitsPerS[k], r.LedgerVsMariaDB[k] = l.PostingsPerS, l.CommitsPerS, l.PostingsVsCommits
			if l.YieldBatch > 0 {
				if r.YieldPostingsPerS == nil {
					r.YieldPostingsPerS, r.YieldVsMariaDB = map[string]float64{}, map[string]float64{}
				}
				r.YieldPostingsPerS[k], r.YieldVsMariaDB[k] = l.YieldPostingsPerS, l.YieldVsCommits
			}
		}
	}
}

func (r *Results) write(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// table is the Markdown table make bench prints (and docs/performance.md quotes).
func (r *Results) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%d x %s, %d MB RAM; load average %s at the start, %s at the end; %s\n\n",
		r.Machine.CPUs, r.Machine.CPUModel, r.Machine.RAMMB, first(r.LoadAverage), last(r.LoadAverage), r.MeasuredAt)
	if r.PaymentsDone > 0 || r.TemporalBaselinePerS > 0 {
		fmt.Fprintf(&b, "Payments and each raw workflow: %.0f s each, in %d interleaved rounds, %d clients.\n\n", r.DurationS, r.Rounds, r.Concurrency)
	}
	fmt.Fprintf(&b, "| figure | value | against | goal |\n|---|---|---|---|\n")
	if r.PaymentsDone > 0 || r.TemporalBaselinePerS > 0 {
		fmt.Fprintf(&b, "| payments_per_s (card, end to end, %d clients) | %.1f | %.2f x temporal_baseline_per_s, %.2f x temporal_empty_per_s | >= %.1f x baseline |\n",
			r.Concurrency, r.PaymentsPerS, r.PaymentsVsBaseline, r.PaymentsVsEmpty, r.GoalRatio)
		r.Regime.latencyRows(&b, "")
		if r.PaymentCodePaymentsPerS > 0 {
			fmt.Fprintf(&b, "| payment_code_payments_per_s (alipaysim, paid at once, %d clients) | %.1f | p50 %.0f ms, p99 %.0f ms (%d errors) | |\n",
				r.Concurrency, r.PaymentCodePaymentsPerS, r.PaymentCodeP50MS, r.PaymentCodeP99MS, r.PaymentCodeErrors)
		}
	}
	if g := r.Saturation; g != nil {
		fmt.Fprintf(&b, "| saturation: payments_per_s (%d clients, %.0f s each) | %.1f | %.2f x temporal_baseline_per_s, %.2f x temporal_empty_per_s | |\n",
			g.Concurrency, g.DurationS, g.PaymentsPerS, g.PaymentsVsBaseline, g.PaymentsVsEmpty)
		g.latencyRows(&b, "saturation: ")
	}
	if s := r.Sync; s != nil {
		fmt.Fprintf(&b, "| sync_payment_p50_ms / p99 (1 client, Prefer: %s, %.0f s) | %.0f / %.0f | %.2f x / %.2f x the raw 1-activity workflow's (%d answered 200, %d 202; %d errors) | p50 <= %.1f x |\n",
			s.Prefer, s.DurationS, s.PaymentP50MS, s.PaymentP99MS, s.P50Ratio, s.P99Ratio, s.Answered200, s.Answered202, s.PaymentErrors, s.Goal)
		fmt.Fprintf(&b, "| temporal_one_activity_p50_ms / p99 (1 client, ExecuteWorkflow + Get) | %.0f / %.0f | (%d done, %d errors) | |\n",
			s.OneActivityP50MS, s.OneActivityP99MS, s.OneActivityDone, s.OneActivityErrors)
	}
	for _, l := range r.Ledger {
		fmt.Fprintf(&b, "| ledger_postings_per_s / mariadb_commits_per_s at concurrency %d (group commit: %d calls, %d slots) | %.0f / %.0f | %.2f | >= %.1f |\n",
			l.Concurrency, r.LedgerGroup, r.LedgerGroupSlots, l.PostingsPerS, l.CommitsPerS, l.PostingsVsCommits, r.GoalLedger)
	}
	for _, l := range r.Ledger {
		if l.Batch > 1 {
			fmt.Fprintf(&b, "| ledger postings/s, %d per transaction, at concurrency %d | %.0f | %.2f x mariadb_commits_per_s | |\n",
				l.Batch, l.Concurrency, l.BatchedPostingsPerS, l.BatchedVsCommits)
		}
	}
	for _, l := range r.Ledger {
		if l.YieldBatch > 0 {
			fmt.Fprintf(&b, "| yield_postings_per_s (PostBatch, %d per call) at concurrency %d | %.0f | %.2f x mariadb_commits_per_s | >= %.1f |\n",
				l.YieldBatch, l.Concurrency, l.YieldPostingsPerS, l.YieldVsCommits, r.GoalYield)
		}
	}
	if r.ReconLines > 0 {
		fmt.Fprintf(&b, "| recon_lines_per_s (%d lines) | %.0f | peak RSS %.1f MB, flat: %v | >= 500000, <= 256 MB |\n",
			r.ReconLines, r.ReconLinesPerS, r.ReconPeakRSSMB, r.ReconMemoryFlat)
	}
	for _, y := range r.Yield {
		fmt.Fprintf(&b, "| yield run of %d wallets (%d ranges, %d workers) | %.1f s | %.0f wallets/s, peak RSS %.1f MB, ledger check ok: %v | 1M: flat RSS <= 256 MB |\n",
			y.Wallets, y.Ranges, y.Workers, y.RunS, y.WalletsPerS, y.PeakRSSMB, y.LedgerCheckOK)
	}
	if len(r.CPUDuringPayments) > 0 {
		fmt.Fprintf(&b, "\nCPU cores used during payments: %s\n", cores(r.CPUDuringPayments))
	}
	if len(r.CPUDuringBaseline) > 0 {
		fmt.Fprintf(&b, "CPU cores used during the 4-activity baseline: %s\n", cores(r.CPUDuringBaseline))
	}
	return b.String()
}

// latencyRows are the rows of table that follow a regime's payments_per_s: the
// payments' latencies and the raw workflows', each figure's name after prefix.
func (g *Regime) latencyRows(b *strings.Builder, prefix string) {
	fmt.Fprintf(b, "| %spayment_p50_ms / payment_p99_ms | %.0f / %.0f | (%d succeeded, %d errors) | |\n",
		prefix, g.PaymentP50MS, g.PaymentP99MS, g.PaymentsDone, g.PaymentErrors)
	fmt.Fprintf(b, "| %stemporal_baseline_per_s (4 no-op activities) | %.1f | p50 %.0f ms, p99 %.0f ms | |\n",
		prefix, g.TemporalBaselinePerS, g.TemporalBaselineP50MS, g.TemporalBaselineP99MS)
	fmt.Fprintf(b, "| %stemporal_empty_per_s (no activity) | %.1f | p50 %.0f ms | |\n", prefix, g.TemporalEmptyPerS, g.TemporalEmptyP50MS)
}

func cores(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %.2f", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}
