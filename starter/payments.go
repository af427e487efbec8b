package starter

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

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
	// OpenQR asks a QR payment's flow to bind to a wallet provider and open its
	// trade there (an Update); ErrUpdateRejected when the flow refuses.
	OpenQR(ctx context.Context, workflowID string, o models.OpenQR) (models.OpenedQR, error)
	// ConfirmPayment sends the wallet owner's confirmation to a payment's flow (an
	// Update); ErrUpdateRejected when the flow is not waiting for it.
	ConfirmPayment(ctx context.Context, workflowID string, c models.ConfirmPayment) error
	Awaiter
}

// Payments is the payments service: a payment's creation with its flow, and reads.
type Payments struct {
	Deps
	Flows PaymentFlows
	// PublicURL is where customers' apps reach payflow (a QR payment's page).
	PublicURL string
}

// NewPayment is a payment request that passed the API's checks of its fields.
type NewPayment struct {
	Idempotent
	Amount   int64
	Currency models.Currency
	// Source is a card (Token) charged through Channel, or a wallet (AccountID) of
	// the merchant in the payment's currency, moved on the ledger.
	Source models.PaymentSource
	// QRExpiresIn is how long a QR payment's code is offered (0: the default).
	QRExpiresIn time.Duration
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
	kind := paymentKind
	// providerCode is a wallet provider's payment code, whole: the flow sends it
	// to the provider; the payment keeps it masked only.
	var providerCode string
	// agreement is a bound card's agreement at its bank: what the flow charges.
	var agreement string
	switch req.Source.Type {
	case models.SourcePaymentCode:
		issuer, err := models.ParsePaymentCode(req.Source.Code)
		switch {
		case err != nil || issuer == models.IssuerNone:
			return Created[models.Payment]{}, ErrInvalidPaymentCode
		case issuer == models.IssuerWallet:
			if kind, err = s.walletCode(ctx, &req); err != nil {
				return Created[models.Payment]{}, err
			}
		default:
			providerCode = req.Source.Code
			req.Source = models.PaymentSource{Type: models.SourcePaymentCode, Code: models.MaskPaymentCode(providerCode)}
		}
	case models.SourceQR:
		// The wallet provider is whichever app opens the page first.
		req.Channel = ""
	case models.SourceBoundCard:
		var err error
		if agreement, err = s.Store.CardAgreement(ctx, req.MerchantID, "", req.Source.CardID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return Created[models.Payment]{}, ErrCardNotActive
			}
			return Created[models.Payment]{}, err
		}
		req.Source = models.PaymentSource{Type: models.SourceBoundCard, CardID: req.Source.CardID}
		req.Channel = models.BoundCardChannel
	case models.SourceAccount:
		id, ok, err := s.payingWallet(ctx, req.MerchantID, req.Source.AccountID, req.Currency)
		switch {
		case err != nil:
			return Created[models.Payment]{}, fmt.Errorf("look up source account: %w", err)
		case !ok:
			return Created[models.Payment]{}, ErrInvalidSource
		}
		req.Source = models.PaymentSource{Type: models.SourceAccount, AccountID: id}
		req.Channel = "ledger"
	}
	m, err := activeMerchant(ctx, s.Store, req.MerchantID)
	if err != nil {
		return Created[models.Payment]{}, err
	}
	now := s.now()
	pay := models.Payment{
		ConfirmationRequired: req.Source.Type == models.SourcePaymentCode && req.Amount > m.NoPasswordLimit,
		ID:                   models.NewID(models.PrefixPayment),
		Object:               "payment",
		MerchantID:           req.MerchantID,
		Amount:               req.Amount,
		Currency:             req.Currency,
		Source:               req.Source,
		Channel:              req.Channel,
		Status:               models.PaymentProcessing,
		Description:          req.Description,
		NotifyURL:            cmp.Or(req.NotifyURL, m.NotifyURL),
		Metadata:             req.Metadata,
		CreatedAt:            now,
		UpdatedAt:            now,
	}
	pay.WorkflowID = workflows.PaymentWorkflowID(req.MerchantID, pay.ID)
	if req.Source.Type == models.SourceQR {
		token, err := qrToken()
		if err != nil {
			return Created[models.Payment]{}, err
		}
		pay.NextAction = &models.NextAction{
			Type:      models.NextActionDisplayQR,
			QRURL:     strings.TrimRight(s.PublicURL, "/") + "/q/" + token,
			ExpiresAt: now.Add(cmp.Or(req.QRExpiresIn, models.DefaultQRExpiresIn)),
		}
	}
	out, err := createAndStart(ctx, s.Deps, s.Flows, req.Idempotent, kind, pay.ID, pay, func(ctx context.Context, p models.Payment) error {
		in := p.FlowInput()
		if providerCode != "" {
			// The code lives a minute at its provider: a flow started later from
			// the stored payment (the sweeper's) sends the masked code and fails.
			in.Source.Code = providerCode
		}
		if agreement != "" {
			in.Source.Token = agreement
		}
		return s.Flows.StartPayment(ctx, in)
	})
	if errors.Is(err, store.ErrPaymentCodeUnusable) {
		return out, ErrInvalidPaymentCode
	}
	return out, err
}

