package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"github.com/payflow/payflow/models"
)

type differenceRow struct {
	ID               string `gorm:"primaryKey"`
	ReconciliationID string
	Kind             string
	Reference        string
	Line             int64
	HasOurs          int
	OursKind         string
	OursAmount       int64
	OursCurrency     string
	OursStatus       string
	HasBank          int
	BankKind         string
	BankAmount       int64
	BankCurrency     string
	BankStatus       string
	HasLedger        int
	LedgerAmount     int64
	LedgerCurrency   string
	LedgerStatus     string
	Since            string
	Raw              string
	CreatedAt        time.Time
}

func (differenceRow) TableName() string { return "reconciliation_differences" }

type resolutionRow struct {
	DifferenceID     string `gorm:"primaryKey"`
	ReconciliationID string
	Action           string
	ObjectID         string
	Note             string
	Operator         string
	CreatedAt        time.Time
}

func (resolutionRow) TableName() string { return "reconciliation_resolutions" }

// Column widths of reconciliation_differences: a statement is the bank's text, so
// whatever it holds is cut to fit rather than refused.
const (
	maxDiffReference = 255
	maxDiffField     = 16
	maxDiffRaw       = 1000
	// maxResolutionObject is the width of reconciliation_resolutions.object_id.
	maxResolutionObject = 255
)

func differenceRowOf(d models.Difference, now time.Time) differenceRow {
	r := differenceRow{
		ID: d.ID, ReconciliationID: d.ReconciliationID, Kind: string(d.Kind),
		Reference: truncate(d.Reference, maxDiffReference), Line: d.Line,
		Raw: truncate(d.Raw, maxDiffRaw), Since: d.Since, CreatedAt: now,
	}
	if r.ID == "" {
		r.ID = models.NewID(models.PrefixDifference)
	}
	if o := d.Ours; o != nil {
		r.HasOurs, r.OursKind, r.OursAmount = 1, truncate(o.Kind, maxDiffField), o.Amount
		r.OursCurrency, r.OursStatus = truncate(o.Currency, maxDiffField), truncate(o.Status, maxDiffField)
	}
	if b := d.Bank; b != nil {
		r.HasBank, r.BankKind, r.BankAmount = 1, truncate(b.Kind, maxDiffField), b.Amount
		r.BankCurrency, r.BankStatus = truncate(b.Currency, maxDiffField), truncate(b.Status, maxDiffField)
	}
	if l := d.Ledger; l != nil {
		r.HasLedger, r.LedgerAmount = 1, l.Amount
		r.LedgerCurrency, r.LedgerStatus = truncate(l.Currency, maxDiffField), truncate(l.Status, maxDiffField)
	}
	return r
}

func (r differenceRow) model() models.Difference {
	d := models.Difference{
		ID: r.ID, Object: "reconciliation_difference", ReconciliationID: r.ReconciliationID,
		Reference: r.Reference, Kind: models.DifferenceKind(r.Kind), Line: r.Line, Raw: r.Raw,
		Since: r.Since, CreatedAt: r.CreatedAt.UTC(),
	}
	if r.HasOurs == 1 {
		d.Ours = &models.DifferenceSide{Kind: r.OursKind, Amount: r.OursAmount, Currency: r.OursCurrency, Status: r.OursStatus}
	}
	if r.HasBank == 1 {
		d.Bank = &models.DifferenceSide{Kind: r.BankKind, Amount: r.BankAmount, Currency: r.BankCurrency, Status: r.BankStatus}
	}
	if r.HasLedger == 1 {
		d.Ledger = &models.DifferenceSide{Kind: models.LedgerSideKind, Amount: r.LedgerAmount, Currency: r.LedgerCurrency, Status: r.LedgerStatus}
	}
	return d
}

// differenceBatch is the rows per INSERT statement.
const differenceBatch = 500

// InsertDifferences appends differences found by a run. A difference already stored
// (same run, kind, reference and line) is skipped, so that a run resumed after a
// crash, which finds again what it had stored, stores nothing twice.
func (s *Store) InsertDifferences(ctx context.Context, diffs []models.Difference) error {
	if len(diffs) == 0 {
		return nil
	}
	now := time.Now().UTC()
	rows := make([]differenceRow, len(diffs))
	for i, d := range diffs {
		rows[i] = differenceRowOf(d, now)
	}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(rows, differenceBatch).Error
	if err != nil {
		return fmt.Errorf("insert %d differences: %w", len(rows), err)
	}
	return nil
}

// DifferenceQuery selects a page of a run's differences, in the order they were
// found.
type DifferenceQuery struct {
	ReconciliationID string
	Limit            int
	StartingAfter    string
}

