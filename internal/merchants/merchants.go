// Package merchants onboards merchants: the merchant row with its sealed secret and
// its chart of accounts, and the demo merchant of local runs.
package merchants

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// Service creates merchants.
type Service struct {
	Store  *store.Store
	Ledger *ledger.Ledger
}

// NewSecret returns a fresh signing secret (32 random bytes, hex, with a prefix that
// makes a leaked one easy to grep for).
func NewSecret() string { return randomSecret("pfsk_") }

// NewWebhookSecret returns a fresh webhook signing secret: 32 random bytes, hex,
// after whsec_.
func NewWebhookSecret() string { return randomSecret("whsec_") }

func randomSecret(prefix string) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return prefix + hex.EncodeToString(b[:])
}

// Create stores the merchant with its API secret and its webhook signing secret (""
// signs its webhooks with the API secret) and opens its accounts. It returns
// store.ErrDuplicate if the id exists.
func (s *Service) Create(ctx context.Context, m models.Merchant, secret, webhookSecret string) error {
	if m.Status == "" {
		m.Status = models.MerchantActive
	}
	if !m.DefaultCurrency.Valid() {
		return fmt.Errorf("merchant %s: %w", m.ID, models.ErrUnsupportedCurrency)
	}
	if err := s.Store.CreateMerchant(ctx, m, secret, webhookSecret); err != nil {
		return err
	}
	return s.Ledger.OpenMerchantAccounts(ctx, m.ID, m.DefaultCurrency)
}

// Demo describes the demo merchant of local runs.
type Demo struct {
	ID     string
	Secret string
	// WebhookSecret signs its webhooks ("": its API secret does).
	WebhookSecret string
}

// SeedDemo creates the demo merchant (review threshold 100000, CNY, no withdrawal delay:
// a local demo withdraws what it just topped up) unless it exists,
// and makes sure its accounts are open. An existing demo merchant without a webhook
// secret (seeded before them) is given d.WebhookSecret. It returns whether it created
// it.
func (s *Service) SeedDemo(ctx context.Context, d Demo) (bool, error) {
	err := s.Create(ctx, models.Merchant{
		ID: d.ID, Name: "Demo merchant", ReviewThreshold: 100000, DefaultCurrency: "CNY", Status: models.MerchantActive, WithdrawalDelaySeconds: 0,
	}, d.Secret, d.WebhookSecret)
	if errors.Is(err, store.ErrDuplicate) {
		if d.WebhookSecret != "" {
			if err := s.Store.SetWebhookSecretIfNone(ctx, d.ID, d.WebhookSecret); err != nil {
				return false, err
			}
		}
		return false, s.Ledger.OpenMerchantAccounts(ctx, d.ID, "CNY")
	}
	return err == nil, err
}
