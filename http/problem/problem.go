// Package problem writes RFC 9457 application/problem+json errors with payflow's
// stable codes. Handlers translate their errors into a Problem once; no internal error
// text ever reaches a client.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// Error codes of the API (api/openapi.yaml, docs/api.md). Clients switch on them; they never change meaning.
const (
	CodeInvalidRequest          = "invalid_request"
	CodeInvalidAmount           = "invalid_amount"
	CodeUnsupportedCurrency     = "unsupported_currency"
	CodeInvalidSource           = "invalid_source"
	CodeInvalidAccount          = "invalid_account"
	CodeInvalidDestination      = "invalid_destination"
	CodeNotPendingApproval      = "not_pending_approval"
	CodeAmountExceedsRefundable = "amount_exceeds_refundable"
	CodeIdempotencyKeyReused    = "idempotency_key_reused"
	CodeSignatureInvalid        = "signature_invalid"
	CodeUnauthorized            = "unauthorized"
	CodeNotFound                = "not_found"
	CodePayloadTooLarge         = "payload_too_large"
	CodeRateLimited             = "rate_limited"
	CodeMerchantDisabled        = "merchant_disabled"
	CodeUnsupportedChannel      = "unsupported_channel"
	CodeInvalidNotifyURL        = "invalid_notify_url"
	CodeConflict                = "conflict"
	CodeServiceUnavailable      = "service_unavailable"
	CodeInternal                = "internal_error"
	CodeMethodNotAllowed        = "method_not_allowed"
	CodeURITooLong              = "uri_too_long"
	CodeUnsupportedMediaType    = "unsupported_media_type"
	CodeTimeout                 = "timeout"
	CodeInvalidFee              = "invalid_fee"
	CodeInvalidDate             = "invalid_date"
	CodeLimitExceeded           = "limit_exceeded"
)

// ContentType is the media type of problem responses.
const ContentType = "application/problem+json"

// Problem is an RFC 9457 problem detail with payflow's code.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Code      string `json:"code"`
	Instance  string `json:"instance,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// AttemptsLeft is, for otp_incorrect, how many more codes a binding takes.
	AttemptsLeft *int `json:"attempts_left,omitempty"`
	// RetryAfter, when set, is sent as the Retry-After header (seconds).
	RetryAfter int `json:"-"`
}

// New returns a problem with the standard title of its status.
func New(status int, code, detail string) Problem {
	return Problem{
		Type:   "https://payflow.dev/problems/" + code,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   code,
	}
}

// Invalid is a 400 invalid_request.
func Invalid(detail string) Problem { return New(http.StatusBadRequest, CodeInvalidRequest, detail) }

// Unprocessable is a 422 with a field-level code.
func Unprocessable(code, detail string) Problem {
	return New(http.StatusUnprocessableEntity, code, detail)
}

// NotFound is a 404 not_found.
func NotFound(detail string) Problem { return New(http.StatusNotFound, CodeNotFound, detail) }

// SignatureInvalid is the one answer to every merchant authentication failure.
func SignatureInvalid() Problem {
	return New(http.StatusUnauthorized, CodeSignatureInvalid, "the request signature could not be verified")
}

// Internal is a 500 that says nothing of the cause (the log has it).
func Internal() Problem {
	return New(http.StatusInternalServerError, CodeInternal, "an internal error occurred; it has been logged")
}

// Unavailable is a 503: a dependency is down; retry with the same Idempotency-Key.
func Unavailable(detail string) Problem {
	p := New(http.StatusServiceUnavailable, CodeServiceUnavailable, detail)
	p.RetryAfter = 2
	return p
}

// Write sends p on a gin context and aborts the chain.
func Write(c *gin.Context, p Problem) {
	p.Instance = c.Request.URL.Path
	if id, ok := c.Get("request_id"); ok {
		p.RequestID, _ = id.(string)
	}
	WriteHTTP(c.Writer, p)
	c.Abort()
}

// WriteHTTP sends p on a plain ResponseWriter.
func WriteHTTP(w http.ResponseWriter, p Problem) {
	b, _ := json.Marshal(p)
	w.Header().Set("Content-Type", ContentType)
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	w.WriteHeader(p.Status)
	_, _ = w.Write(b)
}
