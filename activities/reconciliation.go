package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/recon"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// DefaultHeartbeatEvery is how often a reconciliation heartbeats its checkpoint.
const DefaultHeartbeatEvery = 2 * time.Second

// ReconciliationStarter starts the workflow of a reconciliation run (package starter).
type ReconciliationStarter interface {
	// StartReconciliation starts the run's workflow, or finds it running; fresh says
	// the run was just created, so that no workflow run of it can exist yet.
	StartReconciliation(ctx context.Context, in models.ReconciliationInput, fresh bool) error
}

// Reconciliation holds the activities of reconciliation runs.
type Reconciliation struct {
	Channels *bank.Registry
	Store    *store.Store
	Starter  ReconciliationStarter
	Log      *logrus.Entry
	// Engine bounds the streaming pass (chunk, page and batch sizes, temp dir).
	Engine recon.Config
	// HeartbeatEvery is how often the pass heartbeats its checkpoint; 0 is
	// DefaultHeartbeatEvery.
	HeartbeatEvery time.Duration
	// CarryDays is how many days an item stays in transit before it is reported
	// (PAYFLOW_RECON_CARRY_DAYS); 0 is recon.DefaultCarryDays.
	CarryDays int
	// Differences counts the differences of every completed run (nil counts
	// nothing).
	Differences DifferenceCounter
	// FundFiles reads the fund company's daily files: the runs of channel
	// models.ReconChannelFund (nil: that channel cannot be reconciled).
	FundFiles FundFiles
}

// DifferenceCounter counts the differences reconciliation found
// (payflow_reconciliation_differences_total; package metrics).
type DifferenceCounter interface {
	AddReconciliationDifferences(channel, kind string, n int)
}

// ReconcileStatement compares the channel's statement of the day with our bank
// transfer records in one streaming pass (see package recon), storing the differences
// as it goes. It heartbeats its checkpoint every few seconds; a retry after a crash
// reads the last one and resumes the matching after its last reference, so that a
// killed worker costs the re-sort, not the whole run, and the report is the same.
//
// It is also called directly, outside Temporal (the benchmark): then it heartbeats
// nothing.
func (r *Reconciliation) ReconcileStatement(ctx context.Context, in models.ReconcileStatementInput) (models.ReconcileStatementResult, error) {
	log := logger(ctx, r.Log).WithFields(logrus.Fields{"reconciliation_id": in.ReconciliationID, "channel": in.Channel, "date": in.Date})
	day, err := models.ParseDay(in.Date)
	if err != nil {
		return models.ReconcileStatementResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeInvalidInput, nil)
	}
	if in.Channel == models.ReconChannelFund {
		return r.reconcileFund(ctx, in, day)
	}
	ch, err := r.Channels.Get(in.Channel)
	if err != nil {
		return models.ReconcileStatementResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeInvalidInput, nil)
	}
	inActivity := activity.IsActivity(ctx)
	var resume *recon.Checkpoint
	if inActivity && activity.HasHeartbeatDetails(ctx) {
		var cp recon.Checkpoint
		if err := activity.GetHeartbeatDetails(ctx, &cp); err != nil {
			log.WithError(err).Warn("unreadable checkpoint; reconciling from the start")
		} else {
			resume = &cp
			log.WithFields(logrus.Fields{
				"phase": cp.Phase, "last_reference": cp.LastReference, "merged_lines": cp.MergedLines, "statement_lines": cp.StatementLines,
			}).Info("resuming the reconciliation from its checkpoint")
		}
	}

	body, err := ch.Statement(ctx, day)
	if err != nil {
		return models.ReconcileStatementResult{}, retryableError(models.ErrTypeBankUnavailable, fmt.Errorf("fetch statement: %w", err))
	}
	defer body.Close()

	// The run of the day before: its in-transit items are looked for again.
	prev, err := r.Store.PreviousRun(ctx, in.Channel, in.Date)
	if err != nil {
		return models.ReconcileStatementResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	hb := &heartbeat{}
	if resume != nil {
		hb.set(*resume)
	}
	if inActivity {
		every := r.HeartbeatEvery
		if every <= 0 {
			every = DefaultHeartbeatEvery
		}
		stop := hb.run(ctx, every)
		defer stop()
	}
	start := time.Now()
	res, err := recon.Reconcile(ctx, r.Engine, recon.Job{
		ReconciliationID: in.ReconciliationID,
		Statement:        body,
		Ours: func(ctx context.Context, after string, limit int) ([]recon.Record, error) {
			return r.ours(ctx, in, prev, after, limit)
		},
		Enrich: func(ctx context.Context, recs []recon.Record) error {
			return r.enrich(ctx, in, recs)
		},
		Lookup:    r.Store.ReconSides,
		Day:       day,
		CarryDays: r.carryDays(),
		Sink:      r.Store.InsertDifferences,
		Resume:    resume,
		Progress:  hb.set,
	})
	switch {
	case errors.Is(err, recon.ErrStatementFormat) || errors.Is(err, recon.ErrRecordOrder):
		log.WithError(err).Error("statement cannot be reconciled")
		return models.ReconcileStatementResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeStatementUnreadable, nil)
	case err != nil:
		// The statement's stream, the database or the disk failed: the retry resumes
		// from the last checkpoint.
		log.WithError(err).Warn("reconciliation interrupted")
		return models.ReconcileStatementResult{}, retryableError(models.ErrTypeInterrupted, err)
	}
	c := res.Counts
	log.WithFields(logrus.Fields{
		"statement_lines": c.StatementLines, "our_records": c.OurRecords, "matched": c.Matched, "differences": c.Differences(),
		"resumed": res.Resumed, "skipped_lines": res.SkippedLines, "chunks": res.Chunks, "duration_ms": time.Since(start).Milliseconds(),
	}).Info("statement reconciled")
	return models.ReconcileStatementResult{Counts: c, Resumed: res.Resumed, ResumedAfter: res.ResumedAfter, SkippedLines: res.SkippedLines}, nil
}

