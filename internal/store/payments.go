package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/payflow/payflow/models"
)

type paymentRow struct {
	ID              string `gorm:"primaryKey"`
	MerchantID      string
	Amount          int64
	Currency        string
	SourceType      string
	SourceToken     string
	SourceAccountID string
	// SourceCode is a payment code, masked.
	SourceCode           string
	ConfirmationRequired bool
	QRToken              *string
	QRURL                string
	QRExpiresAt          *time.Time
	Channel              string
	Status               string
	FailureCode          string
	Fee                  int64
	AmountRefunded       int64
	Description          string
	NotifyURL            string
	Metadata             *string
	WorkflowID           string
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

func (paymentRow) TableName() string { return "payments" }

func paymentRowOf(p models.Payment) (paymentRow, error) {
	var meta *string
	if len(p.Metadata) > 0 {
		b, err := json.Marshal(p.Metadata)
		if err != nil {
			return paymentRow{}, fmt.Errorf("metadata: %w", err)
		}
		s := string(b)
		meta = &s
	}
	row := paymentRow{
		ID:                   p.ID,
		MerchantID:           p.MerchantID,
		Amount:               p.Amount,
		Currency:             string(p.Currency),
		SourceType:           string(p.Source.Type),
		SourceToken:          cmp.Or(p.Source.CardID, p.Source.Token),
		SourceAccountID:      p.Source.AccountID,
		SourceCode:           p.Source.Code,
		ConfirmationRequired: p.ConfirmationRequired,
		Channel:              p.Channel,
		Status:               string(p.Status),
		FailureCode:          string(p.FailureCode),
		Fee:                  p.Fee,
		AmountRefunded:       p.AmountRefunded,
		Description:          p.Description,
		NotifyURL:            p.NotifyURL,
		Metadata:             meta,
		WorkflowID:           p.WorkflowID,
		CreatedAt:            p.CreatedAt.UTC(),
		UpdatedAt:            p.UpdatedAt.UTC(),
	}
	if a := p.NextAction; a != nil {
		// The page's token is the last segment of its URL (.../q/<token>).
		token := a.QRURL[strings.LastIndexByte(a.QRURL, '/')+1:]
		expires := a.ExpiresAt.UTC()
		row.QRToken, row.QRURL, row.QRExpiresAt = &token, a.QRURL, &expires
	}
	return row, nil
}

func (r paymentRow) model() models.Payment {
	p := models.Payment{
		ID:         r.ID,
		Object:     "payment",
		MerchantID: r.MerchantID,
		Amount:     r.Amount,
		Currency:   models.Currency(r.Currency),
		Source: models.PaymentSource{
			Type:      models.SourceType(r.SourceType),
			Token:     r.SourceToken,
			AccountID: r.SourceAccountID,
			Code:      r.SourceCode,
		},
		ConfirmationRequired: r.ConfirmationRequired,
		NextAction:           r.nextAction(),
		Channel:              r.Channel,
		Status:               models.PaymentStatus(r.Status),
		FailureCode:          models.FailureCode(r.FailureCode),
		Fee:                  r.Fee,
		AmountRefunded:       r.AmountRefunded,
		Description:          r.Description,
		NotifyURL:            r.NotifyURL,
		WorkflowID:           r.WorkflowID,
		CreatedAt:            r.CreatedAt.UTC(),
		UpdatedAt:            r.UpdatedAt.UTC(),
	}
	if p.Source.Type == models.SourceBoundCard {
		// A bound card's payment keeps the card's id where a card's keeps its token.
		p.Source.CardID, p.Source.Token = r.SourceToken, ""
	}
	if r.Metadata != nil && *r.Metadata != "" {
		_ = json.Unmarshal([]byte(*r.Metadata), &p.Metadata)
	}
	return p
}

// nextAction is a QR payment's display_qr while it waits for its customer.
func (r paymentRow) nextAction() *models.NextAction {
	if r.QRURL == "" || r.QRExpiresAt == nil || models.PaymentStatus(r.Status) != models.PaymentProcessing {
		return nil
	}
	return &models.NextAction{Type: models.NextActionDisplayQR, QRURL: r.QRURL, ExpiresAt: r.QRExpiresAt.UTC()}
}

// PaymentByQRToken reads the QR payment whose hosted page has the token (any
// merchant's: the page is public); ErrNotFound.
func (s *Store) PaymentByQRToken(ctx context.Context, token string) (models.Payment, error) {
	var row paymentRow
	if err := s.db.WithContext(ctx).Where("qr_token = ?", token).Take(&row).Error; err != nil {
		return models.Payment{}, fmt.Errorf("payment of QR token: %w", translate(err))
	}
	return row.model(), nil
}

// BindPaymentChannel records the wallet provider a QR payment bound to, once (a
// payment with a channel keeps it): the provider's notifications about the payment
// are then taken on its callback route.
func (s *Store) BindPaymentChannel(ctx context.Context, id, channel string) error {
	err := s.db.WithContext(ctx).Model(&paymentRow{}).Where("id = ? AND channel = ''", id).
		Updates(map[string]any{"channel": channel, "updated_at": time.Now().UTC()}).Error
	if err != nil {
		return fmt.Errorf("bind payment %s to %s: %w", id, channel, translate(err))
	}
	return nil
}

// InsertPayment adds a new payment inside the caller's transaction (see CreateOnce).
func InsertPayment(tx *gorm.DB, p models.Payment) error {
	row, err := paymentRowOf(p)
	if err != nil {
		return err
	}
	return insertRow(tx, &row, "payment", p.ID)
}

// Payment returns the merchant's payment, or ErrNotFound (also when the payment is
// another merchant's: ids are never confirmed across merchants).
func (s *Store) Payment(ctx context.Context, merchantID, id string) (models.Payment, error) {
	return takeModel[paymentRow](s.ofMerchant(ctx, merchantID, id), "payment", id)
}

// PaymentByID returns a payment whoever owns it (for workers and operators).
func (s *Store) PaymentByID(ctx context.Context, id string) (models.Payment, error) {
	return takeModel[paymentRow](s.db.WithContext(ctx).Where("id = ?", id), "payment", id)
}

// ListQuery selects a page of a merchant's objects, newest first.
type ListQuery struct {
	MerchantID    string
	Status        string
	Limit         int
	StartingAfter string
}

// ListPayments returns up to q.Limit payments older than q.StartingAfter (ids sort by
// creation time), newest first, and whether more follow.
func (s *Store) ListPayments(ctx context.Context, q ListQuery) ([]models.Payment, bool, error) {
	return newestOfMerchant[paymentRow](ctx, s.db, q, "list payments")
}

// PaymentOutcome is what a payment flow records when it ends.
type PaymentOutcome struct {
	Status      models.PaymentStatus
	FailureCode models.FailureCode
	Fee         int64
	Channel     string
}

// SetPaymentOutcome records a payment's terminal status in the transaction. It only moves a payment out of processing, so that a replayed activity
// cannot overwrite a later state (a refund) with an earlier one.
func (t *Tx) SetPaymentOutcome(id string, o PaymentOutcome) error {
	updates := map[string]any{
		"status":       string(o.Status),
		"failure_code": string(o.FailureCode),
		"fee":          o.Fee,
		"updated_at":   time.Now().UTC(),
	}
	if o.Channel != "" {
		updates["channel"] = o.Channel
	}
	res := t.db.Model(&paymentRow{}).Where("id = ? AND status = ?", id, string(models.PaymentProcessing)).Updates(updates)
	if res.Error != nil {
		return fmt.Errorf("set outcome of %s: %w", id, translate(res.Error))
	}
	return nil
}
