package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/payflow/payflow/models"
)

// ErrConcurrentRotation reports a secret rotation that lost a race with another one
// of the same merchant; nothing changed, and the caller may try again.
var ErrConcurrentRotation = errors.New("the merchant's secret changed during the rotation")

type merchantRow struct {
	ID                 string `gorm:"primaryKey"`
	Name               string
	SecretEnc          string
	OldSecretEnc       string
	OldSecretExpiresAt *time.Time
	// The webhook signing secret ('' for a merchant created before webhook secrets:
	// its webhooks are signed with its API secret until its first webhook rotation).
	WebhookSecretEnc          string
	OldWebhookSecretEnc       string
	OldWebhookSecretExpiresAt *time.Time
	NotifyURL                 string
	FeeBps                    int64
	ReviewThreshold           int64
	// NULL: no limit.
	WithdrawalLimitPerTransaction *int64
	WithdrawalLimitDaily          *int64
	WithdrawalDelaySeconds        int64
	NoPasswordLimit               int64
	VerificationFee               int64
	VerificationCachedFee         int64
	CreditReportFee               int64
	CreditReportReuseFee          int64
	DefaultCurrency               string
	Status                        string
	CreatedAt                     time.Time
	UpdatedAt                     time.Time
}

func (merchantRow) TableName() string { return "merchants" }

func (r merchantRow) model(now time.Time) models.Merchant {
	m := models.Merchant{
		ID:                            r.ID,
		Name:                          r.Name,
		FeeBps:                        r.FeeBps,
		ReviewThreshold:               r.ReviewThreshold,
		DefaultCurrency:               models.Currency(r.DefaultCurrency),
		WithdrawalLimitPerTransaction: r.WithdrawalLimitPerTransaction,
		WithdrawalLimitDaily:          r.WithdrawalLimitDaily,
		WithdrawalDelaySeconds:        r.WithdrawalDelaySeconds,
		NoPasswordLimit:               r.NoPasswordLimit,
		Prices: models.Prices{
			VerificationFee: r.VerificationFee, VerificationCachedFee: r.VerificationCachedFee,
			CreditReportFee: r.CreditReportFee, CreditReportReuseFee: r.CreditReportReuseFee,
		},
		NotifyURL:      r.NotifyURL,
		Status:         models.MerchantStatus(r.Status),
		WebhookSigning: models.WebhookSigningWebhookSecret,
		CreatedAt:      r.CreatedAt.UTC(),
	}
	if r.WebhookSecretEnc == "" {
		m.WebhookSigning = models.WebhookSigningAPISecret
	}
	if r.oldSecretValid(now) {
		t := r.OldSecretExpiresAt.UTC()
		m.OldSecretExpiresAt = &t
	}
	return m
}

func (r merchantRow) oldSecretValid(now time.Time) bool {
	return r.OldSecretEnc != "" && r.OldSecretExpiresAt != nil && now.Before(*r.OldSecretExpiresAt)
}

// The associated data a sealed secret is bound to: the merchant and the secret's
// role, so that a sealed value copied to another row, or from the old column to the
// current one, does not open.
func currentSecretAD(id string) string    { return id }
func oldSecretAD(id string) string        { return id + "#old" }
func webhookSecretAD(id string) string    { return id + "#webhook" }
func oldWebhookSecretAD(id string) string { return id + "#webhook-old" }

// CreateMerchant stores a merchant with its API secret and its webhook signing secret
// sealed (no webhook secret, "": its webhooks are signed with the API secret). It
// returns ErrDuplicate if the id exists.
func (s *Store) CreateMerchant(ctx context.Context, m models.Merchant, secret, webhookSecret string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return s.CreateMerchantTx(tx, m, secret, webhookSecret) })
}

