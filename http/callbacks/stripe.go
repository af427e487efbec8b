package callbacks

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/payflow/payflow/internal/bank/stripe"
	"github.com/payflow/payflow/models"
)

// StripeSignatureHeader carries a Stripe event's signature.
const StripeSignatureHeader = "Stripe-Signature"

// Stripe reads Stripe's webhook events as callbacks of the stripe channel: the
// signature is verified by stripe-go's webhook package with the endpoint's signing
// secret, and an event about one of our charges, refunds or payouts (its object's
// metadata "reference") becomes a hint with the event's id.
type Stripe struct {
	// Secret is the webhook endpoint's signing secret (whsec_...); empty verifies
	// nothing.
	Secret string
	// Tolerance is the oldest signature timestamp accepted; 0 is stripe-go's
	// webhook.DefaultTolerance (five minutes).
	Tolerance time.Duration
}

// stripeObject is the part of an event's object payflow reads.
type stripeObject struct {
	Object   string            `json:"object"`
	Status   string            `json:"status"`
	Metadata map[string]string `json:"metadata"`
}

// Channel implements Verifier.
func (Stripe) Channel() string { return stripe.Name }

// Verify implements Verifier. The now of the interface is not used: stripe-go's
// verification reads the clock itself.
func (s Stripe) Verify(h http.Header, body []byte, _ time.Time) (models.BankCallback, error) {
	if s.Secret == "" {
		return models.BankCallback{}, fmt.Errorf("%w: no Stripe webhook secret", ErrSignature)
	}
	tolerance := s.Tolerance
	if tolerance <= 0 {
		tolerance = webhook.DefaultTolerance
	}
	// ValidatePayload, then the event read here, rather than ConstructEvent: the
	// latter also refuses an event rendered in another API version than stripe-go's,
	// and the endpoint's version is Stripe's setting; the fields read below (id,
	// type, the object's kind, status and metadata) are the same in every version.
	if err := webhook.ValidatePayloadWithTolerance(body, h.Get(StripeSignatureHeader), s.Secret, tolerance); err != nil {
		return models.BankCallback{}, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	var ev stripego.Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.Data == nil {
		return models.BankCallback{}, fmt.Errorf("%w: not a Stripe event", ErrUnreadable)
	}
	if !stripeTransferEvent(string(ev.Type)) {
		return models.BankCallback{}, fmt.Errorf("%w: event type %s", ErrIgnored, ev.Type)
	}
	var obj stripeObject
	if err := json.Unmarshal(ev.Data.Raw, &obj); err != nil {
		return models.BankCallback{}, fmt.Errorf("%w: event %s: the object is not readable", ErrUnreadable, ev.ID)
	}
	switch obj.Object {
	case "charge", "refund", "payout":
	default:
		// charge.dispute.* and the like: not a movement payflow made.
		return models.BankCallback{}, fmt.Errorf("%w: event %s is about a %q", ErrIgnored, ev.Type, obj.Object)
	}
	ref := obj.Metadata[stripe.MetadataReference]
	if !ourReference(ref) {
		// An object of another integration on the same Stripe account.
		return models.BankCallback{}, fmt.Errorf("%w: %s %s carries no payflow reference", ErrIgnored, ev.Type, obj.Object)
	}
	return models.BankCallback{Reference: ref, Channel: stripe.Name, Status: stripeClaimedStatus(obj.Status), EventID: ev.ID}, nil
}

// stripeTransferEvent reports whether an event type is about a charge, a refund or a
// payout: charge.* (charge.refund.updated included), refund.*, payout.*.
func stripeTransferEvent(t string) bool {
	for _, p := range []string{"charge.", "refund.", "payout."} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// ourReference reports whether a reference has the shape of a payflow bank
// reference (a charge, refund or payout of ours, or a reversal).
func ourReference(ref string) bool {
	for _, p := range []string{models.PrefixPayment, models.PrefixTopup, models.PrefixRefund, models.PrefixWithdrawal, models.PrefixReversal} {
		if models.ValidID(p, ref) {
			return true
		}
	}
	return false
}

// stripeClaimedStatus is the bank status an object's status claims, for the logs
// only (the flow believes its own query): charges, refunds and payouts alike;
// empty when unknown.
func stripeClaimedStatus(s string) models.BankStatus {
	switch s {
	case "succeeded", "paid":
		return models.BankSucceeded
	case "pending", "in_transit", "requires_action":
		return models.BankProcessing
	case "failed":
		return models.BankFailed
	case "canceled":
		return models.BankCanceled
	}
	return ""
}
