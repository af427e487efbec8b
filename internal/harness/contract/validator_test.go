package contract_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/api"
	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/contract"
)

const payment = `{"id":"pay_01jgk8x9v6m3p2q4r5s6t7u8v9","object":"payment","merchant_id":"mch_demo","amount":1050,"currency":"CNY",
"source":{"type":"card","token":"tok_success"},"status":"processing","fee":0,"amount_refunded":0,
"workflow_id":"payment/mch_demo/pay_01jgk8x9v6m3p2q4r5s6t7u8v9","created":"2026-01-01T00:00:00.123Z","updated":"2026-01-01T00:00:00.123Z"}`

// The validator fails exactly the exchanges that disagree with the description: an
// undescribed endpoint or status, a response body off its schema, a request the
// description refuses but the API accepts.
func TestValidatorCatchesDrift(t *testing.T) {
	var status int
	var contentType, body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	problem := func(code string, st int) string {
		return `{"type":"https://payflow.dev/problems/` + code + `","title":"x","status":` + strconv.Itoa(st) + `,"code":"` + code + `"}`
	}
	card := `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`
	tests := []struct {
		name       string
		probe      bool
		ops        bool
		method     string
		target     string
		reqBody    string
		status     int
		respType   string
		respBody   string
		wantFailed string
	}{
		{name: "valid creation", method: "POST", target: "/v1/payments", reqBody: card, status: 202, respType: "application/json", respBody: payment},
		{name: "valid refusal", method: "POST", target: "/v1/payments", reqBody: `{"amount":0}`, status: 400, respType: "application/problem+json", respBody: problem("invalid_request", 400)},
		{name: "refused request accepted", method: "POST", target: "/v1/payments", reqBody: `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"},"tip":1}`, status: 202, respType: "application/json", respBody: payment, wantFailed: "the description refuses this request"},
		{name: "undescribed status", method: "GET", target: "/v1/payments/pay_1", status: 418, respType: "application/json", respBody: `{}`, wantFailed: "status is not supported"},
		{name: "money as a float", method: "GET", target: "/v1/payments/pay_1", status: 200, respType: "application/json", respBody: strings.Replace(payment, `"amount":1050`, `"amount":10.5`, 1), wantFailed: "response"},
		{name: "a time not in UTC", method: "GET", target: "/v1/payments/pay_1", status: 200, respType: "application/json", respBody: strings.Replace(payment, `"created":"2026-01-01T00:00:00.123Z"`, `"created":"2026-01-01T08:00:00+08:00"`, 1), wantFailed: "response"},
		{name: "problem with another code", method: "GET", target: "/v1/payments/pay_1", status: 404, respType: "application/problem+json", respBody: problem("gone", 404), wantFailed: "response"},
		{name: "problem as plain JSON", method: "GET", target: "/v1/payments/pay_1", status: 404, respType: "application/json", respBody: problem("not_found", 404), wantFailed: "response"},
		{name: "a secret in a merchant", ops: true, method: "GET", target: "/v1/ops/merchants/mch_demo", status: 200, respType: "application/json", respBody: `{"id":"mch_demo","object":"merchant","name":"x","status":"active","fee_bps":0,"review_threshold":0,"default_currency":"CNY","created":"2026-01-01T00:00:00Z","secret":"pfsk_x"}`, wantFailed: "response"},
		{name: "rate limited without Retry-After", method: "GET", target: "/v1/payments", status: 429, respType: "application/problem+json", respBody: problem("rate_limited", 429), wantFailed: "Retry-After"},
		{name: "undescribed endpoint", method: "GET", target: "/v1/nothing", status: 404, respType: "application/problem+json", respBody: problem("not_found", 404), wantFailed: "no operation of the description"},
		{name: "probe of an undescribed endpoint", probe: true, method: "GET", target: "/v1/nothing", status: 404, respType: "application/problem+json", respBody: problem("not_found", 404)},
		{name: "probe answered 200", probe: true, method: "DELETE", target: "/v1/payments", status: 200, respType: "application/json", respBody: `{}`, wantFailed: "not a 4xx"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := contract.NewValidator(api.OpenAPI)
			require.NoError(t, err)
			status, contentType, body = tc.status, tc.respType, tc.respBody
			c := client.New(srv.URL, "mch_demo", "demo_secret_change_me").WithTransport(v.RoundTripper)
			ctx := context.Background()
			if tc.probe {
				ctx = contract.Probing(ctx)
			}
			if tc.ops {
				req, err := http.NewRequestWithContext(ctx, tc.method, srv.URL+tc.target, nil)
				require.NoError(t, err)
				req.Header.Set("Authorization", "Bearer ops-demo-token")
				resp, err := (&http.Client{Transport: v.RoundTripper(nil)}).Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, tc.status, resp.StatusCode)
			} else {
				r, err := c.Do(ctx, client.Request{Method: tc.method, Target: tc.target, Body: []byte(tc.reqBody), IdempotencyKey: "k1"})
				require.NoError(t, err)
				require.Equal(t, tc.status, r.Status, "the API's answer reaches the caller unchanged")
			}
			require.Equal(t, 1, v.Exchanges())
			failures := v.Failures()
			if tc.wantFailed == "" {
				require.Empty(t, failures)
				return
			}
			require.Len(t, failures, 1)
			require.Contains(t, failures[0].Err, tc.wantFailed)
		})
	}
}
