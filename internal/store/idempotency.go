package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ErrIdempotencyKeyReused reports a key that was first used with another request.
var ErrIdempotencyKeyReused = errors.New("idempotency key reused with a different request")

type idempotencyRow struct {
	MerchantID  string `gorm:"primaryKey"`
	IdemKey     string `gorm:"primaryKey;column:idem_key"`
	Fingerprint string
	ObjectID    string
	CreatedAt   time.Time
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// IdempotentRequest identifies a creating request: the merchant, its Idempotency-Key,
// the fingerprint of method, path and body, and the id the object gets if this request
// is the first.
type IdempotentRequest struct {
	MerchantID  string
	Key         string
	Fingerprint string
	ObjectID    string
}

// CreateOnce runs insert in a transaction together with the idempotency row, so that
// of any number of requests with one key exactly one creates its object. It returns
// the id of the object the key names and whether this call created it. A key first
// used with another fingerprint returns ErrIdempotencyKeyReused and writes nothing.
func (s *Store) CreateOnce(ctx context.Context, req IdempotentRequest, insert func(tx *gorm.DB) error) (objectID string, created bool, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row := idempotencyRow{
			MerchantID:  req.MerchantID,
			IdemKey:     req.Key,
			Fingerprint: req.Fingerprint,
			ObjectID:    req.ObjectID,
			CreatedAt:   time.Now().UTC(),
		}
		if err := tx.Create(&row).Error; err != nil {
			return translate(err)
		}
		return insert(tx)
	})
	if err == nil {
		return req.ObjectID, true, nil
	}
	if !errors.Is(err, ErrDuplicate) {
		return "", false, fmt.Errorf("create with idempotency key: %w", err)
	}
	// Another request with this key committed first (a concurrent insert waits for it
	// on the primary key, then fails here): answer with what it created.
	var first idempotencyRow
	if err := s.db.WithContext(ctx).Where("merchant_id = ? AND idem_key = ?", req.MerchantID, req.Key).Take(&first).Error; err != nil {
		return "", false, fmt.Errorf("read idempotency key: %w", translate(err))
	}
	if first.Fingerprint != req.Fingerprint {
		return "", false, ErrIdempotencyKeyReused
	}
	return first.ObjectID, false, nil
}

// PurgeIdempotencyKeys deletes keys older than the cutoff (kept at least 24 hours),
// in batches.
func (s *Store) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	return s.purgeAll(ctx, PurgeKindIdempotencyKeys, before)
}
