package store

import (
	"context"
	"fmt"
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

// ReferencedFlow is the flow that owns a bank reference, and the channel its object
// is on.
type ReferencedFlow struct {
	WorkflowID string
	// Channel is the object's stored channel: a real channel, or auto while the
	// router has not recorded where the transfer went.
	Channel string
}

// FlowForReference returns the flow and channel of the object a bank reference
// names, or ErrNotFound.
func (s *Store) FlowForReference(ctx context.Context, ref string) (ReferencedFlow, error) {
	row, err := s.objectForReference(ctx, ref)
	return ReferencedFlow{WorkflowID: row.WorkflowID, Channel: row.Channel}, err
}

type referencedObject struct {
	WorkflowID string
	MerchantID string
	Channel    string
}

func (s *Store) objectForReference(ctx context.Context, ref string) (referencedObject, error) {
	// A compensation's reference belongs to its charge's flow: rev_<charge>, or
	// <charge>.reversal in flows started before rev_ references.
	if charge, ok := reversedCharge(ref); ok {
		ref = charge
	}
	table := objectTable(ref)
	if table == "" {
		return referencedObject{}, fmt.Errorf("reference %s: %w", ref, ErrNotFound)
	}
	var row referencedObject
	if err := s.db.WithContext(ctx).Table(table).Select("workflow_id", "merchant_id", "channel").Where("id = ?", ref).Take(&row).Error; err != nil {
		return referencedObject{}, fmt.Errorf("reference %s: %w", ref, translate(err))
	}
	return row, nil
}
