package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/payflow/payflow/models"
)

// ErrExceedsRefundable reports a refund over what is left of the payment (or of a
// payment that cannot be refunded: not succeeded).
var ErrExceedsRefundable = errors.New("refund exceeds the refundable amount")

type refundRow struct {
	ID          string `gorm:"primaryKey"`
	MerchantID  string
	PaymentID   string
	Amount      int64
	Currency    string
	Channel     string
	Status      string
	FailureCode string
	NotifyURL   string
	WorkflowID  string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (refundRow) TableName() string { return "refunds" }

func (r refundRow) model() models.Refund {
	return models.Refund{
		ID: r.ID, Object: "refund", MerchantID: r.MerchantID, PaymentID: r.PaymentID, Amount: r.Amount,
		Currency: models.Currency(r.Currency), Channel: r.Channel, Status: models.RefundStatus(r.Status),
		FailureCode: models.FailureCode(r.FailureCode), NotifyURL: r.NotifyURL, WorkflowID: r.WorkflowID,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// InsertRefund reserves the refund's amount on its payment and adds the refund, in
// the caller's transaction. The reservation is one conditional UPDATE: refunds in
// flight plus refunds done plus this one never exceed the captured amount, also under
// concurrent requests (the row lock serialises them); otherwise ErrExceedsRefundable.
func InsertRefund(tx *gorm.DB, r models.Refund) error {
	res := tx.Exec(`UPDATE payments SET refund_reserved = refund_reserved + ?, updated_at = ?
		WHERE id = ? AND merchant_id = ? AND status IN (?, ?)
		AND refund_reserved + amount_refunded + ? <= amount`,
		r.Amount, time.Now().UTC(), r.PaymentID, r.MerchantID,
		string(models.PaymentSucceeded), string(models.PaymentPartiallyRefunded), r.Amount)
	if res.Error != nil {
		return fmt.Errorf("reserve refund on %s: %w", r.PaymentID, translate(res.Error))
	}
	if res.RowsAffected != 1 {
		return ErrExceedsRefundable
	}
	row := refundRow{
		ID: r.ID, MerchantID: r.MerchantID, PaymentID: r.PaymentID, Amount: r.Amount, Currency: string(r.Currency),
		Channel: r.Channel, Status: string(r.Status), NotifyURL: r.NotifyURL, WorkflowID: r.WorkflowID,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	return insertRow(tx, &row, "refund", r.ID)
}

// Refund returns the merchant's refund, or ErrNotFound.
func (s *Store) Refund(ctx context.Context, merchantID, id string) (models.Refund, error) {
	return takeModel[refundRow](s.ofMerchant(ctx, merchantID, id), "refund", id)
}

// SetRefundOutcome ends a refund in the transaction: its status, and on the payment the
// reservation released and, for a success, the refunded amount grown and the status
// moved to partially_refunded or refunded. It acts only on a refund still
// processing, so that a replay changes nothing twice.
func (t *Tx) SetRefundOutcome(r models.Refund, status models.RefundStatus, code models.FailureCode) error {
	res := t.db.Model(&refundRow{}).Where("id = ? AND status = ?", r.ID, string(models.RefundProcessing)).
		Updates(map[string]any{"status": string(status), "failure_code": string(code), "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return fmt.Errorf("set outcome of %s: %w", r.ID, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return nil // already ended
	}
	now := time.Now().UTC()
	if status != models.RefundSucceeded {
		return translate(t.db.Exec(`UPDATE payments SET refund_reserved = refund_reserved - ?, updated_at = ? WHERE id = ?`,
			r.Amount, now, r.PaymentID).Error)
	}
	// status is assigned first: MySQL evaluates assignments left to right (later
	// ones see earlier ones), SQLite sees the old row; first, both see the old row.
	return translate(t.db.Exec(`UPDATE payments SET
			status = CASE WHEN amount_refunded + ? >= amount THEN ? ELSE ? END,
			refund_reserved = refund_reserved - ?,
			amount_refunded = amount_refunded + ?,
			updated_at = ?
		WHERE id = ?`,
		r.Amount, string(models.PaymentRefunded), string(models.PaymentPartiallyRefunded), r.Amount, r.Amount, now, r.PaymentID).Error)
}

// RefundByID returns a refund whoever owns it (for operators), or ErrNotFound.
func (s *Store) RefundByID(ctx context.Context, id string) (models.Refund, error) {
	return takeModel[refundRow](s.db.WithContext(ctx).Where("id = ?", id), "refund", id)
}