// CreateMerchantTx is CreateMerchant inside the caller's transaction (the ledger opens
// the merchant's chart of accounts in the same one).
func (s *Store) CreateMerchantTx(tx *gorm.DB, m models.Merchant, secret, webhookSecret string) error {
	sealed, err := s.box.Seal(secret, currentSecretAD(m.ID))
	if err != nil {
		return fmt.Errorf("seal secret of %s: %w", m.ID, err)
	}
	var webhookSealed string
	if webhookSecret != "" {
		if webhookSealed, err = s.box.Seal(webhookSecret, webhookSecretAD(m.ID)); err != nil {
			return fmt.Errorf("seal webhook secret of %s: %w", m.ID, err)
		}
	}
	now := time.Now().UTC()
	if m.NoPasswordLimit <= 0 {
		m.NoPasswordLimit = models.DefaultNoPasswordLimit
	}
	if m.Prices == (models.Prices{}) {
		// Unset (the zero value): the defaults. A merchant charged nothing at all
		// is set so by an update.
		m.Prices = models.DefaultPrices()
	}
	row := merchantRow{
		ID:                            m.ID,
		Name:                          m.Name,
		SecretEnc:                     sealed,
		WebhookSecretEnc:              webhookSealed,
		NotifyURL:                     m.NotifyURL,
		FeeBps:                        m.FeeBps,
		ReviewThreshold:               m.ReviewThreshold,
		DefaultCurrency:               string(m.DefaultCurrency),
		WithdrawalLimitPerTransaction: m.WithdrawalLimitPerTransaction,
		WithdrawalLimitDaily:          m.WithdrawalLimitDaily,
		WithdrawalDelaySeconds:        m.WithdrawalDelaySeconds,
		NoPasswordLimit:               m.NoPasswordLimit,
		VerificationFee:               m.VerificationFee,
		VerificationCachedFee:         m.VerificationCachedFee,
		CreditReportFee:               m.CreditReportFee,
		CreditReportReuseFee:          m.CreditReportReuseFee,
		Status:                        string(m.Status),
		CreatedAt:                     now,
		UpdatedAt:                     now,
	}
	if err := tx.Create(&row).Error; err != nil {
		return fmt.Errorf("create merchant %s: %w", m.ID, translate(err))
	}
	// The merchant's rate-limit bucket, full, created now so that its first
	// concurrent requests update one existing row instead of racing to insert it.
	bucket := newBucketRow(m.ID)
	if err := tx.Create(&bucket).Error; err != nil {
		return fmt.Errorf("create token bucket of %s: %w", m.ID, translate(err))
	}
	return nil
}

// Merchant returns a merchant, or ErrNotFound.
func (s *Store) Merchant(ctx context.Context, id string) (models.Merchant, error) {
	var row merchantRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return models.Merchant{}, fmt.Errorf("merchant %s: %w", id, translate(err))
	}
	return row.model(time.Now()), nil
}

// MerchantSecrets returns the merchant's signing secrets that are valid now, the
// current one first, then the previous one while a rotation overlaps; or ErrNotFound.
func (s *Store) MerchantSecrets(ctx context.Context, id string) ([]string, error) {
	var row merchantRow
	if err := s.db.WithContext(ctx).Select("id", "secret_enc", "old_secret_enc", "old_secret_expires_at").
		Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, fmt.Errorf("merchant %s: %w", id, translate(err))
	}
	secret, err := s.box.Open(row.SecretEnc, currentSecretAD(row.ID))
	if err != nil {
		return nil, fmt.Errorf("open secret of %s: %w", id, err)
	}
	secrets := []string{secret}
	if row.oldSecretValid(time.Now()) {
		old, err := s.box.Open(row.OldSecretEnc, oldSecretAD(row.ID))
		if err != nil {
			return nil, fmt.Errorf("open previous secret of %s: %w", id, err)
		}
		secrets = append(secrets, old)
	}
	return secrets, nil
}

// RotateMerchantSecret makes secret the merchant's current secret and keeps the
// current one valid until now+overlap (an overlap of 0 ends it at once). A secret
// that was already the previous one is dropped: at most two are ever valid. It
// returns when the previous secret expires; ErrNotFound for an unknown merchant, and
// ErrConcurrentRotation when another rotation changed the secret meanwhile.
func (s *Store) RotateMerchantSecret(ctx context.Context, id, secret string, overlap time.Duration, now time.Time) (time.Time, error) {
	db := s.db.WithContext(ctx)
	var row merchantRow
	if err := db.Select("id", "secret_enc").Where("id = ?", id).Take(&row).Error; err != nil {
		return time.Time{}, fmt.Errorf("merchant %s: %w", id, translate(err))
	}
	current, err := s.box.Open(row.SecretEnc, currentSecretAD(id))
	if err != nil {
		return time.Time{}, fmt.Errorf("open secret of %s: %w", id, err)
	}
	oldSealed, newSealed, err := s.sealRotation(current, oldSecretAD(id), secret, currentSecretAD(id), "secret", id)
	if err != nil {
		return time.Time{}, err
	}
	expires := now.Add(overlap).UTC()
	// Compare-and-set on the sealed value read above: of two concurrent rotations,
	// one wins and the other changes nothing, so that the secret a caller was given is
	// never silently replaced by another rotation's.
	return expires, swapSecrets(db.Model(&merchantRow{}).Where("id = ? AND secret_enc = ?", id, row.SecretEnc), "secret", id, map[string]any{
		"secret_enc":            newSealed,
		"old_secret_enc":        oldSealed,
		"old_secret_expires_at": expires,
		"updated_at":            now.UTC(),
	})
}

