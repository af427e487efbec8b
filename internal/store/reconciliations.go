package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/payflow/payflow/models"
)

type reconciliationRow struct {
	ID        string `gorm:"primaryKey"`
	Channel   string
	Day       string
	Attempt   int
	CreatedAt time.Time
}

func (reconciliationRow) TableName() string { return "reconciliations" }

type reconciliationResultRow struct {
	ReconciliationID   string `gorm:"primaryKey"`
	Status             string
	StatementLines     int64
	OurRecords         int64
	Matched            int64
	MissingOnOurSide   int64
	MissingAtBank      int64
	AmountMismatch     int64
	CurrencyMismatch   int64
	StatusMismatch     int64
	NotBooked          int64
	Malformed          int64
	UnknownCurrency    int64
	DuplicateReference int64
	BalanceGap         int64
	InTransit          int64
	Error              string
	CreatedAt          time.Time
}

func (reconciliationResultRow) TableName() string { return "reconciliation_results" }

func (r reconciliationResultRow) counts() models.ReconciliationCounts {
	return models.ReconciliationCounts{
		StatementLines: r.StatementLines, OurRecords: r.OurRecords, Matched: r.Matched,
		MissingOnOurSide: r.MissingOnOurSide, MissingAtBank: r.MissingAtBank,
		AmountMismatch: r.AmountMismatch, CurrencyMismatch: r.CurrencyMismatch, StatusMismatch: r.StatusMismatch,
		NotBooked: r.NotBooked, Malformed: r.Malformed, UnknownCurrency: r.UnknownCurrency,
		DuplicateReference: r.DuplicateReference, BalanceGap: r.BalanceGap, InTransit: r.InTransit,
	}
}

// OpenReconciliationRequest asks for the run of a channel and day. ID is the id a new
// run gets; Rerun asks for a new run when the latest one has finished.
type OpenReconciliationRequest struct {
	ID      string
	Channel string
	Day     string
	Rerun   bool
}

// OpenReconciliation returns the latest run of the channel and day, or creates the
// first one, or (Rerun, and the latest has finished) the next attempt. created says
// whether this call created it. Of two concurrent calls, one creates and the other
// gets that run: the unique (channel, day, attempt) key decides.
func (s *Store) OpenReconciliation(ctx context.Context, req OpenReconciliationRequest) (models.Reconciliation, bool, error) {
	latest, err := s.latestReconciliation(ctx, req.Channel, req.Day)
	switch {
	case err == nil:
		if !req.Rerun || !latest.Status.Finished() {
			return latest, false, nil
		}
	case !errors.Is(err, ErrNotFound):
		return models.Reconciliation{}, false, err
	}
	row := reconciliationRow{ID: req.ID, Channel: req.Channel, Day: req.Day, Attempt: latest.Attempt + 1, CreatedAt: time.Now().UTC()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		if errors.Is(translate(err), ErrDuplicate) {
			winner, err := s.latestReconciliation(ctx, req.Channel, req.Day)
			return winner, false, err
		}
		return models.Reconciliation{}, false, fmt.Errorf("create reconciliation of %s %s: %w", req.Channel, req.Day, err)
	}
	rec, err := s.reconciliationModel(ctx, row)
	return rec, true, err
}

func (s *Store) latestReconciliation(ctx context.Context, channel, day string) (models.Reconciliation, error) {
	var row reconciliationRow
	err := s.db.WithContext(ctx).Where("channel = ? AND day = ?", channel, day).Order("attempt DESC").Take(&row).Error
	if err != nil {
		return models.Reconciliation{}, fmt.Errorf("latest reconciliation of %s %s: %w", channel, day, translate(err))
	}
	return s.reconciliationModel(ctx, row)
}

// Reconciliation returns a run with its status and counts: those it recorded at its
// end, or, while it runs, the differences stored so far. ErrNotFound.
func (s *Store) Reconciliation(ctx context.Context, id string) (models.Reconciliation, error) {
	var row reconciliationRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return models.Reconciliation{}, fmt.Errorf("reconciliation %s: %w", id, translate(err))
	}
	return s.reconciliationModel(ctx, row)
}

func (s *Store) reconciliationModel(ctx context.Context, row reconciliationRow) (models.Reconciliation, error) {
	rec := models.Reconciliation{
		ID: row.ID, Object: "reconciliation", Channel: row.Channel, Date: row.Day, Attempt: row.Attempt,
		Status: models.ReconciliationRunning, CreatedAt: row.CreatedAt.UTC(),
	}
	var res reconciliationResultRow
	err := s.db.WithContext(ctx).Where("reconciliation_id = ?", row.ID).Take(&res).Error
	switch {
	case err == nil:
		rec.Status = models.ReconciliationStatus(res.Status)
		rec.Counts = res.counts()
		rec.Error = res.Error
		finished := res.CreatedAt.UTC()
		rec.FinishedAt = &finished
		return rec, nil
	case !errors.Is(translate(err), ErrNotFound):
		return models.Reconciliation{}, fmt.Errorf("result of reconciliation %s: %w", row.ID, err)
	}
	var tally []struct {
		Kind string
		N    int64
	}
	err = s.db.WithContext(ctx).Model(&differenceRow{}).Select("kind, COUNT(*) AS n").
		Where("reconciliation_id = ?", row.ID).Group("kind").Scan(&tally).Error
	if err != nil {
		return models.Reconciliation{}, fmt.Errorf("count differences of %s: %w", row.ID, err)
	}
	for _, t := range tally {
		rec.Counts.SetDifferences(models.DifferenceKind(t.Kind), t.N)
	}
	return rec, nil
}

// FinishReconciliation records the end of a run. Recording it again is a no-op that
// returns false (the first end stands), so that a retried activity is harmless.
func (s *Store) FinishReconciliation(ctx context.Context, in models.FinishReconciliationInput) (bool, error) {
	if !in.Status.Finished() {
		return false, fmt.Errorf("finish reconciliation %s: status %q is not an end", in.ReconciliationID, in.Status)
	}
	c := in.Counts
	row := reconciliationResultRow{
		ReconciliationID: in.ReconciliationID, Status: string(in.Status),
		StatementLines: c.StatementLines, OurRecords: c.OurRecords, Matched: c.Matched,
		MissingOnOurSide: c.MissingOnOurSide, MissingAtBank: c.MissingAtBank,
		AmountMismatch: c.AmountMismatch, CurrencyMismatch: c.CurrencyMismatch, StatusMismatch: c.StatusMismatch,
		NotBooked: c.NotBooked, Malformed: c.Malformed, UnknownCurrency: c.UnknownCurrency,
		DuplicateReference: c.DuplicateReference, BalanceGap: c.BalanceGap, InTransit: c.InTransit,
		Error: truncate(in.Error, 1000), CreatedAt: time.Now().UTC(),
	}
	err := s.db.WithContext(ctx).Create(&row).Error
	switch {
	case err == nil:
		return true, nil
	case errors.Is(translate(err), ErrDuplicate):
		return false, nil
	}
	return false, fmt.Errorf("finish reconciliation %s: %w", in.ReconciliationID, err)
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
