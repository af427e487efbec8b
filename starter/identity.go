package starter

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// IdentityFlows starts and talks to the identity flows (the Starter).
type IdentityFlows interface {
	StartIdentity(ctx context.Context, f IdentityStart) error
	ConfirmCard(ctx context.Context, workflowID string, c models.ConfirmCard) (models.ConfirmCardResult, error)
	SignalRemoveCard(ctx context.Context, workflowID string) error
	State(ctx context.Context, workflowID string) (models.FlowState, error)
	Awaiter
}

// IdentityHMACKey derives the key of the identity HMACs from the secrets key: one
// key per purpose, so that an HMAC never doubles as anything else.
func IdentityHMACKey(secretsKey []byte) []byte {
	m := hmac.New(sha256.New, secretsKey)
	m.Write([]byte("payflow identity lookups v1"))
	return m.Sum(nil)
}

// IdentityConfig is the identity services' configuration.
type IdentityConfig struct {
	// HMACKey keys the HMACs that stand for personal data in lookups (the
	// verification cache, a report's subject).
	HMACKey        []byte
	CacheTTL       time.Duration
	CreditReuse    time.Duration
	CreditRetain   time.Duration
	BureauPoll     time.Duration
	BureauDeadline time.Duration
	OTPWindow      time.Duration
	// SyncWait is how long a verification's request waits for its answer before it
	// is answered 202 (processing).
	SyncWait time.Duration
}

// Identity is the identity services: bank-card verifications, cards bound to
// wallets and credit reports.
type Identity struct {
	Deps
	Flows IdentityFlows
	Cfg   IdentityConfig
}

// Errors of the identity services.
var (
	// ErrConsentInvalid: the subject's consent is older than 30 days or in the
	// future.
	ErrConsentInvalid = errors.New("consent older than 30 days or in the future")
	// ErrCardNotActive: the bound card is not active (pending, failed, removed).
	ErrCardNotActive = errors.New("the card is not active")
	// ErrBindingBusy: the binding's flow took no code just now (it was starting or
	// ending); nothing was tried.
	ErrBindingBusy = errors.New("the binding took no code just now")
)

// OTPError is a wrong or refused one-time code: its code (otp_incorrect,
// otp_attempts_exceeded, otp_expired) and the tries left.
type OTPError struct {
	Code         string
	AttemptsLeft int
	Card         models.BoundCard
}

func (e *OTPError) Error() string { return "one-time code refused: " + e.Code }

// NewVerification is a verification request that passed the API's checks.
type NewVerification struct {
	Idempotent
	Identity models.Identity
}

func (s *Identity) wait() time.Duration {
	if s.Cfg.SyncWait > 0 {
		return s.Cfg.SyncWait
	}
	return 10 * time.Second
}

// CreateVerification stores a verification and runs its flow, answering its result
// when the flow ends within the wait (it normally does in well under a second).
func (s *Identity) CreateVerification(ctx context.Context, req NewVerification) (Created[models.Verification], error) {
	m, err := activeMerchant(ctx, s.Store, req.MerchantID)
	if err != nil {
		return Created[models.Verification]{}, err
	}
	id := req.Identity
	v := models.Verification{
		ID: models.NewID(models.PrefixVerification), Object: "verification", Type: "bank_card",
		Status: models.VerificationProcessing, MismatchedFields: []string{}, Elements: id.Masked(),
		Currency: m.DefaultCurrency, CreatedAt: s.now(),
	}
	kind := identityKind(models.FlowVerification, func(v models.Verification) bool { return v.Status != models.VerificationProcessing },
		func(tx *gorm.DB, v models.Verification) error {
			return store.InsertVerification(tx, req.MerchantID, id.Elements(), v)
		},
		(*store.Store).Verification)
	req.Wait = s.wait()
	return createAndStart(ctx, s.Deps, s.Flows, req.Idempotent, kind, v.ID, v, func(ctx context.Context, v models.Verification) error {
		return s.Flows.StartIdentity(ctx, IdentityStart{
			Flow: models.FlowVerification, MerchantID: req.MerchantID, ObjectID: v.ID, Currency: v.Currency, Fee: m.VerificationFee,
			Input: models.VerificationInput{
				VerificationID: v.ID, MerchantID: req.MerchantID, Identity: id, Currency: v.Currency,
				Fee: m.VerificationFee, CachedFee: m.VerificationCachedFee,
				// Per merchant: another merchant's verification of the same card is
				// none of this one's business, not even that it happened.
				CacheKey: "verification:" + models.IdentityKey(s.Cfg.HMACKey, req.MerchantID, id.CardNumber, id.Name, id.IDNumber, id.Phone),
				CacheTTL: s.Cfg.CacheTTL,
			},
		})
	})
}

