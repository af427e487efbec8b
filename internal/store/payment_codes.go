package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ErrPaymentCodeUnusable is a wallet payment code that is unknown, expired, voided
// by a newer code of its wallet, already used, or another merchant's.
var ErrPaymentCodeUnusable = errors.New("payment code unknown, expired or used")

// paymentCodeRow is a wallet's payment code, kept by its hash: the code itself is
// shown once, to the wallet's owner, and never stored. A code is 16 random digits
// after its prefix and dies 60 s after it is drawn or at its first use, so a plain
// SHA-256 of it is all a leaked table could be tried against, for a minute.
type paymentCodeRow struct {
	CodeHash   string `gorm:"primaryKey"`
	MerchantID string
	AccountID  string
	ExpiresAt  time.Time
	PaymentID  string
	Voided     bool
	CreatedAt  time.Time
}

func (paymentCodeRow) TableName() string { return "payment_codes" }

// PaymentCodeHash is the key a payment code is kept under.
func PaymentCodeHash(code string) string {
	sum := sha256.Sum256([]byte(code))
	return hex.EncodeToString(sum[:])
}

// PaymentCodeRecord is what the store knows of a wallet payment code.
type PaymentCodeRecord struct {
	MerchantID string
	AccountID  string
	ExpiresAt  time.Time
	PaymentID  string
	Voided     bool
}

// Usable says whether the code may still pay, at now, for merchantID.
func (r PaymentCodeRecord) Usable(merchantID string, now time.Time) bool {
	return r.MerchantID == merchantID && r.PaymentID == "" && !r.Voided && now.Before(r.ExpiresAt)
}

// CreatePaymentCode stores a new payment code of a wallet and voids the wallet's
// earlier codes not used yet, in one transaction: a wallet has one live code.
func (s *Store) CreatePaymentCode(ctx context.Context, merchantID, accountID, code string, expiresAt, now time.Time) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&paymentCodeRow{}).Where("account_id = ? AND voided = ? AND payment_id = ''", accountID, false).
			Update("voided", true).Error; err != nil {
			return fmt.Errorf("void payment codes of %s: %w", accountID, translate(err))
		}
		row := paymentCodeRow{
			CodeHash: PaymentCodeHash(code), MerchantID: merchantID, AccountID: accountID,
			ExpiresAt: expiresAt.UTC(), CreatedAt: now.UTC(),
		}
		if err := tx.Create(&row).Error; err != nil {
			return fmt.Errorf("create payment code of %s: %w", accountID, translate(err))
		}
		return nil
	})
}

// PaymentCode reads a wallet payment code by the code; ErrNotFound.
func (s *Store) PaymentCode(ctx context.Context, code string) (PaymentCodeRecord, error) {
	var row paymentCodeRow
	if err := s.db.WithContext(ctx).Where("code_hash = ?", PaymentCodeHash(code)).Take(&row).Error; err != nil {
		return PaymentCodeRecord{}, fmt.Errorf("payment code: %w", translate(err))
	}
	return PaymentCodeRecord{MerchantID: row.MerchantID, AccountID: row.AccountID, ExpiresAt: row.ExpiresAt.UTC(),
		PaymentID: row.PaymentID, Voided: row.Voided}, nil
}

// UsePaymentCode marks a wallet payment code used by paymentID inside the caller's
// transaction (the payment's own, see CreateOnce), only while it is usable by
// merchantID at now: of two payments that use one code at once, one commits and the
// other gets ErrPaymentCodeUnusable and stores nothing.
func UsePaymentCode(tx *gorm.DB, code, merchantID, paymentID string, now time.Time) error {
	res := tx.Model(&paymentCodeRow{}).
		Where("code_hash = ? AND merchant_id = ? AND payment_id = '' AND voided = ? AND expires_at > ?",
			PaymentCodeHash(code), merchantID, false, now.UTC()).
		Update("payment_id", paymentID)
	if res.Error != nil {
		return fmt.Errorf("use payment code: %w", translate(res.Error))
	}
	if res.RowsAffected != 1 {
		return ErrPaymentCodeUnusable
	}
	return nil
}
