// Package recon compares a bank's statement of one day with our bank transfer records
// in one streaming pass, in bounded memory, resumable from a checkpoint.
//
// The statement is read once, line by line: unreadable lines are reported at once
// (malformed, unknown_currency, with their line number) and the others are sorted by
// reference with a bounded external sort (chunks of Config.ChunkLines sorted in
// memory and written to temporary files, then merged k ways through a heap). Our
// records arrive already in reference order, one keyset page at a time. A merge join
// walks both and classifies each reference: matched, missing_on_our_side,
// missing_at_bank, amount_mismatch, status_mismatch, and duplicate_reference for every
// extra statement line of one reference.
//
// Differences are written in batches through a Sink that must be idempotent. Every
// Config.CheckpointEvery the pass flushes its batch and reports a Checkpoint: every
// reference up to LastReference is classified and stored, and Counts are the counts
// up to it. A pass given that checkpoint (after a crash) sorts the statement again,
// skips the lines up to LastReference, reads our records after it, and ends with the
// same counts and differences as a pass that never stopped.
package recon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/payflow/payflow/models"
)

// Errors of a pass. Both are a property of the input, not an outage: retrying cannot
// help.
var (
	// ErrStatementFormat: the statement is not the CSV the channel contract names.
	ErrStatementFormat = errors.New("statement format")
	// ErrRecordOrder: our records did not come in byte order of their references (a
	// MySQL column with a case-insensitive collation would do that).
	ErrRecordOrder = errors.New("our records are not in reference byte order")
)

// Config bounds a pass. Its memory is about two chunks of statement lines, two pages
// of our records and one batch of differences, whatever the statement's size.
type Config struct {
	// ChunkLines is how many statement lines are sorted in memory at once.
	ChunkLines int
	// PageSize is how many of our records one keyset page reads.
	PageSize int
	// BatchSize is how many differences one insert writes.
	BatchSize int
	// CheckpointEvery is how often the pass makes its position durable.
	CheckpointEvery time.Duration
	// TempDir holds the sorted chunks ("" is the system's).
	TempDir string
	// EnrichWorkers is how many pages of our records are enriched at once.
	EnrichWorkers int
	// MaxRefsPerSecond paces the matching (0: as fast as it goes), so that a huge
	// statement can be kept from starving the worker's other activities.
	MaxRefsPerSecond int
}

// Defaults of Config.
const (
	DefaultChunkLines      = 50_000
	DefaultPageSize        = 10_000
	DefaultBatchSize       = 500
	DefaultCheckpointEvery = time.Second
	// DefaultEnrichWorkers pages of our records are enriched at once.
	DefaultEnrichWorkers = 4
	// DefaultCarryDays is how many days an item stays in transit before it is
	// reported (PAYFLOW_RECON_CARRY_DAYS).
	DefaultCarryDays = 2
)

