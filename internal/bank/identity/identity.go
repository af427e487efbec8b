// Package identity is payflow's client of the bank's identity services, as the
// bank simulator (banksim/) serves them: card verification, card binding with an
// SMS one-time code (the binding's agreement number is then a payment
// instrument: a charge token and a payout destination), and the credit bureau.
//
// Every request carries our request id, the bank's idempotency key: the same
// request id is executed at most once and always answers the same outcome. That
// is what makes ErrUnavailable safe to retry as it is, with the same request id,
// even when the first attempt timed out after the bank had acted.
//
// Nothing here logs, and no error carries a card number, a name, an ID number or
// a phone: errors name the operation and the request id only.
package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payflow/payflow/internal/bank/simhttp"
)

// Errors of the client.
var (
	// ErrUnavailable is a failure worth retrying with the same request id: the
	// bank could not be reached, did not answer in time, answered 5xx or an
	// answer we could not read.
	ErrUnavailable = errors.New("identity service unavailable")
	// ErrRejected is a 4xx: the request breaks the contract and will fail again.
	ErrRejected = errors.New("identity service rejected the request")
	// ErrNotFound is a 404 of a binding or a credit query the bank does not
	// know; it is also ErrRejected.
	ErrNotFound = errors.New("identity service knows no such request")
)

// Verification results.
const (
	ResultMatch    = "match"
	ResultMismatch = "mismatch"
)

// Reasons of a mismatch or a failed binding.
const (
	ReasonUnsupportedCard    = "unsupported_card"
	ReasonVerificationFailed = "verification_failed"
)

// Binding statuses: a binding's state (StatusOTPSent, StatusActive,
// StatusFailed, StatusRemoved), or a confirm's answer that leaves it waiting for
// a code (StatusOTPIncorrect, StatusOTPExpired, StatusOTPAttemptsExceeded).
const (
	StatusOTPSent             = "otp_sent"
	StatusActive              = "active"
	StatusFailed              = "failed"
	StatusRemoved             = "removed"
	StatusOTPIncorrect        = "otp_incorrect"
	StatusOTPExpired          = "otp_expired"
	StatusOTPAttemptsExceeded = "otp_attempts_exceeded"
)

// DefaultTimeout bounds a call of a client made without an http.Client.
const DefaultTimeout = 10 * time.Second

// Protocol details.
const (
	maxAnswer          = 1 << 20
	errorCodeNotFound  = "not_found"
	bureauCallbackType = "credit_query.completed"
	// bureauCallbackTolerance is how far a callback's signature time may be
	// from now, as for the bank's transfer callbacks.
	bureauCallbackTolerance = 5 * time.Minute
)

// Credit query statuses.
const (
	ReportProcessing = "processing"
	ReportReady      = "ready"
	ReportNoRecord   = "no_record"
)

// Client talks to the identity services of a bank at one base URL.
type Client struct {
	baseURL string
	client  *http.Client
}

// New returns the client of the bank at baseURL. httpClient's Timeout bounds
// each call (a call that times out is ErrUnavailable); nil means a client with
// DefaultTimeout. The simulator's channel API takes no credentials, as
// internal/bank/sim sends none; a real bank's would go in httpClient's
// Transport.
func New(baseURL string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), client: httpClient}
}

// Card is what the bank tells of a card: never its number.
type Card struct {
	Bank     string `json:"bank"`
	CardType string `json:"card_type"` // "debit" or "credit"
	Last4    string `json:"last4"`
}

// VerifyRequest asks whether a card belongs to a person. CardNumber and Name
// are required; IDNumber and Phone are compared only when given (2, 3 or 4
// elements).
type VerifyRequest struct {
	RequestID  string
	CardNumber string
	Name       string
	IDNumber   string
	Phone      string
}

