package store

import (
	"context"
	"fmt"
)

// JournalHeader is what a journal says of itself: the flow that booked it and its
// description (its entries are the ledger's).
type JournalHeader struct {
	ID          string
	Flow        string
	FlowID      string
	Description string
}

// Journal returns the header of a ledger journal, or ErrNotFound.
func (s *Store) Journal(ctx context.Context, id string) (JournalHeader, error) {
	var row JournalHeader
	err := s.db.WithContext(ctx).Table("journals").Select("id", "flow", "flow_id", "description").Where("id = ?", id).Take(&row).Error
	if err != nil {
		return JournalHeader{}, fmt.Errorf("journal %s: %w", id, translate(err))
	}
	return row, nil
}