func (r *Reconciliation) carryDays() int {
	if r.CarryDays <= 0 {
		return recon.DefaultCarryDays
	}
	return r.CarryDays
}

// ours is one keyset page of our side of a run: the references our bank layer
// recorded on the channel that day, and the items the day before left in transit
// (prev's), merged in reference order (enrich adds our intent and the ledger).
func (r *Reconciliation) ours(ctx context.Context, in models.ReconcileStatementInput, prev, after string, limit int) ([]recon.Record, error) {
	ts, err := r.Store.ReferencesOfDay(ctx, in.Channel, in.Date, after, limit)
	if err != nil {
		return nil, err
	}
	carried, err := r.Store.CarriedItems(ctx, prev, after, limit)
	if err != nil {
		return nil, err
	}
	// Merge the two sorted pages, and keep the first limit references: the next
	// page starts after the last one kept, so nothing is lost or read twice.
	recs := make([]recon.Record, 0, min(limit, len(ts)+len(carried)))
	i, j := 0, 0
	for len(recs) < limit && (i < len(ts) || j < len(carried)) {
		switch {
		case j == len(carried) || (i < len(ts) && ts[i] < carried[j].Reference):
			recs = append(recs, recon.Record{Reference: ts[i]})
			i++
		case i == len(ts) || carried[j].Reference < ts[i]:
			recs = append(recs, carriedRecord(carried[j]))
			j++
		default: // recorded today and carried: the carried item, with today's record
			recs = append(recs, carriedRecord(carried[j]))
			i++
			j++
		}
	}
	return recs, nil
}

// enrich fills in a page's intents and ledger (the engine enriches several pages
// at once while it reads the next): one query per kind of reference in the page,
// joined in the database (store.EnrichReconPage).
func (r *Reconciliation) enrich(ctx context.Context, in models.ReconcileStatementInput, recs []recon.Record) error {
	return r.Store.EnrichReconPage(ctx, in.Channel, in.Date, recs)
}

