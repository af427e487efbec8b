package identity

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/payflow/payflow/internal/signing"
)

// SignatureHeader carries the signature of the bureau's callback, the same
// header and scheme as the bank's transfer callbacks (http/callbacks.Banksim).
const SignatureHeader = "X-Banksim-Signature"

// Errors of ParseBureauCallback.
var (
	// ErrSignature is a callback whose signature is missing, wrong or stale:
	// answer 401 and let the bureau retry.
	ErrSignature = errors.New("bureau callback signature invalid")
	// ErrUnreadable is a signed callback that is not a completed credit query.
	ErrUnreadable = errors.New("bureau callback unreadable")
)

// bureauCallback is the body of the bureau's callback.
type bureauCallback struct {
	Type      string `json:"type"`
	RequestID string `json:"request_id"`
	Status    string `json:"status"`
}

// ParseBureauCallback verifies a credit_query.completed callback's signature
// header (the value of SignatureHeader) against its raw body with the callback
// secret, and returns the query's request id and status (ReportReady or
// ReportNoRecord). The report itself is fetched with Client.Report: the
// callback only says it is there. ErrSignature, ErrUnreadable.
func ParseBureauCallback(secret, header string, body []byte) (requestID, status string, err error) {
	return parseBureauCallback(secret, header, body, time.Now())
}

func parseBureauCallback(secret, header string, body []byte, now time.Time) (string, string, error) {
	if secret == "" {
		return "", "", fmt.Errorf("%w: no callback secret", ErrSignature)
	}
	if err := signing.VerifyWebhook(secret, header, body, now, bureauCallbackTolerance); err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrSignature, err)
	}
	var cb bureauCallback
	if err := json.Unmarshal(body, &cb); err != nil {
		return "", "", fmt.Errorf("%w: not JSON", ErrUnreadable)
	}
	switch {
	case cb.Type != bureauCallbackType:
		return "", "", fmt.Errorf("%w: type %q", ErrUnreadable, cb.Type)
	case cb.RequestID == "":
		return "", "", fmt.Errorf("%w: no request_id", ErrUnreadable)
	case cb.Status != ReportReady && cb.Status != ReportNoRecord:
		return "", "", fmt.Errorf("%w: status %q", ErrUnreadable, cb.Status)
	}
	return cb.RequestID, cb.Status, nil
}
