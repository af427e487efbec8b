package starter

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// RefundFlows starts refunds' flows and waits for them (the Starter).
type RefundFlows interface {
	StartRefund(ctx context.Context, in models.RefundInput) error
	Awaiter
}

// Refunds is the refunds service.
type Refunds struct {
	Deps
	Flows RefundFlows
}

// NewRefund is a refund request that passed the API's checks of its fields.
type NewRefund struct {
	Idempotent
	// Payment is the refunded payment, as the caller found it.
	Payment models.Payment
	Amount  int64
	// NotifyURL is where the outcome is sent; empty: the merchant's.
	NotifyURL string
}

// ExceedsRefundableError refuses a refund larger than what is left to refund of its
// payment, counting refunds in flight.
type ExceedsRefundableError struct{ Payment models.Payment }

func (e *ExceedsRefundableError) Error() string { return store.ErrExceedsRefundable.Error() }

func (e *ExceedsRefundableError) Unwrap() error { return store.ErrExceedsRefundable }

// Create stores the refund under the request's Idempotency-Key and starts its flow
// (see createAndStart); *ExceedsRefundableError, ErrMerchantDisabled.
func (s *Refunds) Create(ctx context.Context, req NewRefund) (Created[models.Refund], error) {
	m, err := activeMerchant(ctx, s.Store, req.MerchantID)
	if err != nil {
		return Created[models.Refund]{}, err
	}
	if req.NotifyURL == "" {
		req.NotifyURL = m.NotifyURL
	}
	pay := req.Payment
	now := s.now()
	r := models.Refund{
		ID: models.NewID(models.PrefixRefund), Object: "refund", MerchantID: req.MerchantID, PaymentID: pay.ID,
		Amount: req.Amount, Currency: pay.Currency, Channel: pay.Channel, Status: models.RefundProcessing,
		NotifyURL: req.NotifyURL, CreatedAt: now, UpdatedAt: now,
	}
	r.WorkflowID = workflows.RefundWorkflowID(req.MerchantID, r.ID)
	out, err := createAndStart(ctx, s.Deps, s.Flows, req.Idempotent, flowObject[models.Refund]{
		kind: "refund", flow: models.FlowRefund, channel: r.Channel, id: r.ID, obj: r, load: s.Store.Refund,
		workflowID: workflows.RefundWorkflowID,
		insert:     func(tx *gorm.DB) error { return store.InsertRefund(tx, r) },
		start: func(ctx context.Context, r models.Refund) error {
			return s.Flows.StartRefund(ctx, r.FlowInput(pay))
		},
		final: func(r models.Refund) bool { return r.Status != models.RefundProcessing },
	})
	if errors.Is(err, store.ErrExceedsRefundable) {
		return out, &ExceedsRefundableError{Payment: pay}
	}
	return out, err
}

// Get returns one of the merchant's refunds; ErrNotFound.
func (s *Refunds) Get(ctx context.Context, merchantID, id string) (models.Refund, error) {
	return s.Store.Refund(ctx, merchantID, id)
}