// walletCode resolves a payment code source: a payflow wallet code of the merchant
// names the wallet it pays from (its currency must be the payment's). The code is
// marked used in the payment's own transaction (the kind's insert), so that an
// expired, voided or used code, or two payments racing for one, store nothing but
// the one payment; a retry of the request that used it replays that payment.
// Wallet providers' codes are refused until their channels exist.
func (s *Payments) walletCode(ctx context.Context, req *NewPayment) (moneyKind[models.Payment], error) {
	code := req.Source.Code
	issuer, err := models.ParsePaymentCode(code)
	if err != nil || issuer != models.IssuerWallet {
		return moneyKind[models.Payment]{}, ErrInvalidPaymentCode
	}
	rec, err := s.Store.PaymentCode(ctx, code)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return moneyKind[models.Payment]{}, ErrInvalidPaymentCode
	case err != nil:
		return moneyKind[models.Payment]{}, err
	case rec.MerchantID != req.MerchantID:
		return moneyKind[models.Payment]{}, ErrInvalidPaymentCode
	}
	id, ok, err := s.payingWallet(ctx, req.MerchantID, rec.AccountID, req.Currency)
	switch {
	case err != nil:
		return moneyKind[models.Payment]{}, fmt.Errorf("look up the code's wallet: %w", err)
	case !ok:
		return moneyKind[models.Payment]{}, ErrInvalidPaymentCode
	}
	req.Source = models.PaymentSource{Type: models.SourcePaymentCode, AccountID: id, Code: models.MaskPaymentCode(code)}
	req.Channel = "ledger"
	kind := paymentKind
	now := s.now()
	kind.insert = func(tx *gorm.DB, p models.Payment) error {
		if err := store.UsePaymentCode(tx, code, p.MerchantID, p.ID, now); err != nil {
			return err
		}
		return store.InsertPayment(tx, p)
	}
	return kind, nil
}

// payingWallet reads the account a payment would pay from: its id and true when it
// is one of the merchant's customer wallets in the payment's currency, false when
// it is anything else or unknown; an error only when it could not be read.
func (s *Payments) payingWallet(ctx context.Context, merchantID, accountID string, cur models.Currency) (string, bool, error) {
	acct, err := s.Ledger.Account(ctx, merchantID, accountID)
	switch {
	case errors.Is(err, ledger.ErrAccountNotFound) || errors.Is(err, store.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", false, err
	}
	return acct.ID, acct.Kind == ledger.KindCustomerWallet && acct.Currency == cur, nil
}

// ErrInvalidPaymentCode: a payment code source that is not a live, unused code of
// one of the merchant's wallets in the payment's currency.
var ErrInvalidPaymentCode = fmt.Errorf("%w: payment code unknown, expired or used", ErrInvalidSource)

// ErrNotAwaitingConfirmation: the payment does not wait for its customer's
// confirmation (it never needed one, or its flow already decided).
var ErrNotAwaitingConfirmation = errors.New("the payment is not waiting for a confirmation")

// ErrNotTheWalletOwner: the confirmation names another wallet than the one the
// payment's code belongs to.
var ErrNotTheWalletOwner = errors.New("the confirmation names another wallet")

// Confirm is the wallet owner's confirmation of a wallet code payment over the
// merchant's no_password_limit: the flow moves the money once it accepts it. It
// answers the payment as stored after the flow accepted.
func (s *Payments) Confirm(ctx context.Context, merchantID, id string, c models.ConfirmPayment) (models.Payment, error) {
	p, err := s.Store.Payment(ctx, merchantID, id)
	if err != nil {
		return models.Payment{}, err
	}
	switch {
	case !p.ConfirmationRequired || p.Status != models.PaymentProcessing:
		return models.Payment{}, ErrNotAwaitingConfirmation
	case c.AccountID != p.Source.AccountID:
		return models.Payment{}, ErrNotTheWalletOwner
	}
	if err := s.Flows.ConfirmPayment(ctx, p.WorkflowID, c); err != nil {
		if errors.Is(err, ErrUpdateRejected) || errors.Is(err, ErrFlowNotFound) {
			return models.Payment{}, fmt.Errorf("%w: %v", ErrNotAwaitingConfirmation, err)
		}
		return models.Payment{}, err
	}
	return s.Store.Payment(ctx, merchantID, id)
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

// qrToken draws the token of a QR payment's page: 128 random bits.
func qrToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("draw QR token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Errors of a QR payment's page.
var (
	// ErrQRInUse: another wallet provider's app opened the code first.
	ErrQRInUse = errors.New("the code is in use by another app")
	// ErrQRExpired: the code is no longer offered (expired, or its payment ended).
	ErrQRExpired = errors.New("the code has expired")
)

// QRPayment is the QR payment whose page has the token (any merchant's: the page is
// public); ErrNotFound.
func (s *Payments) QRPayment(ctx context.Context, token string) (models.Payment, error) {
	return s.Store.PaymentByQRToken(ctx, token)
}

// OpenQR is a wallet app's visit of a QR payment's page: the payment binds to the
// app's provider (the first to come) and its trade opens there; the answer is the
// provider's checkout page. ErrNotFound, ErrQRInUse, ErrQRExpired.
func (s *Payments) OpenQR(ctx context.Context, token, provider string) (string, error) {
	p, err := s.Store.PaymentByQRToken(ctx, token)
	if err != nil {
		return "", err
	}
	if p.Status != models.PaymentProcessing || p.NextAction == nil || !s.now().Before(p.NextAction.ExpiresAt) {
		return "", ErrQRExpired
	}
	opened, err := s.Flows.OpenQR(ctx, p.WorkflowID, models.OpenQR{Provider: provider})
	switch {
	case err == nil:
		// The flow bound the payment: the provider's notifications are its now.
		if err := s.Store.BindPaymentChannel(ctx, p.ID, provider); err != nil {
			return "", err
		}
		return opened.CheckoutURL, nil
	case errors.Is(err, ErrUpdateRejected) && strings.Contains(err.Error(), workflows.ErrQRInUse.Error()):
		return "", ErrQRInUse
	case errors.Is(err, ErrUpdateRejected) || errors.Is(err, ErrFlowNotFound):
		return "", fmt.Errorf("%w: %v", ErrQRExpired, err)
	}
	return "", err
}