// identityKind is how the identity objects go through createAndStart.
func identityKind[T any](flow models.Flow, final func(T) bool, insert func(*gorm.DB, T) error,
	load func(*store.Store, context.Context, string, string) (T, error)) moneyKind[T] {
	return moneyKind[T]{
		name: string(flow), flow: flow, channel: func(T) string { return "" },
		workflowID: func(merchantID, id string) string { return workflows.FlowWorkflowID(flow, merchantID, id) },
		insert:     insert, load: load, final: final,
	}
}

// Verification returns one of the merchant's verifications.
func (s *Identity) Verification(ctx context.Context, merchantID, id string) (models.Verification, error) {
	return s.Store.Verification(ctx, merchantID, id)
}

// ListVerifications pages through the merchant's verifications.
func (s *Identity) ListVerifications(ctx context.Context, q ListQuery) ([]models.Verification, bool, error) {
	if err := checkCursor(ctx, q.MerchantID, q.StartingAfter, s.Store.Verification); err != nil {
		return nil, false, err
	}
	return s.Store.ListVerifications(ctx, q)
}

// NewCard is a card binding request that passed the API's checks.
type NewCard struct {
	Idempotent
	AccountID string
	Identity  models.Identity
}

// wallet checks that accountID is one of the merchant's wallets.
func (s *Identity) wallet(ctx context.Context, merchantID, accountID string) error {
	a, err := s.Ledger.Account(ctx, merchantID, accountID)
	switch {
	case errors.Is(err, ledger.ErrAccountNotFound) || errors.Is(err, store.ErrNotFound) || err == nil && a.Kind != ledger.KindCustomerWallet:
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("get account %s: %w", accountID, err)
	}
	return nil
}

// CreateCard starts binding a card to a wallet: the bank checks the four elements
// and sends the card's phone a code. It answers once the bank has answered
// (pending_otp, or failed), or pending_otp after the wait.
func (s *Identity) CreateCard(ctx context.Context, req NewCard) (Created[models.BoundCard], error) {
	if err := s.wallet(ctx, req.MerchantID, req.AccountID); err != nil {
		return Created[models.BoundCard]{}, err
	}
	if _, err := activeMerchant(ctx, s.Store, req.MerchantID); err != nil {
		return Created[models.BoundCard]{}, err
	}
	id := req.Identity
	c := models.BoundCard{ID: models.NewID(models.PrefixBoundCard), Object: "card", AccountID: req.AccountID,
		Status: models.BoundCardPendingOTP, CreatedAt: s.now()}
	kind := identityKind(models.FlowCardBinding, func(c models.BoundCard) bool { return c.Status != models.BoundCardPendingOTP },
		func(tx *gorm.DB, c models.BoundCard) error { return s.Store.InsertBoundCard(tx, req.MerchantID, c, id) },
		func(st *store.Store, ctx context.Context, merchantID, cardID string) (models.BoundCard, error) {
			return st.BoundCard(ctx, merchantID, req.AccountID, cardID)
		})
	out, err := createAndStart(ctx, s.Deps, s.Flows, req.Idempotent, kind, c.ID, c, func(ctx context.Context, c models.BoundCard) error {
		window := s.Cfg.OTPWindow
		if window <= 0 {
			window = models.OTPWindow
		}
		return s.Flows.StartIdentity(ctx, IdentityStart{
			Flow: models.FlowCardBinding, MerchantID: req.MerchantID, ObjectID: c.ID,
			Input: models.CardBindingInput{CardID: c.ID, MerchantID: req.MerchantID, AccountID: req.AccountID, Identity: id, OTPWindow: window},
		})
	})
	if err != nil {
		return out, err
	}
	// The answer waits for the bank's first word: a code sent, or the binding failed.
	wfID := workflows.FlowWorkflowID(models.FlowCardBinding, req.MerchantID, out.Object.ID)
	deadline := time.Now().Add(s.wait())
	for out.Object.Status == models.BoundCardPendingOTP && time.Now().Before(deadline) {
		st, err := s.Flows.State(ctx, wfID)
		if err == nil && st.Stage != models.StageValidating {
			break
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-time.After(100 * time.Millisecond):
		}
	}
	if got, err := s.Store.BoundCard(ctx, req.MerchantID, req.AccountID, out.Object.ID); err == nil {
		out.Object = got
	}
	return out, nil
}

