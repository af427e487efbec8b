package banksim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/sirupsen/logrus"
)

// Error codes of the HTTP API.
const (
	ErrCodeInvalidRequest    = "invalid_request"
	ErrCodeNotFound          = "not_found"
	ErrCodeReferenceConflict = "reference_conflict"
	ErrCodeBankUnavailable   = "bank_unavailable"
	ErrCodeTimeout           = "timeout"
	ErrCodeInternal          = "internal"
	ErrCodeNoRoute           = "no_route"
	ErrCodeNotCancelable     = "not_cancelable"
)

// maxRequestBody bounds channel and admin request bodies (the batch inject
// streams and is not bounded).
const maxRequestBody = 1 << 20

// errorBody is every error answer.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own types are marshalled; this cannot happen short of a bug.
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Error: code, Message: message})
}

func writeInvalid(w http.ResponseWriter, err error) {
	writeError(w, http.StatusBadRequest, ErrCodeInvalidRequest, err.Error())
}

// writeInternal logs err once, here where it is handled, and answers without
// echoing it.
func writeInternal(w http.ResponseWriter, log *logrus.Entry, err error) {
	log.WithError(err).Error("request failed")
	writeError(w, http.StatusInternalServerError, ErrCodeInternal, "")
}

func writeUnavailable(w http.ResponseWriter) {
	writeError(w, http.StatusServiceUnavailable, ErrCodeBankUnavailable, "refused before processing: nothing was executed")
}

// errEmptyBody is decodeJSON's error for a request without a body.
var errEmptyBody = errors.New("empty")

// decodeJSON reads exactly one JSON value from the body into dst. Its error
// is fit for the client (it describes their input, nothing of ours).
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBody))
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("body: %w", describeJSONError(err))
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return errors.New("body: unexpected data after the JSON object")
	}
	return nil
}

func describeJSONError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &typeErr):
		// Field is a path that names an embedded struct by its Go type
		// (channelRequest.amount); every body is flat, and the client knows the
		// JSON key alone.
		field := typeErr.Field[strings.LastIndexByte(typeErr.Field, '.')+1:]
		return fmt.Errorf("field %q must be a %s", field, typeErr.Type)
	case errors.As(err, &maxErr):
		return fmt.Errorf("larger than %d bytes", maxErr.Limit)
	case errors.Is(err, io.EOF):
		return errEmptyBody
	default:
		return errors.New("malformed JSON")
	}
}

// maxReferenceLen bounds references (ours are prefixed time-ordered ids).
const maxReferenceLen = 255

// validateReference accepts letters, digits and "._:-": a reference travels
// in a URL path segment and in CSV lines.
func validateReference(field, ref string) error {
	if ref == "" {
		return fmt.Errorf("%s is required", field)
	}
	if len(ref) > maxReferenceLen {
		return fmt.Errorf("%s is longer than %d characters", field, maxReferenceLen)
	}
	for _, c := range ref {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '-' || c == '.' || c == ':'
		if !ok {
			return fmt.Errorf("%s may only contain letters, digits and \"._:-\"", field)
		}
	}
	return nil
}

// required refuses an empty value of field.
func required(field, value string) error {
	if value == "" {
		return fmt.Errorf("%s is required", field)
	}
	return nil
}

// firstError is the first of errs that is not nil: a request's checks, made in
// the order of its fields, report the first field that fails.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func validateAmount(amount int64) error {
	if amount <= 0 {
		return errors.New("amount must be a positive integer of minor units")
	}
	return nil
}

func validateCurrency(c string) error {
	if len(c) != 3 {
		return errors.New("currency must be 3 uppercase letters")
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return errors.New("currency must be 3 uppercase letters")
		}
	}
	return nil
}

// validateCallbackURL accepts an empty value (the default URL applies) or an
// absolute http(s) URL.
func validateCallbackURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("callback_url must be an absolute http or https URL")
	}
	return nil
}

// knownName returns name when it is one of the simulator's test names
// (tok_..., ba_...), and "other" otherwise, so logs never carry a real card
// token or account number.
func knownName(name string, known ...string) string {
	for _, k := range known {
		if name == k {
			return name
		}
	}
	if strings.TrimSpace(name) == "" {
		return ""
	}
	return "other"
}
