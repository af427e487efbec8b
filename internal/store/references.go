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
	row, err := s.objectForReference(ctx, ref)
	return row.WorkflowID, err
}

// MerchantForReference returns the merchant of the object a bank reference names.
func (s *Store) MerchantForReference(ctx context.Context, ref string) (string, error) {
	row, err := s.objectForReference(ctx, ref)
	return row.MerchantID, err
}

type referencedObject struct {
	WorkflowID string
	MerchantID string
}

func (s *Store) objectForReference(ctx context.Context, ref string) (referencedObject, error) {
	// A compensation's reference (pay_....reversal) belongs to its charge's flow.
	ref = strings.TrimSuffix(ref, ".reversal")
	var table string
	switch {
	case strings.HasPrefix(ref, models.PrefixPayment):
		table = "payments"
	case strings.HasPrefix(ref, models.PrefixTopup):
		table = "topups"
	case strings.HasPrefix(ref, models.PrefixRefund):
		table = "refunds"
	case strings.HasPrefix(ref, models.PrefixWithdrawal):
		table = "withdrawals"
	default:
		return referencedObject{}, fmt.Errorf("reference %s: %w", ref, ErrNotFound)
	}
	var row referencedObject
	if err := s.db.WithContext(ctx).Table(table).Select("workflow_id", "merchant_id").Where("id = ?", ref).Take(&row).Error; err != nil {
		return referencedObject{}, fmt.Errorf("reference %s: %w", ref, translate(err))
	}
	return row, nil
}
