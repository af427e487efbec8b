package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/payflow/payflow/models"
)

type merchantRow struct {
	ID              string `gorm:"primaryKey"`
	Name            string
	SecretEnc       string
	FeeBps          int64
	ReviewThreshold int64
	DefaultCurrency string
	Status          string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (merchantRow) TableName() string { return "merchants" }

func (r merchantRow) model() models.Merchant {
	return models.Merchant{
		ID:              r.ID,
		Name:            r.Name,
		FeeBps:          r.FeeBps,
		ReviewThreshold: r.ReviewThreshold,
		DefaultCurrency: models.Currency(r.DefaultCurrency),
		Status:          models.MerchantStatus(r.Status),
		CreatedAt:       r.CreatedAt,
	}
}

// CreateMerchant stores a merchant with its secret sealed. It returns ErrDuplicate if
// the id exists.
func (s *Store) CreateMerchant(ctx context.Context, m models.Merchant, secret string) error {
	return s.CreateMerchantTx(s.db.WithContext(ctx), m, secret)
}

// CreateMerchantTx is CreateMerchant inside the caller's transaction (the ledger opens
// the merchant's chart of accounts in the same one).
func (s *Store) CreateMerchantTx(tx *gorm.DB, m models.Merchant, secret string) error {
	sealed, err := s.box.Seal(secret, m.ID)
	if err != nil {
		return fmt.Errorf("seal secret of %s: %w", m.ID, err)
	}
	now := time.Now().UTC()
	row := merchantRow{
		ID:              m.ID,
		Name:            m.Name,
		SecretEnc:       sealed,
		FeeBps:          m.FeeBps,
		ReviewThreshold: m.ReviewThreshold,
		DefaultCurrency: string(m.DefaultCurrency),
		Status:          string(m.Status),
		CreatedAt:       now,
		UpdatedAt:       now,
	}
	if err := tx.Create(&row).Error; err != nil {
		return fmt.Errorf("create merchant %s: %w", m.ID, translate(err))
	}
	return nil
}

// Merchant returns a merchant, or ErrNotFound.
func (s *Store) Merchant(ctx context.Context, id string) (models.Merchant, error) {
	var row merchantRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return models.Merchant{}, fmt.Errorf("merchant %s: %w", id, translate(err))
	}
	return row.model(), nil
}

// MerchantSecrets returns the merchant's signing secrets that are valid now (more
// than one while a rotation overlaps), or ErrNotFound.
func (s *Store) MerchantSecrets(ctx context.Context, id string) ([]string, error) {
	var row merchantRow
	if err := s.db.WithContext(ctx).Select("id", "secret_enc").Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, fmt.Errorf("merchant %s: %w", id, translate(err))
	}
	secret, err := s.box.Open(row.SecretEnc, row.ID)
	if err != nil {
		return nil, fmt.Errorf("open secret of %s: %w", id, err)
	}
	return []string{secret}, nil
}

// SetMerchantStatus enables or disables a merchant.
func (s *Store) SetMerchantStatus(ctx context.Context, id string, status models.MerchantStatus) error {
	res := s.db.WithContext(ctx).Model(&merchantRow{}).Where("id = ?", id).
		Updates(map[string]any{"status": string(status), "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return fmt.Errorf("merchant %s status: %w", id, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("merchant %s: %w", id, ErrNotFound)
	}
	return nil
}
