package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/payflow/payflow/models"
)

type bankTransferRow struct {
	Reference   string `gorm:"primaryKey"`
	Channel     string
	Kind        string
	MerchantID  string
	Amount      int64
	Currency    string
	Status      string
	FailureCode string
	BankID      string
	CreatedAt   time.Time
}

func (bankTransferRow) TableName() string { return "bank_transfers" }

// BankTransfer is payflow's record of a movement a bank decided.
type BankTransfer struct {
	Reference   string
	Channel     string
	Kind        string
	MerchantID  string
	Amount      int64
	Currency    models.Currency
	Status      models.BankStatus
	FailureCode models.FailureCode
	BankID      string
	CreatedAt   time.Time
}

// RecordBankTransfer appends the record of a decided transfer; recording a reference
// again is a no-op (the first record stands), so that a retried activity is harmless.
func (s *Store) RecordBankTransfer(ctx context.Context, t BankTransfer) error {
	if !t.Status.Final() {
		return fmt.Errorf("record bank transfer %s: status %q is not final", t.Reference, t.Status)
	}
	row := bankTransferRow{
		Reference:   t.Reference,
		Channel:     t.Channel,
		Kind:        t.Kind,
		MerchantID:  t.MerchantID,
		Amount:      t.Amount,
		Currency:    string(t.Currency),
		Status:      string(t.Status),
		FailureCode: string(t.FailureCode),
		BankID:      t.BankID,
		CreatedAt:   time.Now().UTC(),
	}
	err := s.db.WithContext(ctx).Create(&row).Error
	if err != nil && !errors.Is(translate(err), ErrDuplicate) {
		return fmt.Errorf("record bank transfer %s: %w", t.Reference, err)
	}
	return nil
}

// BankTransferByReference returns the record of a reference, or ErrNotFound.
func (s *Store) BankTransferByReference(ctx context.Context, ref string) (BankTransfer, error) {
	var r bankTransferRow
	if err := s.db.WithContext(ctx).Where("reference = ?", ref).Take(&r).Error; err != nil {
		return BankTransfer{}, fmt.Errorf("bank transfer %s: %w", ref, translate(err))
	}
	return BankTransfer{
		Reference: r.Reference, Channel: r.Channel, Kind: r.Kind, MerchantID: r.MerchantID, Amount: r.Amount,
		Currency: models.Currency(r.Currency), Status: models.BankStatus(r.Status), FailureCode: models.FailureCode(r.FailureCode),
		BankID: r.BankID, CreatedAt: r.CreatedAt.UTC(),
	}, nil
}
