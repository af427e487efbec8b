package store

import (
	"context"
	"fmt"
	"time"

	"github.com/payflow/payflow/models"
)

type auditRow struct {
	ID        string `gorm:"primaryKey"`
	Operator  string
	Action    string
	Target    string
	Reason    string
	Result    string
	Detail    string
	CreatedAt time.Time
}

func (auditRow) TableName() string { return "audit_log" }

// Audit appends an operator act to the audit log.
func (s *Store) Audit(ctx context.Context, e models.AuditEntry) (models.AuditEntry, error) {
	if e.ID == "" {
		e.ID = models.NewID(models.PrefixAudit)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now().UTC()
	}
	row := auditRow{ID: e.ID, Operator: e.Operator, Action: e.Action, Target: e.Target, Reason: truncateText(e.Reason, 1000),
		Result: e.Result, Detail: truncateText(e.Detail, 1000), CreatedAt: e.CreatedAt.UTC()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return e, fmt.Errorf("audit %s %s: %w", e.Action, e.Target, translate(err))
	}
	return e, nil
}

// AuditLog lists the audit log newest first, optionally for one target.
func (s *Store) AuditLog(ctx context.Context, target string, limit int, startingAfter string) ([]models.AuditEntry, bool, error) {
	q := s.db.WithContext(ctx).Model(&auditRow{})
	if target != "" {
		q = q.Where("target = ?", target)
	}
	if startingAfter != "" {
		q = q.Where("id < ?", startingAfter)
	}
	var rows []auditRow
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, false, fmt.Errorf("audit log: %w", translate(err))
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	out := make([]models.AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = models.AuditEntry{ID: r.ID, Operator: r.Operator, Action: r.Action, Target: r.Target, Reason: r.Reason,
			Result: r.Result, Detail: r.Detail, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, more, nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