func carriedRecord(c store.CarriedItem) recon.Record {
	rec := recon.Record{Reference: c.Reference, Carried: &recon.Carried{Since: c.Since}}
	if b := c.Bank; b != nil {
		rec.Carried.Bank = &recon.Line{Reference: c.Reference, Kind: b.Kind, Amount: b.Amount, Currency: b.Currency, Status: b.Status, No: c.Line}
	}
	return rec
}

// heartbeat holds the pass's latest checkpoint and heartbeats it on its own
// goroutine, so that a slow step (a page of records, a chunk to sort) never makes the
// activity look dead, and the server always has the latest durable position.
type heartbeat struct {
	mu sync.Mutex
	cp recon.Checkpoint
}

func (h *heartbeat) set(cp recon.Checkpoint) {
	h.mu.Lock()
	h.cp = cp
	h.mu.Unlock()
}

func (h *heartbeat) get() recon.Checkpoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cp
}

func (h *heartbeat) run(ctx context.Context, every time.Duration) (stop func()) {
	return heartbeatEvery(ctx, every, func() any { return h.get() })
}

// FinishReconciliation records the end of a run (once; a retry finds it recorded).
func (r *Reconciliation) FinishReconciliation(ctx context.Context, in models.FinishReconciliationInput) (models.FinishReconciliationResult, error) {
	recorded, err := r.Store.FinishReconciliation(ctx, in)
	if err != nil {
		return models.FinishReconciliationResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	if recorded {
		logger(ctx, r.Log).WithFields(logrus.Fields{"reconciliation_id": in.ReconciliationID, "status": in.Status}).Info("reconciliation finished")
		r.countDifferences(ctx, in)
	}
	return models.FinishReconciliationResult{Recorded: recorded}, nil
}

// countDifferences counts a run's differences by kind, once: only the call that
// recorded the run's end counts them. A run whose channel cannot be read is not
// counted (logged); the database keeps the differences all the same.
func (r *Reconciliation) countDifferences(ctx context.Context, in models.FinishReconciliationInput) {
	if r.Differences == nil || in.Counts.Differences() == 0 {
		return
	}
	rec, err := r.Store.Reconciliation(ctx, in.ReconciliationID)
	if err != nil {
		logger(ctx, r.Log).WithError(err).WithField("reconciliation_id", in.ReconciliationID).Warn("count the run's differences")
		return
	}
	for _, k := range models.DifferenceKinds {
		r.Differences.AddReconciliationDifferences(rec.Channel, string(k), int(in.Counts.Of(k)))
	}
}

// OpenReconciliation finds or creates the run of a channel and day and makes sure its
// workflow runs: what a channel's schedule does every day, and what the ops API does
// on request.
func (r *Reconciliation) OpenReconciliation(ctx context.Context, in models.OpenReconciliationInput) (models.OpenReconciliationResult, error) {
	if _, err := models.ParseDay(in.Date); err != nil {
		return models.OpenReconciliationResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeInvalidInput, nil)
	}
	if err := r.reconChannel(in.Channel); err != nil {
		return models.OpenReconciliationResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeInvalidInput, nil)
	}
	rec, created, err := r.Store.OpenReconciliation(ctx, store.OpenReconciliationRequest{
		ID: models.NewID(models.PrefixReconciliation), Channel: in.Channel, Day: in.Date, Rerun: in.Rerun,
	})
	if err != nil {
		return models.OpenReconciliationResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	if !rec.Status.Finished() {
		err := r.Starter.StartReconciliation(ctx, models.ReconciliationInput{ReconciliationID: rec.ID, Channel: rec.Channel, Date: rec.Date}, created)
		if err != nil {
			return models.OpenReconciliationResult{}, retryableError(models.ErrTypeTemporal, err)
		}
	}
	logger(ctx, r.Log).WithFields(logrus.Fields{"reconciliation_id": rec.ID, "channel": rec.Channel, "date": rec.Date, "created": created}).Info("reconciliation opened")
	return models.OpenReconciliationResult{ReconciliationID: rec.ID, Status: rec.Status, Created: created}, nil
}
