package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/payflow/payflow/models"
)

// WorkflowIDForReference returns the workflow id of the object a bank reference
// names (a payment id, later a refund or withdrawal id), or ErrNotFound.
func (s *Store) WorkflowIDForReference(ctx context.Context, ref string) (string, error) {
	var table string
	switch {
	case strings.HasPrefix(ref, models.PrefixPayment):
		table = "payments"
	case strings.HasPrefix(ref, models.PrefixTopup):
		table = "topups"
	default:
		return "", fmt.Errorf("reference %s: %w", ref, ErrNotFound)
	}
	var row struct{ WorkflowID string }
	if err := s.db.WithContext(ctx).Table(table).Select("workflow_id").Where("id = ?", ref).Take(&row).Error; err != nil {
		return "", fmt.Errorf("reference %s: %w", ref, translate(err))
	}
	return row.WorkflowID, nil
}
