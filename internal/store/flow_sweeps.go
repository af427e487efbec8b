package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/payflow/payflow/models"
)

// SweepMark is how far the flow sweeper has gone in one kind of object: every object
// of the kind up to (CreatedAt, ID), in (created_at, id) order, was swept. The zero
// mark is the start: nothing was swept yet.
type SweepMark struct {
	CreatedAt time.Time `json:"created_at"`
	ID        string    `json:"id"`
}

// IsZero reports whether the mark is the start.
func (m SweepMark) IsZero() bool { return m.ID == "" && m.CreatedAt.IsZero() }

type flowSweepRow struct {
	Flow          string `gorm:"primaryKey"`
	LastCreatedAt time.Time
	LastID        string
	UpdatedAt     time.Time
}

func (flowSweepRow) TableName() string { return "flow_sweeps" }

// SweepMark returns the sweeper's mark for a kind of object (the zero mark when it
// has swept none yet).
func (s *Store) SweepMark(ctx context.Context, flow models.Flow) (SweepMark, error) {
	var row flowSweepRow
	err := s.db.WithContext(ctx).Where("flow = ?", string(flow)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return SweepMark{}, nil
	}
	if err != nil {
		return SweepMark{}, fmt.Errorf("sweep mark of %s: %w", flow, translate(err))
	}
	return SweepMark{CreatedAt: row.LastCreatedAt.UTC(), ID: row.LastID}, nil
}

// AdvanceSweepMark records m as the mark of a kind of object when it is past the
// recorded one. A mark never moves back, so that a slow sweep that finishes after a
// later one cannot make the next sweep read again what was swept.
func (s *Store) AdvanceSweepMark(ctx context.Context, flow models.Flow, m SweepMark) error {
	at, now := m.CreatedAt.UTC(), time.Now().UTC()
	db := s.db.WithContext(ctx)
	res := db.Exec(`UPDATE flow_sweeps SET last_created_at = ?, last_id = ?, updated_at = ?
		WHERE flow = ? AND (last_created_at < ? OR (last_created_at = ? AND last_id < ?))`,
		at, m.ID, now, string(flow), at, at, m.ID)
	if res.Error != nil {
		return fmt.Errorf("advance sweep mark of %s: %w", flow, translate(res.Error))
	}
	if res.RowsAffected > 0 {
		return nil
	}
	// No row moved: there is none yet (the first sweep), or it is already at or past m,
	// which the insert, refused by the primary key, leaves as it is.
	row := flowSweepRow{Flow: string(flow), LastCreatedAt: at, LastID: m.ID, UpdatedAt: now}
	if err := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("advance sweep mark of %s: %w", flow, translate(err))
	}
	return nil
}

// SweepPage selects the objects of one kind a sweep takes next: still processing (the
// status an object is created in and keeps until its flow moves it, so an object
// without a flow is always in it), after the mark and created before Before, the
// first Limit in (created_at, id) order.
type SweepPage struct {
	After  SweepMark
	Before time.Time
	Limit  int
}

// sweepPage reads one page of rows of type R (the table of its TableName) as p
// selects them: one range scan of the table's (status, created_at, id) index.
// Scopes narrow the rows further (one kind of a table that holds several).
func sweepPage[R modelRow[M], M any](ctx context.Context, db *DB, kind string, processing string, p SweepPage, scopes ...func(*gorm.DB) *gorm.DB) ([]M, error) {
	q := db.WithContext(ctx).Scopes(scopes...).Where("status = ? AND created_at < ?", processing, p.Before.UTC())
	if !p.After.IsZero() {
		at := p.After.CreatedAt.UTC()
		// The first condition bounds the index range; the second drops what the
		// mark already covers at its own time.
		q = q.Where("created_at >= ? AND (created_at > ? OR id > ?)", at, at, p.After.ID)
	}
	var rows []R
	if err := q.Order("created_at, id").Limit(p.Limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("%s to sweep: %w", kind, translate(err))
	}
	return modelsOf(rows), nil
}

// PaymentsToSweep returns the payments p selects (see SweepPage).
func (s *Store) PaymentsToSweep(ctx context.Context, p SweepPage) ([]models.Payment, error) {
	return sweepPage[paymentRow](ctx, s.db, "payments", string(models.PaymentProcessing), p)
}

// RefundsToSweep returns the refunds p selects (see SweepPage).
func (s *Store) RefundsToSweep(ctx context.Context, p SweepPage) ([]models.Refund, error) {
	return sweepPage[refundRow](ctx, s.db, "refunds", string(models.RefundProcessing), p)
}

// TopupsToSweep returns the top-ups p selects (see SweepPage).
func (s *Store) TopupsToSweep(ctx context.Context, p SweepPage) ([]models.Topup, error) {
	return sweepPage[topupRow](ctx, s.db, "top-ups", string(models.TopupProcessing), p)
}

// WithdrawalsToSweep returns the withdrawals p selects (see SweepPage).
func (s *Store) WithdrawalsToSweep(ctx context.Context, p SweepPage) ([]models.Withdrawal, error) {
	return sweepPage[withdrawalRow](ctx, s.db, "withdrawals", string(models.WithdrawalProcessing), p)
}