// VerifyResult is the bank's answer to a verification.
type VerifyResult struct {
	RequestID string `json:"request_id"`
	// Result is ResultMatch or ResultMismatch.
	Result string `json:"result"`
	// MismatchedFields names the elements that did not match: card_number,
	// name, id_number, phone.
	MismatchedFields []string `json:"mismatched_fields"`
	// Reason is ReasonUnsupportedCard for a card the bank does not verify.
	Reason string `json:"reason"`
	// Card is empty but for Last4 when the bank does not know the card.
	Card Card `json:"card"`
}

// Matched reports whether every given element matched.
func (r VerifyResult) Matched() bool { return r.Result == ResultMatch }

// Verify asks the bank to compare the request's elements with its cardholder.
// ErrUnavailable, ErrRejected.
func (c *Client) Verify(ctx context.Context, r VerifyRequest) (VerifyResult, error) {
	var out VerifyResult
	err := c.call(ctx, http.MethodPost, "/v1/verifications", r.RequestID, map[string]string{
		"request_id": r.RequestID, "card_number": r.CardNumber, "name": r.Name, "id_number": r.IDNumber, "phone": r.Phone,
	}, &out)
	if err == nil && out.Result != ResultMatch && out.Result != ResultMismatch {
		err = fmt.Errorf("verify %s: result %q: %w", r.RequestID, out.Result, ErrUnavailable)
	}
	return out, err
}

// BindRequest starts binding a card: all four elements are required.
type BindRequest struct {
	RequestID  string
	CardNumber string
	Name       string
	IDNumber   string
	Phone      string
}

// BindingState is the bank's answer about a card binding.
type BindingState struct {
	RequestID string `json:"request_id"`
	// Status is one of the Status* constants.
	Status string `json:"status"`
	// Reason says why a binding failed (ReasonVerificationFailed,
	// ReasonUnsupportedCard).
	Reason string `json:"reason"`
	// MismatchedFields names the elements that did not match, when failed.
	MismatchedFields []string `json:"mismatched_fields"`
	// OTPExpiresAt is when the code sent expires (zero unless otp_sent).
	OTPExpiresAt time.Time `json:"otp_expires_at"`
	// AgreementNo is the instrument of an active (or removed) binding.
	AgreementNo string `json:"agreement_no"`
	// Card is set once the binding is active.
	Card *Card `json:"card"`
}

// StartBinding checks the four elements and, when they match, has the bank
// send a code to the phone (Status otp_sent); a repeat of the request id sends
// no new code. A mismatch is Status failed, not an error.
// ErrUnavailable, ErrRejected.
func (c *Client) StartBinding(ctx context.Context, r BindRequest) (BindingState, error) {
	var out BindingState
	err := c.call(ctx, http.MethodPost, "/v1/card_bindings", r.RequestID, map[string]string{
		"request_id": r.RequestID, "card_number": r.CardNumber, "name": r.Name, "id_number": r.IDNumber, "phone": r.Phone,
	}, &out)
	return out, err
}

// ConfirmBinding sends the code the customer typed: active with the agreement
// (again the same agreement when repeated), or otp_incorrect, otp_expired,
// otp_attempts_exceeded. ErrUnavailable, ErrRejected, ErrNotFound.
func (c *Client) ConfirmBinding(ctx context.Context, requestID, otp string) (BindingState, error) {
	var out BindingState
	err := c.call(ctx, http.MethodPost, "/v1/card_bindings/"+url.PathEscape(requestID)+"/confirm", requestID,
		map[string]string{"otp": otp}, &out)
	return out, err
}

// ResendCode has the bank send a fresh code to a binding waiting for one; the
// old code stops working and the tries start again.
// ErrUnavailable, ErrRejected, ErrNotFound.
func (c *Client) ResendCode(ctx context.Context, requestID string) (BindingState, error) {
	var out BindingState
	err := c.call(ctx, http.MethodPost, "/v1/card_bindings/"+url.PathEscape(requestID)+"/resend", requestID, nil, &out)
	return out, err
}

