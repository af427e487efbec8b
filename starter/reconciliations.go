package starter

import (
	"context"
	"errors"
	"fmt"
	"strings"

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

// ReconciliationView is a run with its first differences and how many of its
// differences are open.
type ReconciliationView struct {
	models.Reconciliation
	// OpenDifferences counts the run's differences no operator has resolved
	// (in_transit items are not differences).
	OpenDifferences    int64               `json:"open_differences"`
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

// Get returns a run with its status, its counts (final, or so far while it runs),
// how many of its differences are open and its first differences; ErrNotFound.
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
	open, err := s.Store.OpenDifferencesOf(ctx, id)
	if err != nil {
		return ReconciliationView{}, err
	}
	rec.WorkflowID = workflows.ReconciliationWorkflowID(rec.Channel, rec.Date)
	return ReconciliationView{Reconciliation: rec, OpenDifferences: open, Differences: diffs, HasMoreDifferences: more}, nil
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

// ResolutionRefusedError is a resolution whose action does not fit the difference:
// the refund is not of the difference's payment or has not succeeded, the journal
// does not name the reference, the reference has no flow to retry. Nothing is
// stored.
type ResolutionRefusedError struct{ Reason string }

func (e *ResolutionRefusedError) Error() string { return e.Reason }

// ErrResolutionObjectNotFound is a resolution naming a refund or journal that does
// not exist.
var ErrResolutionObjectNotFound = errors.New("the refund or journal named does not exist")

// ResolveDifference closes a difference's follow-up with an operator's action and
// note: a resolution appended once, never an edit of the difference. The action's
// object is checked first (see checkResolution), so that a resolution says only
// what payflow can show. ErrNotFound, ErrDuplicate (already resolved),
// ErrResolutionObjectNotFound, *ResolutionRefusedError.
func (s *Reconciliations) ResolveDifference(ctx context.Context, reconciliationID, id string, r models.Resolution) (models.Difference, error) {
	d, err := s.Store.Difference(ctx, reconciliationID, id)
	if err != nil {
		return models.Difference{}, err
	}
	if d.Resolution != nil {
		return models.Difference{}, ErrDuplicate
	}
	if r.Action == "" {
		r.Action = models.ResolutionExplained
	}
	if r.ObjectID, err = s.checkResolution(ctx, d, r); err != nil {
		return models.Difference{}, err
	}
	return s.Store.ResolveDifference(ctx, reconciliationID, id, r)
}

// checkResolution checks the object of a resolution's action against the difference
// and returns the id to record with it:
//   - refunded: r.ObjectID is a succeeded refund of the payment the reference names
//     (the payment itself, or the charge of its reversal);
//   - journal: r.ObjectID is a ledger journal whose flow id is the reference or whose
//     description names it (payflow has no ops call that books a correcting
//     journal, so the journal is one booked by the flows or by hand);
//   - retried: the reference names an object whose flow exists; its workflow id is
//     recorded (the operator retried it with POST /v1/ops/flows/{id}/retry or reset
//     it in Temporal Web; resolving does not retry it again);
//   - explained: nothing to check, nothing recorded.
func (s *Reconciliations) checkResolution(ctx context.Context, d models.Difference, r models.Resolution) (string, error) {
	refuse := func(format string, a ...any) (string, error) {
		return "", &ResolutionRefusedError{Reason: fmt.Sprintf(format, a...)}
	}
	switch r.Action {
	case models.ResolutionExplained:
		return "", nil
	case models.ResolutionRefunded:
		payment, ok := referencedPayment(d.Reference)
		if !ok {
			return refuse("the difference's reference %q names no payment: a refund cannot answer it", d.Reference)
		}
		ref, err := s.Store.RefundByID(ctx, r.ObjectID)
		if err != nil {
			return "", notFoundAs(err, "load refund")
		}
		if ref.PaymentID != payment {
			return refuse("refund %s is of payment %s, not of %s", ref.ID, ref.PaymentID, payment)
		}
		if ref.Status != models.RefundSucceeded {
			return refuse("refund %s is %s; resolve once it has succeeded", ref.ID, ref.Status)
		}
		return ref.ID, nil
	case models.ResolutionJournal:
		j, err := s.Store.Journal(ctx, r.ObjectID)
		if err != nil {
			return "", notFoundAs(err, "load journal")
		}
		if d.Reference == "" || (j.FlowID != d.Reference && !strings.Contains(j.Description, d.Reference)) {
			return refuse("journal %s names neither in its flow id nor in its description the reference %q", j.ID, d.Reference)
		}
		return j.ID, nil
	case models.ResolutionRetried:
		flow, err := s.Store.FlowForReference(ctx, d.Reference)
		if errors.Is(err, store.ErrNotFound) {
			return refuse("the difference's reference %q names no object with a flow: there is nothing to retry", d.Reference)
		}
		if err != nil {
			return "", fmt.Errorf("find the reference's flow: %w", err)
		}
		return flow.WorkflowID, nil
	}
	return refuse("action must be one of %v", models.ResolutionActions)
}

// referencedPayment is the payment a bank reference names: a payment id, or the
// charge of a reversal (rev_<charge>, <charge>.reversal).
func referencedPayment(ref string) (string, bool) {
	if charge, ok := models.ReversedCharge(ref); ok {
		ref = charge
	}
	ref = strings.TrimSuffix(ref, ".reversal")
	return ref, models.ValidID(models.PrefixPayment, ref)
}

// notFoundAs answers ErrResolutionObjectNotFound for a missing object, and err
// wrapped with what was tried otherwise.
func notFoundAs(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return ErrResolutionObjectNotFound
	}
	return fmt.Errorf("%s: %w", what, err)
}