// ListDifferences returns up to q.Limit differences after q.StartingAfter, oldest
// first, with their resolutions, and whether more follow.
func (s *Store) ListDifferences(ctx context.Context, q DifferenceQuery) ([]models.Difference, bool, error) {
	tx := s.db.WithContext(ctx).Where("reconciliation_id = ?", q.ReconciliationID)
	if q.StartingAfter != "" {
		tx = tx.Where("id > ?", q.StartingAfter)
	}
	out, more, err := pageModels[differenceRow](tx, "id", q.Limit, "list differences of "+q.ReconciliationID)
	if err != nil {
		return nil, false, err
	}
	ids := make([]string, len(out))
	for i, d := range out {
		ids[i] = d.ID
	}
	if len(ids) == 0 {
		return out, more, nil
	}
	var res []resolutionRow
	if err := s.db.WithContext(ctx).Where("difference_id IN ?", ids).Find(&res).Error; err != nil {
		return nil, false, fmt.Errorf("resolutions of %s: %w", q.ReconciliationID, err)
	}
	byID := make(map[string]*models.Resolution, len(res))
	for _, r := range res {
		byID[r.DifferenceID] = r.model()
	}
	for i := range out {
		out[i].Resolution = byID[out[i].ID]
	}
	return out, more, nil
}

func (r resolutionRow) model() *models.Resolution {
	return &models.Resolution{Action: r.Action, ObjectID: r.ObjectID, Note: r.Note, Operator: r.Operator, ResolvedAt: r.CreatedAt.UTC()}
}

// Difference returns one difference of a run with its resolution; ErrNotFound (also
// when it belongs to another run).
func (s *Store) Difference(ctx context.Context, reconciliationID, id string) (models.Difference, error) {
	d, err := takeModel[differenceRow](s.db.WithContext(ctx).Where("id = ? AND reconciliation_id = ?", id, reconciliationID), "difference", id)
	if err != nil {
		return models.Difference{}, err
	}
	var res resolutionRow
	err = s.db.WithContext(ctx).Where("difference_id = ?", id).Take(&res).Error
	switch {
	case err == nil:
		d.Resolution = res.model()
	case !errors.Is(translate(err), ErrNotFound):
		return models.Difference{}, fmt.Errorf("resolution of %s: %w", id, err)
	}
	return d, nil
}

// ResolveDifference appends the resolution of a difference's follow-up and returns
// the difference with it. ErrNotFound for a difference the run does not have;
// ErrDuplicate when it is already resolved (the first resolution stands).
func (s *Store) ResolveDifference(ctx context.Context, reconciliationID, id string, r models.Resolution) (models.Difference, error) {
	if _, err := s.Difference(ctx, reconciliationID, id); err != nil {
		return models.Difference{}, err
	}
	if r.Action == "" {
		r.Action = models.ResolutionExplained
	}
	row := resolutionRow{
		DifferenceID: id, ReconciliationID: reconciliationID, Action: r.Action, ObjectID: truncate(r.ObjectID, maxResolutionObject), Note: r.Note,
		Operator: r.Operator, CreatedAt: time.Now().UTC(),
	}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return models.Difference{}, fmt.Errorf("resolve difference %s: %w", id, translate(err))
	}
	return s.Difference(ctx, reconciliationID, id)
}

// OpenDifferences counts the differences no operator has resolved, by channel, over
// every run (in_transit items are not differences and are not counted): each
// channel with a difference on record is in the answer, at 0 once all of its
// differences are resolved. It reads every difference (a background count, never
// one per request or scrape).
func (s *Store) OpenDifferences(ctx context.Context) (map[string]int64, error) {
	return s.openDifferences(ctx, time.Time{})
}

// OpenDifferencesOlderThan counts, like OpenDifferences, the unresolved differences
// stored before cutoff (their created time), by channel: each channel with a
// difference on record is in the answer, at 0 when none of its open ones is that
// old.
func (s *Store) OpenDifferencesOlderThan(ctx context.Context, cutoff time.Time) (map[string]int64, error) {
	return s.openDifferences(ctx, cutoff.UTC())
}

// openDifferences counts the open differences by channel, those stored before
// cutoff only unless it is zero.
func (s *Store) openDifferences(ctx context.Context, cutoff time.Time) (map[string]int64, error) {
	var rows []struct {
		Channel string
		Open    int64
	}
	open := "CASE WHEN x.difference_id IS NULL THEN 1 ELSE 0 END"
	args := []any{}
	if !cutoff.IsZero() {
		open = "CASE WHEN x.difference_id IS NULL AND d.created_at < ? THEN 1 ELSE 0 END"
		args = append(args, cutoff)
	}
	err := s.db.WithContext(ctx).Table("reconciliation_differences AS d").
		Select("r.channel AS channel, SUM("+open+") AS open", args...).
		Joins("JOIN reconciliations AS r ON r.id = d.reconciliation_id").
		Joins("LEFT JOIN reconciliation_resolutions AS x ON x.difference_id = d.id").
		Where("d.kind <> ?", string(models.DiffInTransit)).
		Group("r.channel").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("count open differences: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Channel] = r.Open
	}
	return out, nil
}

// OpenDifferencesOf counts the differences of one run that no operator has resolved
// (in_transit items are not differences and are not counted).
func (s *Store) OpenDifferencesOf(ctx context.Context, reconciliationID string) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Table("reconciliation_differences AS d").
		Joins("LEFT JOIN reconciliation_resolutions AS x ON x.difference_id = d.id").
		Where("d.reconciliation_id = ? AND d.kind <> ? AND x.difference_id IS NULL", reconciliationID, string(models.DiffInTransit)).
		Count(&n).Error
	if err != nil {
		return 0, fmt.Errorf("count open differences of %s: %w", reconciliationID, err)
	}
	return n, nil
}
