package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// maintenanceRow is one value the worker's background schedules keep between runs.
type maintenanceRow struct {
	Name      string `gorm:"primaryKey"`
	Value     int64
	UpdatedAt time.Time `gorm:"autoUpdateTime:false"` // when it was counted, not written
}

func (maintenanceRow) TableName() string { return "maintenance_state" }

// webhookBacklogName names the stored webhook backlog.
const webhookBacklogName = "webhook_backlog"

// RecordWebhookBacklog stores the webhook backlog the measure schedule counted at at:
// what payflow_webhook_backlog shows until the next count.
func (s *Store) RecordWebhookBacklog(ctx context.Context, n int64, at time.Time) error {
	if err := setMaintenanceValue(s.db.WithContext(ctx), webhookBacklogName, n, at); err != nil {
		return fmt.Errorf("record webhook backlog: %w", err)
	}
	return nil
}

// StoredWebhookBacklog is the last webhook backlog the measure schedule counted, and
// when; ok is false before the first count. It reads one row by its key, whatever
// the size of the events table.
func (s *Store) StoredWebhookBacklog(ctx context.Context) (n int64, at time.Time, ok bool, err error) {
	n, at, ok, err = s.maintenanceValue(ctx, webhookBacklogName)
	if err != nil {
		return 0, time.Time{}, false, fmt.Errorf("stored webhook backlog: %w", err)
	}
	return n, at, ok, nil
}

func (s *Store) maintenanceValue(ctx context.Context, name string) (int64, time.Time, bool, error) {
	var row maintenanceRow
	err := s.db.WithContext(ctx).Where("name = ?", name).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, time.Time{}, false, nil
	}
	if err != nil {
		return 0, time.Time{}, false, translate(err)
	}
	return row.Value, row.UpdatedAt.UTC(), true, nil
}

func setMaintenanceValue(tx *gorm.DB, name string, value int64, at time.Time) error {
	row := maintenanceRow{Name: name, Value: value, UpdatedAt: at.UTC().Truncate(time.Microsecond)}
	return translate(tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&row).Error)
}
