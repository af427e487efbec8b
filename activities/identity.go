package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// IdentityBank is the bank's and the bureau's identity services, by our request id
// (the object's id), which they keep as their idempotency key: asked again, they
// answer what they answered. ErrIdentityUnavailable wraps every answer that may be
// retried (no answer, a timeout, a 5xx): it is never proof of anything.
type IdentityBank interface {
	Verify(ctx context.Context, requestID string, id models.Identity) (models.VerificationAnswer, error)
	StartBinding(ctx context.Context, requestID string, id models.Identity) (models.BindingState, error)
	ConfirmBinding(ctx context.Context, requestID, otp string) (models.BindingState, error)
	RemoveBinding(ctx context.Context, requestID string) error
	RequestReport(ctx context.Context, requestID string, s models.Subject, purpose, callbackURL string) error
	Report(ctx context.Context, requestID string) (models.BureauAnswer, error)
}

// ErrIdentityUnavailable: the service did not answer (retried).
var ErrIdentityUnavailable = errors.New("identity service unavailable")

// Cache is where verification answers are kept for a while (package cache: Redis,
// or in-process). It is never storage: any error is a miss, and a lost entry costs
// one more question to the bank.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// Identity holds the activities of the identity services: verifications, card
// bindings and credit reports.
type Identity struct {
	Store  *store.Store
	Ledger *ledger.Ledger
	Bank   IdentityBank
	Cache  Cache
	// BureauCallbackURL is where the bureau calls back ("" for none: the flow polls).
	BureauCallbackURL string
	Log               *logrus.Entry
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

func (a *Identity) bankError(ctx context.Context, err error, what string) error {
	if errors.Is(err, ErrIdentityUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		logger(ctx, a.Log).WithError(err).Warn(what + ": no answer, asking again")
		return retryableError(models.ErrTypeUnknownOutcome, err)
	}
	logger(ctx, a.Log).WithError(err).Error(what + ": refused")
	return businessError(models.FailureCode(models.ErrTypeInvalidInput), fmt.Sprintf("%s: %v", what, err))
}

// LookupVerification answers what the cache holds for the elements' key (nil: a
// miss). A cache that fails is a miss: the bank is asked.
func (a *Identity) LookupVerification(ctx context.Context, key string) (*models.VerificationAnswer, error) {
	if a.Cache == nil || key == "" {
		return nil, nil
	}
	log := logger(ctx, a.Log)
	b, ok, err := a.Cache.Get(ctx, key)
	if err != nil {
		log.WithError(err).Warn("cache lookup failed: asking the bank")
		return nil, nil
	}
	if !ok {
		return nil, nil
	}
	var ans models.VerificationAnswer
	if err := json.Unmarshal(b, &ans); err != nil || (ans.Result != models.VerificationMatch && ans.Result != models.VerificationMismatch) {
		log.Warn("unreadable cache entry: asking the bank")
		return nil, nil
	}
	return &ans, nil
}

// VerifyAtBank asks the bank to verify the elements under the verification's id.
func (a *Identity) VerifyAtBank(ctx context.Context, in models.VerificationInput) (models.VerificationAnswer, error) {
	ans, err := a.Bank.Verify(ctx, in.VerificationID, in.Identity)
	if err != nil {
		return models.VerificationAnswer{}, a.bankError(ctx, err, "verify")
	}
	logger(ctx, a.Log).WithFields(logrus.Fields{"verification_id": in.VerificationID, "result": ans.Result}).Info("bank verified")
	return ans, nil
}

// FinishIdentityInput ends a verification or a credit report: its fee (settling the
// hold placed for it, or straight from the settlement account when none was) and
// its outcome, in one transaction.
type FinishIdentityInput struct {
	Flow       models.Flow     `json:"flow"`
	ObjectID   string          `json:"object_id"`
	MerchantID string          `json:"merchant_id"`
	Currency   models.Currency `json:"currency"`
	HoldID     string          `json:"hold_id,omitempty"`
	Fee        int64           `json:"fee"`
	PostingKey string          `json:"posting_key"`

	Verification *models.VerificationOutcome `json:"verification,omitempty"`
	// CacheKey and CacheTTL: a bank's verification answer is cached under the key.
	CacheKey string        `json:"cache_key,omitempty"`
	CacheTTL time.Duration `json:"cache_ttl,omitempty"`

	Report    *models.CreditReportResult `json:"report,omitempty"`
	Content   json.RawMessage            `json:"content,omitempty"`
	Retention time.Duration              `json:"retention,omitempty"`
}

// FinishIdentity books the fee and records the outcome (see FinishIdentityInput). A
// second run finds the journal and the recorded outcome.
func (a *Identity) FinishIdentity(ctx context.Context, in FinishIdentityInput) error {
	log := logger(ctx, a.Log).WithField("object_id", in.ObjectID)
	var p ledger.Posting
	charge := in.Fee > 0
	if charge {
		settlement, err := a.Ledger.EnsureAccount(ctx, ledger.SettlementSpec(in.MerchantID, in.Currency))
		if err != nil {
			return ledgerError(log, err, "the settlement account")
		}
		fees, err := a.Ledger.EnsureAccount(ctx, ledger.FeesSpec(in.Currency))
		if err != nil {
			return ledgerError(log, err, "the fees account")
		}
		p = ledger.Posting{
			Key: in.PostingKey, Flow: in.Flow, FlowID: in.ObjectID, MerchantID: in.MerchantID,
			Description: string(in.Flow) + " fee", Currency: in.Currency,
			Legs: []ledger.Leg{{AccountID: settlement, Amount: -in.Fee}, {AccountID: fees, Amount: in.Fee}},
		}
	}
	var record func(tx *ledger.Tx) error
	switch {
	case in.Verification != nil:
		o := *in.Verification
		record = func(tx *ledger.Tx) error { return tx.SetVerificationOutcome(in.ObjectID, o) }
	case in.Report != nil:
		o := store.ReportOutcome{Status: in.Report.Status, FailureCode: in.Report.FailureCode, Fee: in.Fee}
		if len(in.Content) > 0 {
			sealed, err := a.Store.Seal(string(in.Content), in.ObjectID, "report")
			if err != nil {
				return retryableError(models.ErrTypeDatabase, err)
			}
			now := clock(a.Now).UTC()
			o.ReportSealed, o.ReadyAt, o.ExpiresAt = sealed, now, now.Add(in.Retention)
		}
		record = func(tx *ledger.Tx) error { return tx.SetCreditReportOutcome(in.ObjectID, o) }
	default:
		return businessError(models.FailureCode(models.ErrTypeInvalidInput), "finish without an outcome")
	}
	err := a.Ledger.Run(ctx, func(tx *ledger.Tx) error {
		switch {
		case charge && in.HoldID != "":
			if _, err := tx.SettleHold(in.HoldID, p); err != nil {
				return err
			}
		case charge:
			if _, err := tx.Post(p); err != nil {
				return err
			}
		case in.HoldID != "":
			if _, err := tx.ReleaseHold(in.HoldID); err != nil {
				return err
			}
		}
		return record(tx)
	})
	if err != nil {
		return ledgerError(log, err, "the fee")
	}
	if v := in.Verification; v != nil && v.Answer != nil && !v.Cached && in.CacheKey != "" && a.Cache != nil {
		// After the commit: a cache entry never answers for a verification that was
		// not recorded. A failed write is a later miss, nothing more.
		if b, err := json.Marshal(v.Answer); err == nil {
			if err := a.Cache.Set(ctx, in.CacheKey, b, in.CacheTTL); err != nil {
				log.WithError(err).Warn("cache the verification answer")
			}
		}
	}
	log.WithFields(logrus.Fields{"flow": in.Flow, "fee": in.Fee}).Info("identity flow recorded")
	return nil
}

// StartBindingAtBank checks the four elements at the bank and has it send the
// one-time code (under the card's id: asked again, no second code).
func (a *Identity) StartBindingAtBank(ctx context.Context, in models.CardBindingInput) (models.BindingState, error) {
	st, err := a.Bank.StartBinding(ctx, in.CardID, in.Identity)
	if err != nil {
		return models.BindingState{}, a.bankError(ctx, err, "start binding")
	}
	logger(ctx, a.Log).WithFields(logrus.Fields{"card_id": in.CardID, "status": st.Status}).Info("binding started at the bank")
	return st, nil
}

// ConfirmBindingInput is a customer's code for a binding.
type ConfirmBindingInput struct {
	CardID string `json:"card_id"`
	OTP    string `json:"otp"`
}

// ConfirmBindingAtBank hands the customer's code to the bank.
func (a *Identity) ConfirmBindingAtBank(ctx context.Context, in ConfirmBindingInput) (models.BindingState, error) {
	st, err := a.Bank.ConfirmBinding(ctx, in.CardID, in.OTP)
	if err != nil {
		return models.BindingState{}, a.bankError(ctx, err, "confirm binding")
	}
	return st, nil
}

// RemoveBindingAtBank ends the card's agreement at the bank.
func (a *Identity) RemoveBindingAtBank(ctx context.Context, cardID string) error {
	if err := a.Bank.RemoveBinding(ctx, cardID); err != nil {
		return a.bankError(ctx, err, "remove binding")
	}
	return nil
}

// RecordBindingInput is a binding's change to record.
type RecordBindingInput struct {
	CardID       string                 `json:"card_id"`
	Status       models.BoundCardStatus `json:"status,omitempty"`
	FailureCode  models.FailureCode     `json:"failure_code,omitempty"`
	Card         *models.CardInfo       `json:"card,omitempty"`
	AgreementNo  string                 `json:"agreement_no,omitempty"`
	AttemptsLeft *int                   `json:"attempts_left,omitempty"`
}

// RecordBinding records a binding's change (the agreement sealed).
func (a *Identity) RecordBinding(ctx context.Context, in RecordBindingInput) error {
	err := a.Store.UpdateBoundCard(ctx, in.CardID, store.BindingUpdate{
		Status: in.Status, FailureCode: in.FailureCode, Card: in.Card, AgreementNo: in.AgreementNo, AttemptsLeft: in.AttemptsLeft,
	})
	if err != nil {
		return retryableError(models.ErrTypeDatabase, err)
	}
	return nil
}

// RequestReportAtBureau asks the bureau for the subject's report under the report's
// id.
func (a *Identity) RequestReportAtBureau(ctx context.Context, in models.CreditReportInput) error {
	if err := a.Bank.RequestReport(ctx, in.ReportID, in.Subject, in.Purpose, a.BureauCallbackURL); err != nil {
		return a.bankError(ctx, err, "request report")
	}
	return nil
}

// QueryReportAtBureau asks the bureau where the report is.
func (a *Identity) QueryReportAtBureau(ctx context.Context, reportID string) (models.BureauAnswer, error) {
	ans, err := a.Bank.Report(ctx, reportID)
	if err != nil {
		return models.BureauAnswer{}, a.bankError(ctx, err, "query report")
	}
	return ans, nil
}