// Card returns a card bound to one of the merchant's wallets.
func (s *Identity) Card(ctx context.Context, merchantID, accountID, id string) (models.BoundCard, error) {
	if err := s.wallet(ctx, merchantID, accountID); err != nil {
		return models.BoundCard{}, err
	}
	return s.Store.BoundCard(ctx, merchantID, accountID, id)
}

// ListCards pages through the cards of a wallet.
func (s *Identity) ListCards(ctx context.Context, merchantID, accountID string, limit int, after string) ([]models.BoundCard, bool, error) {
	if err := s.wallet(ctx, merchantID, accountID); err != nil {
		return nil, false, err
	}
	if after != "" {
		if _, err := s.Store.BoundCard(ctx, merchantID, accountID, after); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, false, ErrUnknownCursor
			}
			return nil, false, err
		}
	}
	return s.Store.ListBoundCards(ctx, merchantID, accountID, limit, after)
}

// ConfirmCard hands the customer's code to the card's binding flow. A right code
// answers the active card; a wrong one an OTPError with the tries left; a binding
// that already ended an OTPError with its failure (or ErrCardNotActive).
func (s *Identity) ConfirmCard(ctx context.Context, merchantID, accountID, cardID, otp string) (models.BoundCard, error) {
	c, err := s.Card(ctx, merchantID, accountID, cardID)
	if err != nil {
		return models.BoundCard{}, err
	}
	if c.Status != models.BoundCardPendingOTP {
		return c, endedBinding(c)
	}
	res, uerr := s.Flows.ConfirmCard(ctx, workflows.FlowWorkflowID(models.FlowCardBinding, merchantID, cardID), models.ConfirmCard{OTP: otp})
	if uerr != nil && !errors.Is(uerr, ErrFlowNotFound) && !errors.Is(uerr, ErrUpdateRejected) {
		return models.BoundCard{}, uerr
	}
	if c, err = s.Store.BoundCard(ctx, merchantID, accountID, cardID); err != nil {
		return models.BoundCard{}, err
	}
	switch {
	case c.Status == models.BoundCardActive:
		return c, nil
	case c.Status != models.BoundCardPendingOTP:
		return c, endedBinding(c)
	case uerr == nil && !res.Correct:
		return c, &OTPError{Code: "otp_incorrect", AttemptsLeft: res.AttemptsLeft, Card: c}
	}
	// The flow took no code (it was ending, or not started yet) and the card is
	// still pending: nothing was tried; the customer may send the code again.
	return c, ErrBindingBusy
}

func endedBinding(c models.BoundCard) error {
	if c.Status == models.BoundCardFailed && (c.FailureCode == models.FailureOTPAttemptsExceeded || c.FailureCode == models.FailureOTPExpired) {
		return &OTPError{Code: string(c.FailureCode), Card: c}
	}
	return ErrCardNotActive
}

// RemoveCard removes a card: at once for new flows (recorded here), and at the bank
// by its flow.
func (s *Identity) RemoveCard(ctx context.Context, merchantID, accountID, cardID string) (models.BoundCard, error) {
	if _, err := s.Card(ctx, merchantID, accountID, cardID); err != nil {
		return models.BoundCard{}, err
	}
	if err := s.Store.UpdateBoundCard(ctx, cardID, store.BindingUpdate{Status: models.BoundCardRemoved}); err != nil {
		return models.BoundCard{}, err
	}
	err := s.Flows.SignalRemoveCard(ctx, workflows.FlowWorkflowID(models.FlowCardBinding, merchantID, cardID))
	if err != nil && !errors.Is(err, ErrFlowNotFound) {
		// Recorded removed; the flow learns it from the client's retry of DELETE.
		return models.BoundCard{}, err
	}
	return s.Store.BoundCard(ctx, merchantID, accountID, cardID)
}

// NewCreditReport is a credit report request that passed the API's checks.
type NewCreditReport struct {
	Idempotent
	Subject   models.Subject
	Purpose   string
	Consent   models.Consent
	Refresh   bool
	NotifyURL string
}