// sealRotation seals a rotation's previous secret and its new one, each bound to its
// role.
func (s *Store) sealRotation(previous, previousAD, secret, secretAD, what, id string) (string, string, error) {
	oldSealed, err := s.box.Seal(previous, previousAD)
	if err != nil {
		return "", "", fmt.Errorf("seal previous %s of %s: %w", what, id, err)
	}
	newSealed, err := s.box.Seal(secret, secretAD)
	if err != nil {
		return "", "", fmt.Errorf("seal %s of %s: %w", what, id, err)
	}
	return oldSealed, newSealed, nil
}

// swapSecrets writes a rotation's sealed secrets where q, the compare-and-set on what
// the rotation read, still matches; ErrConcurrentRotation when another rotation
// changed them meanwhile.
func swapSecrets(q *gorm.DB, what, id string, updates map[string]any) error {
	res := q.Updates(updates)
	if res.Error != nil {
		return fmt.Errorf("rotate %s of %s: %w", what, id, translate(res.Error))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("rotate %s of %s: %w", what, id, ErrConcurrentRotation)
	}
	return nil
}

// WebhookSecrets returns the secrets the merchant's webhooks are signed with now: its
// current webhook secret first, then the previous one while a rotation overlaps; or
// ErrNotFound. A merchant without a webhook secret (created before them, and not
// rotated since) gets its current API secret, as its receivers expect.
func (s *Store) WebhookSecrets(ctx context.Context, id string) ([]string, error) {
	var row merchantRow
	if err := s.db.WithContext(ctx).Select("id", "secret_enc", "webhook_secret_enc", "old_webhook_secret_enc", "old_webhook_secret_expires_at").
		Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, fmt.Errorf("merchant %s: %w", id, translate(err))
	}
	current, err := s.currentWebhookSecret(row)
	if err != nil {
		return nil, err
	}
	secrets := []string{current}
	if row.OldWebhookSecretEnc != "" && row.OldWebhookSecretExpiresAt != nil && time.Now().Before(*row.OldWebhookSecretExpiresAt) {
		old, err := s.box.Open(row.OldWebhookSecretEnc, oldWebhookSecretAD(row.ID))
		if err != nil {
			return nil, fmt.Errorf("open previous webhook secret of %s: %w", id, err)
		}
		secrets = append(secrets, old)
	}
	return secrets, nil
}

// currentWebhookSecret opens the row's webhook secret, or its API secret when it has
// none.
func (s *Store) currentWebhookSecret(row merchantRow) (string, error) {
	if row.WebhookSecretEnc == "" {
		secret, err := s.box.Open(row.SecretEnc, currentSecretAD(row.ID))
		if err != nil {
			return "", fmt.Errorf("open secret of %s: %w", row.ID, err)
		}
		return secret, nil
	}
	secret, err := s.box.Open(row.WebhookSecretEnc, webhookSecretAD(row.ID))
	if err != nil {
		return "", fmt.Errorf("open webhook secret of %s: %w", row.ID, err)
	}
	return secret, nil
}

// RotateWebhookSecret makes secret the merchant's current webhook secret and keeps
// signing with the current one too until now+overlap (0 ends it at once), as
// RotateMerchantSecret does for the API secret. For a merchant without a webhook
// secret, the one it is replacing is its API secret, so that receivers that verify
// with it keep working through the overlap. It returns when the previous webhook
// secret expires; ErrNotFound, ErrConcurrentRotation.
func (s *Store) RotateWebhookSecret(ctx context.Context, id, secret string, overlap time.Duration, now time.Time) (time.Time, error) {
	db := s.db.WithContext(ctx)
	var row merchantRow
	if err := db.Select("id", "secret_enc", "webhook_secret_enc").Where("id = ?", id).Take(&row).Error; err != nil {
		return time.Time{}, fmt.Errorf("merchant %s: %w", id, translate(err))
	}
	current, err := s.currentWebhookSecret(row)
	if err != nil {
		return time.Time{}, err
	}
	oldSealed, newSealed, err := s.sealRotation(current, oldWebhookSecretAD(id), secret, webhookSecretAD(id), "webhook secret", id)
	if err != nil {
		return time.Time{}, err
	}
	expires := now.Add(overlap).UTC()
	// Compare-and-set on what was read, as RotateMerchantSecret does (and, for a
	// merchant still signing with its API secret, on that secret too).
	q := db.Model(&merchantRow{}).Where("id = ? AND webhook_secret_enc = ?", id, row.WebhookSecretEnc)
	if row.WebhookSecretEnc == "" {
		q = q.Where("secret_enc = ?", row.SecretEnc)
	}
	return expires, swapSecrets(q, "webhook secret", id, map[string]any{
		"webhook_secret_enc":            newSealed,
		"old_webhook_secret_enc":        oldSealed,
		"old_webhook_secret_expires_at": expires,
		"updated_at":                    now.UTC(),
	})
}

