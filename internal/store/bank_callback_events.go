package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrCallbackEventSeen reports a bank callback event id already delivered on its
// channel.
var ErrCallbackEventSeen = errors.New("bank callback event already delivered")

type bankCallbackEventRow struct {
	Channel    string `gorm:"primaryKey"`
	EventID    string `gorm:"primaryKey"`
	Reference  string
	ReceivedAt time.Time
}

func (bankCallbackEventRow) TableName() string { return "bank_callback_events" }

// ClaimBankCallbackEvent records that the callback event with this id on this channel
// is being delivered; an event id claimed before returns ErrCallbackEventSeen. The
// table is shared by every API replica, so a bank's redelivery to another replica is
// recognised too.
func (s *Store) ClaimBankCallbackEvent(ctx context.Context, channel, eventID, reference string, now time.Time) error {
	err := s.db.WithContext(ctx).Create(&bankCallbackEventRow{
		Channel: channel, EventID: eventID, Reference: reference, ReceivedAt: now.UTC(),
	}).Error
	if errors.Is(translate(err), ErrDuplicate) {
		return ErrCallbackEventSeen
	}
	if err != nil {
		return fmt.Errorf("claim callback event %s/%s: %w", channel, eventID, translate(err))
	}
	return nil
}

// ReleaseBankCallbackEvent forgets a claim whose delivery failed, so that the bank's
// next attempt with the same event id is delivered instead of taken for a duplicate.
func (s *Store) ReleaseBankCallbackEvent(ctx context.Context, channel, eventID string) error {
	err := s.db.WithContext(ctx).Where("channel = ? AND event_id = ?", channel, eventID).Delete(&bankCallbackEventRow{}).Error
	if err != nil {
		return fmt.Errorf("release callback event %s/%s: %w", channel, eventID, translate(err))
	}
	return nil
}
