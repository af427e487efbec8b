package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNonceReused reports a nonce the merchant already sent within the window.
var ErrNonceReused = errors.New("nonce already used")

type nonceRow struct {
	MerchantID string `gorm:"primaryKey"`
	Nonce      string `gorm:"primaryKey"`
	CreatedAt  time.Time
}

func (nonceRow) TableName() string { return "nonces" }

// UseNonce records a merchant's nonce; a nonce seen before returns ErrNonceReused.
// The table is shared by every API replica, so replay protection holds across them
// and across restarts.
func (s *Store) UseNonce(ctx context.Context, merchantID, nonce string, now time.Time) error {
	err := s.db.WithContext(ctx).Create(&nonceRow{MerchantID: merchantID, Nonce: nonce, CreatedAt: now.UTC()}).Error
	if errors.Is(translate(err), ErrDuplicate) {
		return ErrNonceReused
	}
	if err != nil {
		return fmt.Errorf("record nonce: %w", err)
	}
	return nil
}

// PurgeNonces deletes nonces older than the cutoff, in batches: a request that old is
// refused by its timestamp before its nonce is looked at.
func (s *Store) PurgeNonces(ctx context.Context, before time.Time) (int64, error) {
	return s.purgeAll(ctx, PurgeKindNonces, before)
}