// SetWebhookSecretIfNone gives a merchant without a webhook secret this one (the demo
// merchant of a database seeded before webhook secrets); it changes nothing for a
// merchant that has one. ErrNotFound for an unknown merchant.
func (s *Store) SetWebhookSecretIfNone(ctx context.Context, id, secret string) error {
	sealed, err := s.box.Seal(secret, webhookSecretAD(id))
	if err != nil {
		return fmt.Errorf("seal webhook secret of %s: %w", id, err)
	}
	db := s.db.WithContext(ctx)
	if err := db.Model(&merchantRow{}).Where("id = ? AND webhook_secret_enc = ''", id).
		Updates(map[string]any{"webhook_secret_enc": sealed, "updated_at": time.Now().UTC()}).Error; err != nil {
		return fmt.Errorf("set webhook secret of %s: %w", id, translate(err))
	}
	var n int64
	if err := db.Model(&merchantRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return fmt.Errorf("merchant %s: %w", id, translate(err))
	}
	if n == 0 {
		return fmt.Errorf("merchant %s: %w", id, ErrNotFound)
	}
	return nil
}

// PurgeExpiredSecrets clears the previous API and webhook secrets whose overlap ended
// before the cutoff, so that a retired secret does not stay in the database, even
// sealed. It answers how many secrets it cleared.
func (s *Store) PurgeExpiredSecrets(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Model(&merchantRow{}).
		Where("old_secret_expires_at IS NOT NULL AND old_secret_expires_at < ?", before.UTC()).
		Updates(map[string]any{"old_secret_enc": "", "old_secret_expires_at": nil})
	if res.Error != nil {
		return 0, translate(res.Error)
	}
	webhook := s.db.WithContext(ctx).Model(&merchantRow{}).
		Where("old_webhook_secret_expires_at IS NOT NULL AND old_webhook_secret_expires_at < ?", before.UTC()).
		Updates(map[string]any{"old_webhook_secret_enc": "", "old_webhook_secret_expires_at": nil})
	return res.RowsAffected + webhook.RowsAffected, translate(webhook.Error)
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

// UpdateMerchant changes a merchant's settings in one UPDATE (and its updated_at),
// whatever its status. It answers the merchant before and after the change, read in
// the same transaction with the row locked, so that the "before" of two concurrent
// updates is each what the other left; ErrNotFound for an unknown merchant.
func (s *Store) UpdateMerchant(ctx context.Context, id string, u models.MerchantUpdate, now time.Time) (before, after models.Merchant, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row merchantRow
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", id).Take(&row).Error; err != nil {
			return fmt.Errorf("merchant %s: %w", id, translate(err))
		}
		before = row.model(now)
		after = u.Apply(before)
		updates := map[string]any{"updated_at": now.UTC()}
		if u.FeeBps != nil {
			updates["fee_bps"] = after.FeeBps
		}
		if u.ReviewThreshold != nil {
			updates["review_threshold"] = after.ReviewThreshold
		}
		if u.WithdrawalDelaySeconds != nil {
			updates["withdrawal_delay_seconds"] = after.WithdrawalDelaySeconds
		}
		if u.NotifyURL != nil {
			updates["notify_url"] = after.NotifyURL
		}
		if u.NoPasswordLimit != nil {
			updates["no_password_limit"] = after.NoPasswordLimit
		}
		if u.VerificationFee != nil {
			updates["verification_fee"] = after.VerificationFee
		}
		if u.VerificationCachedFee != nil {
			updates["verification_cached_fee"] = after.VerificationCachedFee
		}
		if u.CreditReportFee != nil {
			updates["credit_report_fee"] = after.CreditReportFee
		}
		if u.CreditReportReuseFee != nil {
			updates["credit_report_reuse_fee"] = after.CreditReportReuseFee
		}
		if u.SetWithdrawalLimitPerTransaction {
			updates["withdrawal_limit_per_transaction"] = after.WithdrawalLimitPerTransaction
		}
		if u.SetWithdrawalLimitDaily {
			updates["withdrawal_limit_daily"] = after.WithdrawalLimitDaily
		}
		if err := tx.Model(&merchantRow{}).Where("id = ?", id).Updates(updates).Error; err != nil {
			return fmt.Errorf("update merchant %s: %w", id, translate(err))
		}
		return nil
	})
	if err != nil {
		return models.Merchant{}, models.Merchant{}, err
	}
	return before, after, nil
}
