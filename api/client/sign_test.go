package client_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/api/client"
	"github.com/payflow/payflow/internal/signing"
)

// A request signed by SignAsMerchant passes the API's verification (over the target as
// sent, query included, and the body as sent), and a list answer decodes into typed
// objects.
func TestSignAsMerchantVerifies(t *testing.T) {
	const secret = "demo_secret_change_me"
	var targets []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := signing.VerifyRequest(signing.Request{
			Method:       r.Method,
			PathAndQuery: r.RequestURI,
			Timestamp:    r.Header.Get(signing.HeaderTimestamp),
			Nonce:        r.Header.Get(signing.HeaderNonce),
			Signature:    r.Header.Get(signing.HeaderSignature),
			Body:         body,
		}, []string{secret}, time.Now(), 5*time.Minute)
		if err != nil || r.Header.Get(signing.HeaderMerchant) != "mch_demo" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		targets = append(targets, r.Method+" "+r.RequestURI)
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodPost:
			var req client.CreatePaymentRequest
			require.NoError(t, json.Unmarshal(body, &req))
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, `{"id":"pay_1","object":"payment","merchant_id":"mch_demo","amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"},"status":"processing","fee":0,"amount_refunded":0,"workflow_id":"payment-pay_1","created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z"}`)
		default:
			_, _ = io.WriteString(w, `{"data":[{"id":"pay_1","object":"payment","merchant_id":"mch_demo","amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"},"status":"succeeded","fee":12,"amount_refunded":0,"workflow_id":"payment-pay_1","created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:01Z"}],"has_more":false}`)
		}
	}))
	defer srv.Close()

	c, err := client.NewClientWithResponses(srv.URL, client.WithRequestEditorFn(client.SignAsMerchant("mch_demo", secret)))
	require.NoError(t, err)
	ctx := context.Background()

	var src client.CreatePaymentRequest_Source
	require.NoError(t, src.FromCardSource(client.CardSource{Type: client.CardSourceTypeCard, Token: "tok_success"}))
	created, err := c.CreatePaymentWithResponse(ctx, &client.CreatePaymentParams{IdempotencyKey: "k1"},
		client.CreatePaymentJSONRequestBody{Amount: 1050, Currency: "CNY", Source: src})
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, created.StatusCode(), "%s", created.Body)
	require.Equal(t, client.PaymentObjectPayment, created.JSON202.Object)

	limit := client.Limit(2)
	status := client.PaymentStatusSucceeded
	list, err := c.ListPaymentsWithResponse(ctx, &client.ListPaymentsParams{Limit: &limit, Status: &status})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, list.StatusCode(), "%s", list.Body)
	require.Len(t, list.JSON200.Data, 1)
	require.Equal(t, int64(12), list.JSON200.Data[0].Fee)
	require.Equal(t, client.PaymentStatusSucceeded, list.JSON200.Data[0].Status)

	require.Equal(t, []string{"POST /v1/payments", "GET /v1/payments?status=succeeded&limit=2"}, targets)
}
