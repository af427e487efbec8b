package stripe

import (
	"errors"
	"fmt"
	"net"
	"net/http"

	stripego "github.com/stripe/stripe-go/v82"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// classify maps an error of stripe-go onto the channel contract. It is called for
// every error except a card error on a charge, which is a business outcome
// (declined). The result wraps exactly one of the contract's errors.
func classify(op string, err error) error {
	var se *stripego.Error
	if errors.As(err, &se) {
		// Stripe's message, type and code, not se.Error(): that is the whole error
		// object as JSON, payment method details included.
		detail := fmt.Sprintf("HTTP %d %s", se.HTTPStatusCode, se.Type)
		if se.Code != "" {
			detail += " " + string(se.Code)
		}
		if se.Msg != "" {
			detail += ": " + se.Msg
		}
		switch code := se.HTTPStatusCode; {
		case code == http.StatusTooManyRequests:
			// Stripe rate limits before processing: nothing happened.
			return fmt.Errorf("%s: %s: %w", op, detail, bank.ErrUnavailable)
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			// Refused before acting (bad or restricted key): safe to retry or fail
			// over, and the operator sees it as an outage, not as declines.
			return fmt.Errorf("%s: %s: %w", op, detail, bank.ErrUnavailable)
		case code == http.StatusConflict:
			// Another request with this idempotency key is still running at
			// Stripe (ours, from an attempt that timed out): it may yet act.
			return fmt.Errorf("%s: %s: %w", op, detail, bank.ErrUnknownOutcome)
		case code >= 400 && code < 500:
			return fmt.Errorf("%s: %s: %w", op, detail, bank.ErrInvalid)
		default:
			return fmt.Errorf("%s: %s: %w", op, detail, bank.ErrUnknownOutcome)
		}
	}
	if isDialError(err) {
		// The connection was never made: nothing reached Stripe.
		return fmt.Errorf("%s: %w: %v", op, bank.ErrUnavailable, err)
	}
	// A timeout or reset after sending, or an answer that is not Stripe's JSON
	// (a proxy's 502 page, a cut body): Stripe may have acted.
	return fmt.Errorf("%s: %w: %v", op, bank.ErrUnknownOutcome, err)
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// declined returns the failed transfer of a charge the card refused (a card_error,
// HTTP 402), or false for any other error.
func declined(r bank.ChargeRequest, err error) (bank.Transfer, bool) {
	var se *stripego.Error
	if !errors.As(err, &se) || se.Type != stripego.ErrorTypeCard {
		return bank.Transfer{}, false
	}
	return bank.Transfer{
		Reference:   r.Reference,
		Channel:     Name,
		Kind:        bank.KindCharge,
		Amount:      r.Amount,
		Currency:    r.Currency,
		Status:      models.BankFailed,
		FailureCode: chargeFailureCode(string(se.Code), string(se.DeclineCode)),
		BankID:      se.ChargeID,
	}, true
}

// chargeFailureCode maps Stripe's error code and decline code (or a failed
// charge's failure_code and outcome reason) onto the product's codes:
// insufficient_funds when either says so, card_declined for every other refusal
// (card_declined, expired_card, incorrect_cvc, processing_error, fraud...).
func chargeFailureCode(codes ...string) models.FailureCode {
	for _, c := range codes {
		if c == "insufficient_funds" {
			return models.FailureInsufficientFunds
		}
	}
	return models.FailureCardDeclined
}
