package starter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/payflow/payflow/internal/merchants"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
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
	// Flows wakes a disabled merchant's waiting flows (nil: none is woken).
	Flows MerchantFlows
}

// MerchantFlows signals the flows of a merchant (the Starter).
type MerchantFlows interface {
	// SignalMerchantDisabled tells a flow that its merchant was disabled;
	// ErrFlowNotFound when it has ended.
	SignalMerchantDisabled(ctx context.Context, workflowID string) error
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

// Update changes a merchant's settings (a disabled merchant's too) and answers it
// before and after the change; ErrNotFound. The new settings apply to the flows that
// start after it: a withdrawal's review threshold, for one, is fixed at its start.
func (s *Merchants) Update(ctx context.Context, id string, u models.MerchantUpdate) (before, after models.Merchant, err error) {
	return s.Store.UpdateMerchant(ctx, id, u, s.now())
}

// SetStatus enables or disables a merchant; ErrNotFound. From the disable on, every
// flow of the merchant that has not moved money stops at its next step; a disable
// also wakes the merchant's withdrawals waiting for approval (wakeWithdrawals), which
// then stop at once. Disabling twice wakes them again and changes nothing else.
func (s *Merchants) SetStatus(ctx context.Context, id string, status models.MerchantStatus) error {
	if err := s.Store.SetMerchantStatus(ctx, id, status); err != nil {
		return err
	}
	if status == models.MerchantDisabled && s.Flows != nil {
		s.wakeWithdrawals(ctx, id)
	}
	return nil
}

// wakeWithdrawals signals the flow of each of the merchant's withdrawals pending
// approval (one read of the merchant's withdrawals in that status, a page at a time,
// and one signal each). It is best effort, logged, and never fails the disable: a
// withdrawal it does not wake (a signal that failed, one that began waiting as the
// merchant was disabled) is stopped when an operator approves it, or expires.
func (s *Merchants) wakeWithdrawals(ctx context.Context, merchantID string) {
	log := s.log().WithField("merchant_id", merchantID)
	q := ListQuery{MerchantID: merchantID, Status: string(models.WithdrawalPendingApproval), Limit: 100}
	woken := 0
	for {
		page, more, err := s.Store.ListWithdrawals(ctx, q)
		if err != nil {
			log.WithError(err).Warn("merchant disabled: could not list its withdrawals pending approval")
			return
		}
		for _, w := range page {
			id := cmp.Or(w.WorkflowID, workflows.WithdrawalWorkflowID(merchantID, w.ID))
			err := s.Flows.SignalMerchantDisabled(ctx, id)
			switch {
			case err == nil:
				woken++
			case !errors.Is(err, ErrFlowNotFound):
				log.WithError(err).WithField("withdrawal_id", w.ID).Warn("merchant disabled: could not wake a withdrawal pending approval")
			}
		}
		if !more || len(page) == 0 {
			break
		}
		q.StartingAfter = page[len(page)-1].ID
	}
	log.WithField("woken", woken).Info("merchant disabled: woke its withdrawals pending approval")
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
