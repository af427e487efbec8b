package stripe

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// Against stripe-mock: a charge with a tok_ source answers succeeded (a fixture),
// and what reached the API is our reference as the Idempotency-Key and metadata.
func TestChargeOnStripeMock(t *testing.T) {
	rec, url := recordedStripeMock(t)
	c := newChannel(t, url, Options{})
	ref := models.NewID(models.PrefixPayment)

	got, err := c.Charge(context.Background(), bank.ChargeRequest{Reference: ref, Amount: 1050, Currency: "CNY", Token: "tok_success"})
	require.NoError(t, err)
	require.Equal(t, ref, got.Reference)
	require.Equal(t, Name, got.Channel)
	require.Equal(t, bank.KindCharge, got.Kind)
	require.Equal(t, models.BankSucceeded, got.Status)
	require.Equal(t, int64(1050), got.Amount)
	require.Equal(t, models.Currency("CNY"), got.Currency)
	require.Regexp(t, `^ch_`, got.BankID)

	r := requireCreated(t, rec.requests(), "POST /v1/charges", ref)
	require.Equal(t, "Bearer sk_test_123", r.Header.Get("Authorization"))
	require.Equal(t, "1050", r.Form.Get("amount"))
	require.Equal(t, "cny", r.Form.Get("currency"))
	require.Equal(t, "tok_success", r.Form.Get("source"))
}

// errorCase is one answer of a Stripe API and what the adapter must make of it.
type errorCase struct {
	name   string
	status int
	body   string
	// want is the contract error, or nil for a transfer.
	want        error
	wantStatus  models.BankStatus
	wantCode    models.FailureCode
	wantBankID  string
	chargeOnly  bool
	contentType string
}

var answerCases = []errorCase{
	{name: "succeeded", status: 200, body: `{"id":"ch_1","object":"charge","status":"succeeded","amount":1050,"currency":"cny"}`, wantStatus: models.BankSucceeded, wantBankID: "ch_1", chargeOnly: true},
	{name: "pending", status: 200, body: `{"id":"ch_1","object":"charge","status":"pending","amount":1050,"currency":"cny"}`, wantStatus: models.BankProcessing, wantBankID: "ch_1", chargeOnly: true},
	{name: "failed insufficient funds", status: 200, body: `{"id":"ch_1","object":"charge","status":"failed","failure_code":"card_declined","outcome":{"reason":"insufficient_funds"},"amount":1050,"currency":"cny"}`, wantStatus: models.BankFailed, wantCode: models.FailureInsufficientFunds, wantBankID: "ch_1", chargeOnly: true},
	{name: "failed expired card", status: 200, body: `{"id":"ch_1","object":"charge","status":"failed","failure_code":"expired_card","amount":1050,"currency":"cny"}`, wantStatus: models.BankFailed, wantCode: models.FailureCardDeclined, wantBankID: "ch_1", chargeOnly: true},
	{name: "402 card_declined", status: 402, body: `{"error":{"type":"card_error","code":"card_declined","decline_code":"generic_decline","charge":"ch_d","message":"Your card was declined."}}`, wantStatus: models.BankFailed, wantCode: models.FailureCardDeclined, wantBankID: "ch_d", chargeOnly: true},
	{name: "402 insufficient_funds", status: 402, body: `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","charge":"ch_i"}}`, wantStatus: models.BankFailed, wantCode: models.FailureInsufficientFunds, wantBankID: "ch_i", chargeOnly: true},
	{name: "402 expired_card", status: 402, body: `{"error":{"type":"card_error","code":"expired_card","charge":"ch_e"}}`, wantStatus: models.BankFailed, wantCode: models.FailureCardDeclined, wantBankID: "ch_e", chargeOnly: true},
	{name: "429 rate limited", status: 429, body: `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests"}}`, want: bank.ErrUnavailable},
	{name: "401 bad key", status: 401, body: `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}`, want: bank.ErrUnavailable},
	{name: "500 api_error", status: 500, body: `{"error":{"type":"api_error","message":"Something went wrong"}}`, want: bank.ErrUnknownOutcome},
	{name: "502 from a proxy", status: 502, body: `<html>bad gateway</html>`, contentType: "text/html", want: bank.ErrUnknownOutcome},
	{name: "503 api_error", status: 503, body: `{"error":{"type":"api_error"}}`, want: bank.ErrUnknownOutcome},
	{name: "409 same key in flight", status: 409, body: `{"error":{"type":"idempotency_error","message":"There is currently another in-progress request using this Idempotent Key"}}`, want: bank.ErrUnknownOutcome},
	{name: "400 invalid_request_error", status: 400, body: `{"error":{"type":"invalid_request_error","code":"parameter_invalid_integer","param":"amount"}}`, want: bank.ErrInvalid},
	{name: "400 idempotency_error", status: 400, body: `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}`, want: bank.ErrInvalid},
	{name: "404 no such destination", status: 404, body: `{"error":{"type":"invalid_request_error","code":"resource_missing"}}`, want: bank.ErrInvalid},
	{name: "200 unreadable", status: 200, body: `{"id":`, want: bank.ErrUnknownOutcome},
	{name: "200 unknown status", status: 200, body: `{"id":"x_1","status":"weird","amount":1,"currency":"cny"}`, want: bank.ErrUnknownOutcome},
	{name: "200 without an id", status: 200, body: `{"status":"succeeded"}`, want: bank.ErrUnknownOutcome},
}

