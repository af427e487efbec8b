package starter

import (
	"context"
	"fmt"
	"time"

	"github.com/payflow/payflow/internal/merchants"
	"github.com/payflow/payflow/models"
)

// Merchants is the merchants service: onboarding, settings and status, and secret
// rotations.
type Merchants struct {
	Deps
	// NewSecret makes signing secrets (merchants.NewSecret when nil).
	NewSecret func() string
	// NewWebhookSecret makes webhook signing secrets (merchants.NewWebhookSecret when
	// nil).
	NewWebhookSecret func() string
}

func (s *Merchants) webhookSecret() string {
	if s.NewWebhookSecret != nil {
		return s.NewWebhookSecret()
	}
	return merchants.NewWebhookSecret()
}

func (s *Merchants) secret() string {
	if s.NewSecret != nil {
		return s.NewSecret()
	}
	return merchants.NewSecret()
}

// Create onboards a merchant (m's settings; the service gives it its id) with a
// fresh API secret and a fresh webhook signing secret, answered here only: they are
// never read back.
func (s *Merchants) Create(ctx context.Context, m models.Merchant) (models.Merchant, string, string, error) {
	if m.ID == "" {
		m.ID = models.NewID(models.PrefixMerchant)
	}
	secret, webhookSecret := s.secret(), s.webhookSecret()
	svc := &merchants.Service{Store: s.Store, Ledger: s.Ledger}
	if err := svc.Create(ctx, m, secret, webhookSecret); err != nil {
		return models.Merchant{ID: m.ID}, "", "", fmt.Errorf("create merchant: %w", err)
	}
	created, err := s.Store.Merchant(ctx, m.ID)
	if err != nil {
		return models.Merchant{ID: m.ID}, "", "", fmt.Errorf("load created merchant: %w", err)
	}
	return created, secret, webhookSecret, nil
}

// Get returns a merchant (never a secret); ErrNotFound.
func (s *Merchants) Get(ctx context.Context, id string) (models.Merchant, error) {
	return s.Store.Merchant(ctx, id)
}

// SetStatus enables or disables a merchant; ErrNotFound.
func (s *Merchants) SetStatus(ctx context.Context, id string, status models.MerchantStatus) error {
	return s.Store.SetMerchantStatus(ctx, id, status)
}

// RotateSecret gives a merchant a new secret and keeps the previous one valid for
// overlap, so that the merchant can roll the new one out without refused requests.
// It answers the new secret and when the previous one expires; ErrNotFound,
// ErrConcurrentRotation.
func (s *Merchants) RotateSecret(ctx context.Context, id string, overlap time.Duration) (string, time.Time, error) {
	return s.rotate(ctx, id, overlap, s.secret(), s.Store.RotateMerchantSecret)
}

// RotateWebhookSecret gives a merchant a new webhook signing secret; its webhooks are
// signed with both until overlap ends, so that the merchant can roll the new one out
// to its receivers. It answers the new secret and when the previous one expires;
// ErrNotFound, ErrConcurrentRotation.
func (s *Merchants) RotateWebhookSecret(ctx context.Context, id string, overlap time.Duration) (string, time.Time, error) {
	return s.rotate(ctx, id, overlap, s.webhookSecret(), s.Store.RotateWebhookSecret)
}

// rotate stores secret through store's rotation and answers it with when the previous
// one expires.
func (s *Merchants) rotate(ctx context.Context, id string, overlap time.Duration, secret string,
	store func(ctx context.Context, id, secret string, overlap time.Duration, now time.Time) (time.Time, error),
) (string, time.Time, error) {
	expires, err := store(ctx, id, secret, overlap, s.now())
	if err != nil {
		return "", time.Time{}, err
	}
	return secret, expires, nil
}