func (c Config) withDefaults() Config {
	if c.ChunkLines <= 0 {
		c.ChunkLines = DefaultChunkLines
	}
	if c.PageSize <= 0 {
		c.PageSize = DefaultPageSize
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.CheckpointEvery <= 0 {
		c.CheckpointEvery = DefaultCheckpointEvery
	}
	if c.EnrichWorkers <= 0 {
		c.EnrichWorkers = DefaultEnrichWorkers
	}
	return c
}

// Phases of a pass, as its checkpoints report them.
const (
	PhaseSorting  = "sorting"
	PhaseMatching = "matching"
	PhaseDone     = "done"
)

// Checkpoint is a pass's position, carried in the activity's heartbeat.
type Checkpoint struct {
	Phase string `json:"phase"`
	// StatementLines is how many statement lines this pass has read (the offset in
	// the statement).
	StatementLines int64 `json:"statement_lines"`
	// MergedLines is how many sorted statement lines are classified, over all
	// attempts.
	MergedLines int64 `json:"merged_lines"`
	// LastReference: every reference up to it (byte order) is classified and its
	// differences are stored.
	LastReference string `json:"last_reference,omitempty"`
	// Counts are the merge's counts up to LastReference (the statement's line,
	// malformed and unknown-currency counts are recounted by every pass).
	Counts models.ReconciliationCounts `json:"counts"`
	// Resumes is how many times the pass continued from a checkpoint.
	Resumes int `json:"resumes"`
}

// Ours returns up to limit of our records after the reference after, in byte order
// of reference; fewer than limit means there are no more. They are the references
// our side says moved on the channel that day (the bank layer's records of the
// bank's answers) and the items an earlier day carried, each with its intent and
// ledger.
type Ours func(ctx context.Context, after string, limit int) ([]Record, error)

// Enrich fills in our intent and ledger of a page of Ours' records, in place
// (nil: Ours returns them whole). Pages are enriched concurrently
// (Config.EnrichWorkers), each by one call.
type Enrich func(ctx context.Context, recs []Record) error

// Lookup finds our intent and ledger of references the statement has and Ours did
// not return (a charge the bank made while our flow failed or stopped before it
// recorded the bank's answer): a record per reference we have an object for, none
// for the others.
type Lookup func(ctx context.Context, refs []string) (map[string]Record, error)

// Sink stores a batch of differences. Storing one again must be a no-op.
type Sink func(ctx context.Context, diffs []models.Difference) error

// Job is one pass.
type Job struct {
	ReconciliationID string
	// Statement is the CSV: reference,kind,amount,currency,status,time.
	Statement io.Reader
	Ours      Ours
	Enrich    Enrich
	// Lookup finds our side of the statement's references Ours lacks (nil: none is
	// ours).
	Lookup Lookup
	Sink   Sink
	// Day is the run's UTC day, and CarryDays how many days an item stays in
	// transit before it is reported as the difference it is.
	Day       time.Time
	CarryDays int
	// Resume is the checkpoint of an earlier attempt, or nil.
	Resume *Checkpoint
	// Progress receives each checkpoint (may be nil). It runs on the pass's
	// goroutine and must not block.
	Progress func(Checkpoint)
}

// Result is a finished pass.
type Result struct {
	Counts       models.ReconciliationCounts
	Resumed      bool
	ResumedAfter string
	// SkippedLines is how many sorted statement lines this pass skipped because an
	// earlier attempt had classified them.
	SkippedLines int64
	// Chunks is how many sorted chunks the statement was split into.
	Chunks int
}

// Reconcile runs one pass.
func Reconcile(ctx context.Context, cfg Config, job Job) (Result, error) {
	cfg = cfg.withDefaults()
	dir, err := os.MkdirTemp(cfg.TempDir, "payflow-recon-")
	if err != nil {
		return Result{}, fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)

	p := &pass{cfg: cfg, job: job, batch: batcher{sink: job.Sink, size: cfg.BatchSize}}
	p.cp.Phase = PhaseSorting
	// A checkpoint of an attempt that died while sorting again still carries the
	// position its own resume point came from.
	if r := job.Resume; r != nil && r.LastReference != "" {
		p.cp.LastReference, p.cp.Counts, p.cp.MergedLines = r.LastReference, r.Counts, r.MergedLines
		p.cp.Resumes = r.Resumes + 1
		p.res.Resumed, p.res.ResumedAfter = true, r.LastReference
	} else if r != nil {
		p.cp.Resumes = r.Resumes
	}

	// Our records are read (into a spool file) while the statement is read and
	// sorted: the database and the bank work at the same time.
	spoolCtx, stopSpool := context.WithCancel(ctx)
	sp := startSpool(spoolCtx, job.Ours, job.Enrich, p.cp.LastReference, cfg.PageSize, cfg.EnrichWorkers, dir)
	defer func() {
		stopSpool()
		sp.wait() // before the directory is removed
	}()
	sorted, err := p.sortStatement(ctx, dir)
	if err != nil {
		return Result{}, err
	}
	defer sorted.close()
	ours, err := sp.open()
	if err != nil {
		return Result{}, err
	}
	defer ours.close()
	if err := p.match(ctx, sorted, ours); err != nil {
		return Result{}, err
	}
	p.res.Counts = p.lineCounts.Plus(p.cp.Counts)
	p.res.Chunks = len(sorted.readers)
	return p.res, nil
}

type pass struct {
	cfg   Config
	job   Job
	batch batcher
	cp    Checkpoint
	res   Result
	// lineCounts are the sort phase's counts: lines read, malformed, unknown currency.
	lineCounts models.ReconciliationCounts
	lastCP     time.Time
	// pending are statement-only lines waiting for their batch's Lookup.
	pending []Line
}

func (p *pass) progress() {
	if p.job.Progress != nil {
		p.job.Progress(p.cp)
	}
}

func (p *pass) difference(d models.Difference) models.Difference {
	d.ReconciliationID = p.job.ReconciliationID
	return d
}

// batcher collects differences and writes them in batches.
type batcher struct {
	sink  Sink
	size  int
	diffs []models.Difference
}

func (b *batcher) add(ctx context.Context, d models.Difference) error {
	b.diffs = append(b.diffs, d)
	if len(b.diffs) < b.size {
		return nil
	}
	return b.flush(ctx)
}

func (b *batcher) flush(ctx context.Context) error {
	if len(b.diffs) == 0 {
		return nil
	}
	if err := b.sink(ctx, b.diffs); err != nil {
		return fmt.Errorf("store differences: %w", err)
	}
	b.diffs = b.diffs[:0]
	return nil
}