// Binding queries a binding's state. ErrUnavailable, ErrRejected, ErrNotFound.
func (c *Client) Binding(ctx context.Context, requestID string) (BindingState, error) {
	var out BindingState
	err := c.call(ctx, http.MethodGet, "/v1/card_bindings/"+url.PathEscape(requestID), requestID, nil, &out)
	return out, err
}

// RemoveBinding ends a binding for good: its agreement is no longer charged or
// paid out to. Removing it again succeeds. ErrUnavailable, ErrRejected,
// ErrNotFound.
func (c *Client) RemoveBinding(ctx context.Context, requestID string) error {
	var out BindingState
	return c.call(ctx, http.MethodDelete, "/v1/card_bindings/"+url.PathEscape(requestID), requestID, nil, &out)
}

// ReportRequest asks the credit bureau for a person's report. Purpose says why
// (for example "loan_review"); CallbackURL, when set, receives a signed
// credit_query.completed callback (ParseBureauCallback).
type ReportRequest struct {
	RequestID   string
	Name        string
	IDNumber    string
	Purpose     string
	CallbackURL string
}

// ReportState is the bureau's answer about a credit query.
type ReportState struct {
	RequestID string `json:"request_id"`
	// Status is ReportProcessing, ReportReady or ReportNoRecord.
	Status string `json:"status"`
	// Report is set when ready.
	Report *Report `json:"report"`
}

// Report is a person's credit report.
type Report struct {
	Score    int           `json:"score"` // 300-850
	Summary  ReportSummary `json:"summary"`
	Accounts []Account     `json:"accounts"`
}

// ReportSummary sums up a report's accounts.
type ReportSummary struct {
	CreditAccounts   int `json:"credit_accounts"`
	OverdueAccounts  int `json:"overdue_accounts"`
	MaxOverdueMonths int `json:"max_overdue_months"`
	InquiriesLast6m  int `json:"inquiries_last_6m"`
}

// Account is one credit account of a report; amounts are CNY minor units.
type Account struct {
	Institution   string `json:"institution"`
	Type          string `json:"type"`
	Opened        string `json:"opened"` // YYYY-MM
	Limit         int64  `json:"limit"`
	Balance       int64  `json:"balance"`
	Status        string `json:"status"` // normal or overdue
	OverdueMonths int    `json:"overdue_months"`
}

// RequestReport asks the bureau for a report; it is ready later (Report, or the
// callback). ErrUnavailable (also while the bureau alone is down), ErrRejected.
func (c *Client) RequestReport(ctx context.Context, r ReportRequest) error {
	var out ReportState
	return c.call(ctx, http.MethodPost, "/v1/credit_queries", r.RequestID, map[string]string{
		"request_id": r.RequestID, "name": r.Name, "id_number": r.IDNumber, "purpose": r.Purpose, "callback_url": r.CallbackURL,
	}, &out)
}

// Report queries a credit query. ErrUnavailable, ErrRejected, ErrNotFound.
func (c *Client) Report(ctx context.Context, requestID string) (ReportState, error) {
	var out ReportState
	err := c.call(ctx, http.MethodGet, "/v1/credit_queries/"+url.PathEscape(requestID), requestID, nil, &out)
	if err == nil && out.Status == ReportReady && out.Report == nil {
		err = fmt.Errorf("report %s: ready without a report: %w", requestID, ErrUnavailable)
	}
	return out, err
}

// call sends body (nil for none) and decodes a 2xx answer into out. Errors
// name the operation by method, route and request id, never by the body.
func (c *Client) call(ctx context.Context, method, path, requestID string, body any, out any) error {
	op := method + " " + path
	if !strings.Contains(path, "/"+url.PathEscape(requestID)) {
		op += " request " + requestID
	}
	return c.caller().Call(ctx, method, path, op, body, out)
}

func (c *Client) caller() simhttp.Caller {
	return simhttp.Caller{BaseURL: c.baseURL, Client: c.client, MaxAnswer: maxAnswer,
		Errors: simhttp.Errors{Unavailable: ErrUnavailable, Rejected: ErrRejected, NotFound: ErrNotFound}}
}
