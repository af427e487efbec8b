package starter

import (
	"context"
	"errors"
	"fmt"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// ReconciliationFlows starts reconciliation runs' flows (the Starter).
type ReconciliationFlows interface {
	// StartReconciliation starts the run's workflow or finds it running.
	StartReconciliation(ctx context.Context, in models.ReconciliationInput, fresh bool) error
}

// Reconciliations is the reconciliations service: runs of a channel's day, their
// differences and the operators' resolutions.
type Reconciliations struct {
	Deps
	Flows ReconciliationFlows
}

// FirstDifferences is how many differences Get answers with a run.
const FirstDifferences = 100

// ReconciliationView is a run with its first differences.
type ReconciliationView struct {
	models.Reconciliation
	Differences        []models.Difference `json:"differences"`
	HasMoreDifferences bool                `json:"has_more_differences"`
}

// DifferenceQuery selects a page of a run's differences.
type DifferenceQuery = store.DifferenceQuery

// OpenReconciliation is an operator's request for a channel's day.
type OpenReconciliation struct {
	Channel string
	Date    string
	// Rerun asks for a new run once the latest has finished.
	Rerun bool
}

// Open opens the run of a channel and day: the existing one, or a new one (created),
// which is the first of the day or, with Rerun, the next once the latest has
// finished. A run whose flow is not going is started, on every request for an open
// run, so that a first request that stored the run but lost Temporal is completed by
// its retry (*NotStartedError until then).
func (s *Reconciliations) Open(ctx context.Context, req OpenReconciliation) (models.Reconciliation, bool, error) {
	rec, created, err := s.Store.OpenReconciliation(ctx, store.OpenReconciliationRequest{
		ID: models.NewID(models.PrefixReconciliation), Channel: req.Channel, Day: req.Date, Rerun: req.Rerun,
	})
	if err != nil {
		return models.Reconciliation{}, false, fmt.Errorf("open reconciliation: %w", err)
	}
	if !rec.Status.Finished() {
		err := s.Flows.StartReconciliation(ctx, models.ReconciliationInput{ReconciliationID: rec.ID, Channel: rec.Channel, Date: rec.Date}, created)
		if err != nil {
			return rec, created, &NotStartedError{Kind: "reconciliation", ObjectID: rec.ID, Err: err}
		}
	}
	rec.WorkflowID = workflows.ReconciliationWorkflowID(rec.Channel, rec.Date)
	return rec, created, nil
}

// Get returns a run with its status, its counts (final, or so far while it runs) and
// its first differences; ErrNotFound.
func (s *Reconciliations) Get(ctx context.Context, id string) (ReconciliationView, error) {
	rec, err := s.Store.Reconciliation(ctx, id)
	if err != nil {
		return ReconciliationView{}, err
	}
	diffs, more, err := s.Store.ListDifferences(ctx, store.DifferenceQuery{ReconciliationID: id, Limit: FirstDifferences})
	if err != nil {
		return ReconciliationView{}, fmt.Errorf("list differences: %w", err)
	}
	if diffs == nil {
		diffs = []models.Difference{}
	}
	rec.WorkflowID = workflows.ReconciliationWorkflowID(rec.Channel, rec.Date)
	return ReconciliationView{Reconciliation: rec, Differences: diffs, HasMoreDifferences: more}, nil
}

// ListDifferences pages through a run's differences in the order found;
// ErrNotFound for no such run, ErrUnknownCursor.
func (s *Reconciliations) ListDifferences(ctx context.Context, q DifferenceQuery) ([]models.Difference, bool, error) {
	if _, err := s.Store.Reconciliation(ctx, q.ReconciliationID); err != nil {
		return nil, false, err
	}
	if q.StartingAfter != "" {
		if _, err := s.Store.Difference(ctx, q.ReconciliationID, q.StartingAfter); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, false, ErrUnknownCursor
			}
			return nil, false, fmt.Errorf("check starting_after: %w", err)
		}
	}
	diffs, more, err := s.Store.ListDifferences(ctx, q)
	if err != nil {
		return nil, false, fmt.Errorf("list differences: %w", err)
	}
	if diffs == nil {
		diffs = []models.Difference{}
	}
	return diffs, more, nil
}

// ResolveDifference closes a difference's follow-up with an operator's note: a
// resolution appended once, never an edit of the difference; ErrNotFound,
// ErrDuplicate (already resolved).
func (s *Reconciliations) ResolveDifference(ctx context.Context, reconciliationID, id string, r models.Resolution) (models.Difference, error) {
	return s.Store.ResolveDifference(ctx, reconciliationID, id, r)
}
