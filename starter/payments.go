package starter

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// ListQuery selects a page of a merchant's objects.
type ListQuery = store.ListQuery

// PaymentFlows starts payments' flows and waits for them (the Starter).
type PaymentFlows interface {
	StartPayment(ctx context.Context, in models.PaymentInput) error
	Awaiter
}

// Payments is the payments service: a payment's creation with its flow, and reads.
type Payments struct {
	Deps
	Flows PaymentFlows
}

// NewPayment is a payment request that passed the API's checks of its fields.
type NewPayment struct {
	Idempotent
	Amount   int64
	Currency models.Currency
	// Source is a card (Token) charged through Channel, or a wallet (AccountID) of
	// the merchant in the payment's currency, moved on the ledger.
	Source      models.PaymentSource
	Channel     string
	Description string
	// NotifyURL is where the outcome is sent; empty: the merchant's.
	NotifyURL string
	Metadata  map[string]string
}

// Create stores the payment under the request's Idempotency-Key and starts its flow
// (see createAndStart). It refuses a wallet source that is not the merchant's wallet
// in the currency (ErrInvalidSource) and a disabled merchant (ErrMerchantDisabled).
func (s *Payments) Create(ctx context.Context, req NewPayment) (Created[models.Payment], error) {
	if req.Source.Type == models.SourceAccount {
		acct, err := s.Ledger.Account(ctx, req.MerchantID, req.Source.AccountID)
		if err != nil && !errors.Is(err, ledger.ErrAccountNotFound) && !errors.Is(err, store.ErrNotFound) {
			return Created[models.Payment]{}, fmt.Errorf("look up source account: %w", err)
		}
		if err != nil || acct.Kind != ledger.KindCustomerWallet || acct.Currency != req.Currency {
			return Created[models.Payment]{}, ErrInvalidSource
		}
		req.Source = models.PaymentSource{Type: models.SourceAccount, AccountID: acct.ID}
		req.Channel = "ledger"
	}
	m, err := activeMerchant(ctx, s.Store, req.MerchantID)
	if err != nil {
		return Created[models.Payment]{}, err
	}
	if req.NotifyURL == "" {
		req.NotifyURL = m.NotifyURL
	}
	now := s.now()
	pay := models.Payment{
		ID:          models.NewID(models.PrefixPayment),
		Object:      "payment",
		MerchantID:  req.MerchantID,
		Amount:      req.Amount,
		Currency:    req.Currency,
		Source:      req.Source,
		Channel:     req.Channel,
		Status:      models.PaymentProcessing,
		Description: req.Description,
		NotifyURL:   req.NotifyURL,
		Metadata:    req.Metadata,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	pay.WorkflowID = workflows.PaymentWorkflowID(req.MerchantID, pay.ID)
	return createAndStart(ctx, s.Deps, s.Flows, req.Idempotent, flowObject[models.Payment]{
		kind: "payment", flow: models.FlowPayment, channel: pay.Channel, id: pay.ID, obj: pay, load: s.Store.Payment,
		workflowID: workflows.PaymentWorkflowID,
		insert:     func(tx *gorm.DB) error { return store.InsertPayment(tx, pay) },
		start: func(ctx context.Context, p models.Payment) error {
			return s.Flows.StartPayment(ctx, p.FlowInput())
		},
		final: func(p models.Payment) bool { return p.Status != models.PaymentProcessing },
	})
}

// Get returns one of the merchant's payments; ErrNotFound.
func (s *Payments) Get(ctx context.Context, merchantID, id string) (models.Payment, error) {
	return s.Store.Payment(ctx, merchantID, id)
}

// List pages through the merchant's payments, newest first; ErrUnknownCursor when
// q.StartingAfter is not one of them.
func (s *Payments) List(ctx context.Context, q ListQuery) ([]models.Payment, bool, error) {
	if err := checkCursor(ctx, q.MerchantID, q.StartingAfter, s.Store.Payment); err != nil {
		return nil, false, err
	}
	items, more, err := s.Store.ListPayments(ctx, q)
	if err != nil {
		return nil, false, err
	}
	if items == nil {
		items = []models.Payment{}
	}
	return items, more, nil
}

// activeMerchant loads the merchant; ErrMerchantDisabled when it may not move money.
func activeMerchant(ctx context.Context, st *store.Store, merchantID string) (models.Merchant, error) {
	m, err := st.Merchant(ctx, merchantID)
	if err != nil {
		return models.Merchant{}, fmt.Errorf("load merchant: %w", err)
	}
	if m.Status != models.MerchantActive {
		return models.Merchant{}, ErrMerchantDisabled
	}
	return m, nil
}