// CreateCreditReport stores a report request and runs its flow. A ready report of
// the same subject, asked by the same merchant within the reuse window, answers it
// unless Refresh.
func (s *Identity) CreateCreditReport(ctx context.Context, req NewCreditReport) (Created[models.CreditReport], error) {
	now := s.now()
	if req.Consent.GrantedAt.After(now.Add(time.Minute)) || now.Sub(req.Consent.GrantedAt) > models.ConsentMaxAge {
		return Created[models.CreditReport]{}, ErrConsentInvalid
	}
	m, err := activeMerchant(ctx, s.Store, req.MerchantID)
	if err != nil {
		return Created[models.CreditReport]{}, err
	}
	subjectHash := models.IdentityKey(s.Cfg.HMACKey, "subject", req.Subject.IDNumber)
	var reused *store.ReusableReport
	if !req.Refresh && s.Cfg.CreditReuse > 0 {
		r, err := s.Store.ReusableCreditReport(ctx, req.MerchantID, subjectHash, now.Add(-s.Cfg.CreditReuse))
		switch {
		case err == nil:
			reused = &r
		case !errors.Is(err, store.ErrNotFound):
			return Created[models.CreditReport]{}, err
		}
	}
	fee := m.CreditReportFee
	if reused != nil {
		fee = m.CreditReportReuseFee
	}
	r := models.CreditReport{
		ID: models.NewID(models.PrefixCreditReport), Object: "credit_report", Status: models.CreditReportProcessing,
		// The answer shows the subject as every read does: masked.
		Subject: models.Subject{Name: models.MaskName(req.Subject.Name), IDNumber: models.MaskIDNumber(req.Subject.IDNumber)},
		Purpose: req.Purpose, Currency: m.DefaultCurrency, NotifyURL: cmp.Or(req.NotifyURL, m.NotifyURL), CreatedAt: now,
	}
	kind := identityKind(models.FlowCreditReport, func(r models.CreditReport) bool { return r.Status != models.CreditReportProcessing },
		func(tx *gorm.DB, r models.CreditReport) error {
			return s.Store.InsertCreditReport(tx, store.NewCreditReport{
				Report: r, MerchantID: req.MerchantID, SubjectHash: subjectHash, Subject: req.Subject, Consent: req.Consent, Reused: reused,
			})
		},
		(*store.Store).CreditReport)
	if reused != nil {
		req.Wait = s.wait()
	}
	return createAndStart(ctx, s.Deps, s.Flows, req.Idempotent, kind, r.ID, r, func(ctx context.Context, r models.CreditReport) error {
		in := models.CreditReportInput{
			ReportID: r.ID, MerchantID: req.MerchantID, Subject: req.Subject, Purpose: req.Purpose, Currency: r.Currency,
			Fee: fee, NotifyURL: r.NotifyURL, Poll: s.Cfg.BureauPoll, Deadline: s.Cfg.BureauDeadline, Retention: s.Cfg.CreditRetain,
		}
		if reused != nil {
			in.ReusedFrom = reused.ID
		}
		return s.Flows.StartIdentity(ctx, IdentityStart{Flow: models.FlowCreditReport, MerchantID: req.MerchantID, ObjectID: r.ID,
			Currency: r.Currency, Fee: fee, Input: in})
	})
}

// CreditReport returns one of the merchant's reports and records the read (reader:
// who read it, requestID: the request that did).
func (s *Identity) CreditReport(ctx context.Context, merchantID, id, reader, requestID string) (models.CreditReport, error) {
	r, err := s.Store.CreditReport(ctx, merchantID, id)
	if err != nil {
		return models.CreditReport{}, err
	}
	if err := s.Store.RecordReportRead(ctx, id, merchantID, reader, requestID, s.now()); err != nil {
		// A read that cannot be recorded is not answered.
		return models.CreditReport{}, err
	}
	return r, nil
}

// CreditReportAsOperator returns any merchant's report to an operator and records
// the read.
func (s *Identity) CreditReportAsOperator(ctx context.Context, id, operator, requestID string) (models.CreditReport, error) {
	r, merchantID, err := s.Store.CreditReportByID(ctx, id)
	if err != nil {
		return models.CreditReport{}, err
	}
	if err := s.Store.RecordReportRead(ctx, id, merchantID, "operator:"+operator, requestID, s.now()); err != nil {
		return models.CreditReport{}, err
	}
	return r, nil
}

// ReportReads pages through the reads of one of the merchant's reports ("" merchant:
// an operator's view of any report).
func (s *Identity) ReportReads(ctx context.Context, merchantID, id string, limit int, after string) ([]models.ReportRead, bool, error) {
	if merchantID != "" {
		if _, err := s.Store.CreditReport(ctx, merchantID, id); err != nil {
			return nil, false, err
		}
	} else if _, _, err := s.Store.CreditReportByID(ctx, id); err != nil {
		return nil, false, err
	}
	return s.Store.ReportReads(ctx, id, limit, after)
}

// ListCreditReports pages through the merchant's reports (their content left out).
func (s *Identity) ListCreditReports(ctx context.Context, q ListQuery) ([]models.CreditReport, bool, error) {
	if err := checkCursor(ctx, q.MerchantID, q.StartingAfter, s.Store.CreditReport); err != nil {
		return nil, false, err
	}
	return s.Store.ListCreditReports(ctx, q)
}
