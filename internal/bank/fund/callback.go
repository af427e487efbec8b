package fund

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/payflow/payflow/internal/signing"
)

// SignatureHeader carries the signature of the fund company's callbacks, the
// same header and scheme as the bank's (http/callbacks.Banksim).
const SignatureHeader = "X-Banksim-Signature"

// callbackTolerance is how far a callback's signature time may be from now.
const callbackTolerance = 5 * time.Minute

// Errors of ParseCallback.
var (
	// ErrSignature is a callback whose signature is missing, wrong or stale:
	// answer 401 and let the fund company retry.
	ErrSignature = errors.New("fund callback signature invalid")
	// ErrUnreadable is a signed callback that is not a fund order's.
	ErrUnreadable = errors.New("fund callback unreadable")
)

// Callback is a fund order's callback. The same EventID may arrive twice (a
// redelivery): the order's state is what counts, and it changes only once.
type Callback struct {
	// Type is CallbackConfirmed, CallbackRejected or CallbackPaid.
	Type    string     `json:"type"`
	EventID string     `json:"event_id"`
	Order   OrderState `json:"order"`
}

// ParseCallback verifies a callback's signature header (the value of
// SignatureHeader) against its raw body with the callback secret, and returns
// the callback. ErrSignature, ErrUnreadable.
func ParseCallback(secret, header string, body []byte) (Callback, error) {
	return parseCallback(secret, header, body, time.Now())
}

// wantStatus is the order status each callback type carries.
var wantStatus = map[string]string{
	CallbackConfirmed: StatusConfirmed,
	CallbackRejected:  StatusRejected,
	CallbackPaid:      StatusPaid,
}

func parseCallback(secret, header string, body []byte, now time.Time) (Callback, error) {
	if secret == "" {
		return Callback{}, fmt.Errorf("%w: no callback secret", ErrSignature)
	}
	if err := signing.VerifyWebhook(secret, header, body, now, callbackTolerance); err != nil {
		return Callback{}, fmt.Errorf("%w: %w", ErrSignature, err)
	}
	var cb Callback
	if err := json.Unmarshal(body, &cb); err != nil {
		return Callback{}, fmt.Errorf("%w: not a fund callback of integers", ErrUnreadable)
	}
	o := cb.Order
	status, ok := wantStatus[cb.Type]
	switch {
	case !ok:
		return Callback{}, fmt.Errorf("%w: type %q", ErrUnreadable, cb.Type)
	case cb.EventID == "":
		return Callback{}, fmt.Errorf("%w: no event_id", ErrUnreadable)
	case o.OrderID == "":
		return Callback{}, fmt.Errorf("%w: no order_id", ErrUnreadable)
	case o.Status != status:
		return Callback{}, fmt.Errorf("%w: %s with status %q", ErrUnreadable, cb.Type, o.Status)
	case o.Kind != KindSubscription && o.Kind != KindRedemption:
		return Callback{}, fmt.Errorf("%w: kind %q", ErrUnreadable, o.Kind)
	case o.Status != StatusRejected && (o.NAV <= 0 || o.Shares < 0 || o.Amount < 0 || o.Fee < 0):
		return Callback{}, fmt.Errorf("%w: order %s confirmed without a NAV or with a negative quantity", ErrUnreadable, o.OrderID)
	}
	return cb, nil
}
