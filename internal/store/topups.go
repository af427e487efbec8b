package store

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/payflow/payflow/models"
)

type topupRow struct {
	ID          string `gorm:"primaryKey"`
	MerchantID  string
	AccountID   string
	Amount      int64
	Currency    string
	SourceToken string
	Channel     string
	Status      string
	FailureCode string
	NotifyURL   string
	WorkflowID  string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (topupRow) TableName() string { return "topups" }

func (r topupRow) model() models.Topup {
	src := models.PaymentSource{Type: models.SourceCard, Token: r.SourceToken}
	if strings.HasPrefix(r.SourceToken, models.PrefixBoundCard) {
		// A bound card's top-up keeps the card's id where a card's keeps its token.
		src = models.PaymentSource{Type: models.SourceBoundCard, CardID: r.SourceToken}
	}
	return models.Topup{
		ID: r.ID, Object: "topup", MerchantID: r.MerchantID, AccountID: r.AccountID, Amount: r.Amount,
		Currency: models.Currency(r.Currency), Source: src,
		Channel: r.Channel, Status: models.TopupStatus(r.Status), FailureCode: models.FailureCode(r.FailureCode),
		NotifyURL: r.NotifyURL, WorkflowID: r.WorkflowID, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// InsertTopup adds a new top-up inside the caller's transaction (see CreateOnce).
func InsertTopup(tx *gorm.DB, t models.Topup) error {
	row := topupRow{
		ID: t.ID, MerchantID: t.MerchantID, AccountID: t.AccountID, Amount: t.Amount, Currency: string(t.Currency),
		SourceToken: cmp.Or(t.Source.CardID, t.Source.Token), Channel: t.Channel, Status: string(t.Status), FailureCode: string(t.FailureCode),
		NotifyURL: t.NotifyURL, WorkflowID: t.WorkflowID, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC(),
	}
	return insertRow(tx, &row, "topup", t.ID)
}

// Topup returns the merchant's top-up, or ErrNotFound.
func (s *Store) Topup(ctx context.Context, merchantID, id string) (models.Topup, error) {
	return takeModel[topupRow](s.ofMerchant(ctx, merchantID, id), "topup", id)
}

// SetTopupOutcome records a top-up's terminal status in the transaction, only moving it out of processing.
func (t *Tx) SetTopupOutcome(id string, status models.TopupStatus, code models.FailureCode, channel string) error {
	updates := map[string]any{"status": string(status), "failure_code": string(code), "updated_at": time.Now().UTC()}
	if channel != "" {
		updates["channel"] = channel
	}
	res := t.db.Model(&topupRow{}).Where("id = ? AND status = ?", id, string(models.TopupProcessing)).Updates(updates)
	if res.Error != nil {
		return fmt.Errorf("set outcome of %s: %w", id, translate(res.Error))
	}
	return nil
}