// Every answer of the Charges and Payouts APIs maps onto the contract, after exactly
// one request: stripe-go's own retries are off.
func TestAnswersMapOntoTheContract(t *testing.T) {
	ops := []struct {
		name string
		call func(c *Channel) (bank.Transfer, error)
	}{
		{"charge", func(c *Channel) (bank.Transfer, error) {
			return c.Charge(context.Background(), bank.ChargeRequest{Reference: "pay_1", Amount: 1050, Currency: "CNY", Token: "tok_x"})
		}},
		{"payout", func(c *Channel) (bank.Transfer, error) {
			return c.Payout(context.Background(), bank.PayoutRequest{Reference: "wd_1", Amount: 1050, Currency: "CNY", BankAccount: "ba_x"})
		}},
	}
	for _, op := range ops {
		for _, tc := range answerCases {
			if tc.chargeOnly && op.name != "charge" {
				continue
			}
			t.Run(op.name+"/"+tc.name, func(t *testing.T) {
				var calls atomic.Int32
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					ct := tc.contentType
					if ct == "" {
						ct = "application/json"
					}
					w.Header().Set("Content-Type", ct)
					w.WriteHeader(tc.status)
					_, _ = w.Write([]byte(tc.body))
				}))
				defer srv.Close()
				got, err := op.call(newChannel(t, srv.URL, Options{}))
				require.Equal(t, int32(1), calls.Load(), "requests sent")
				if requireContractError(t, err, tc.want) {
					return
				}
				require.Equal(t, tc.wantStatus, got.Status)
				require.Equal(t, tc.wantCode, got.FailureCode)
				require.Equal(t, tc.wantBankID, got.BankID)
				require.Equal(t, "pay_1", got.Reference)
				require.Equal(t, Name, got.Channel)
			})
		}
	}
}

// Failures below HTTP: a refused connection never reached Stripe; a hanging or
// reset connection may have.
func TestNetworkFailuresMapOntoTheContract(t *testing.T) {
	closed := closedURL(t)
	var calls atomic.Int32
	hang := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer hanging.Close()
	defer close(hang)
	reset := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	}))
	defer reset.Close()

	tests := []struct {
		name string
		url  string
		want error
	}{
		{"connection refused", closed, bank.ErrUnavailable},
		{"timeout after sending", hanging.URL, bank.ErrUnknownOutcome},
		{"connection reset after sending", reset.URL, bank.ErrUnknownOutcome},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newChannel(t, tc.url, Options{Timeout: 300 * time.Millisecond})
			calls.Store(0)
			_, err := c.Charge(context.Background(), bank.ChargeRequest{Reference: "pay_1", Amount: 1050, Currency: "CNY", Token: "tok_x"})
			requireContractError(t, err, tc.want)
			if tc.url != closed {
				require.Equal(t, int32(1), calls.Load(), "requests sent: stripe-go must not retry")
			}
			_, err = c.Payout(context.Background(), bank.PayoutRequest{Reference: "wd_1", Amount: 1050, Currency: "CNY", BankAccount: "ba_x"})
			require.ErrorIs(t, err, tc.want)
			// A query that cannot reach Stripe never says "not found".
			_, err = c.Query(context.Background(), models.NewID(models.PrefixPayment))
			require.Error(t, err)
			require.NotErrorIs(t, err, bank.ErrNotFound)
		})
	}
}

// closedURL is the address of a port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "http://" + addr
}

// requireContractError checks err against want: no error when want is nil, else
// want and nothing else the contract says to the caller. It reports whether want
// is an error (a table test's case ends there).
func requireContractError(t *testing.T, err, want error) bool {
	t.Helper()
	if want == nil {
		require.NoError(t, err)
		return false
	}
	require.ErrorIs(t, err, want)
	n := 0
	for _, s := range []error{bank.ErrUnavailable, bank.ErrUnknownOutcome, bank.ErrNotFound, bank.ErrInvalid} {
		if errors.Is(err, s) {
			n++
		}
	}
	require.Equal(t, 1, n, "contract errors in %v", err)
	return true
}
