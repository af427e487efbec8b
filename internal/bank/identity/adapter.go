package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/models"
)

// Bank is the client as the identity activities use it (activities.IdentityBank):
// ErrUnavailable becomes activities.ErrIdentityUnavailable (asked again), any other
// error a refusal.
type Bank struct{ C *Client }

var _ activities.IdentityBank = Bank{}

func unavailable(err error) error {
	if errors.Is(err, ErrUnavailable) {
		return fmt.Errorf("%w: %w", activities.ErrIdentityUnavailable, err)
	}
	return err
}

func cardInfo(c *Card) models.CardInfo {
	if c == nil {
		return models.CardInfo{}
	}
	return models.CardInfo{Bank: c.Bank, CardType: c.CardType, Last4: c.Last4}
}

// Verify asks the bank to compare the elements.
func (b Bank) Verify(ctx context.Context, requestID string, id models.Identity) (models.VerificationAnswer, error) {
	r, err := b.C.Verify(ctx, VerifyRequest{RequestID: requestID, CardNumber: id.CardNumber, Name: id.Name, IDNumber: id.IDNumber, Phone: id.Phone})
	if err != nil {
		return models.VerificationAnswer{}, unavailable(err)
	}
	fields := r.MismatchedFields
	if fields == nil {
		fields = []string{}
	}
	return models.VerificationAnswer{Result: models.VerificationResult(r.Result), MismatchedFields: fields, Card: cardInfo(&r.Card)}, nil
}

func bindingState(s BindingState) models.BindingState {
	return models.BindingState{
		Status: s.Status, Reason: s.Reason, AgreementNo: s.AgreementNo, OTPExpiresAt: s.OTPExpiresAt,
		Card: cardInfo(s.Card), MismatchedFields: s.MismatchedFields,
	}
}

// StartBinding checks the four elements and has the bank send a code.
func (b Bank) StartBinding(ctx context.Context, requestID string, id models.Identity) (models.BindingState, error) {
	s, err := b.C.StartBinding(ctx, BindRequest{RequestID: requestID, CardNumber: id.CardNumber, Name: id.Name, IDNumber: id.IDNumber, Phone: id.Phone})
	if err != nil {
		return models.BindingState{}, unavailable(err)
	}
	return bindingState(s), nil
}

// ConfirmBinding hands the bank the customer's code.
func (b Bank) ConfirmBinding(ctx context.Context, requestID, otp string) (models.BindingState, error) {
	s, err := b.C.ConfirmBinding(ctx, requestID, otp)
	if err != nil {
		return models.BindingState{}, unavailable(err)
	}
	return bindingState(s), nil
}

// RemoveBinding ends the agreement.
func (b Bank) RemoveBinding(ctx context.Context, requestID string) error {
	return unavailable(b.C.RemoveBinding(ctx, requestID))
}

// RequestReport asks the bureau for a report.
func (b Bank) RequestReport(ctx context.Context, requestID string, s models.Subject, purpose, callbackURL string) error {
	return unavailable(b.C.RequestReport(ctx, ReportRequest{RequestID: requestID, Name: s.Name, IDNumber: s.IDNumber, Purpose: purpose, CallbackURL: callbackURL}))
}

// Report asks the bureau where a report is.
func (b Bank) Report(ctx context.Context, requestID string) (models.BureauAnswer, error) {
	s, err := b.C.Report(ctx, requestID)
	if err != nil {
		return models.BureauAnswer{}, unavailable(err)
	}
	out := models.BureauAnswer{Status: s.Status}
	if s.Report != nil {
		if out.Report, err = json.Marshal(s.Report); err != nil {
			return models.BureauAnswer{}, err
		}
	}
	return out, nil
}
