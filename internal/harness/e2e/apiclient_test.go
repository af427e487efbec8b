package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	apiclient "github.com/payflow/payflow/api/client"
	"github.com/payflow/payflow/models"
)

// generatedClient is the client oapi-codegen generates from api/openapi.yaml, on API
// replica 0, signing as the demo merchant through its request editor hook, with every
// exchange checked against the description like the suite's other clients.
func generatedClient(t *testing.T, s *Stack, editor apiclient.RequestEditorFn) *apiclient.ClientWithResponses {
	t.Helper()
	c, err := apiclient.NewClientWithResponses(s.APIURLs[0],
		apiclient.WithHTTPClient(&http.Client{Transport: apiContract.RoundTripper(nil)}),
		apiclient.WithRequestEditorFn(editor))
	require.NoError(t, err)
	return c
}

// A merchant's backend built on the generated client makes a card payment: the signed
// POST answers 202 processing, the payment ends succeeded, the same Idempotency-Key
// gives the same payment back, and the typed list has it; an operator's client reads
// the open flows as typed objects.
func TestGeneratedClientMakesAPayment(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		c := generatedClient(t, s, apiclient.SignAsMerchant("mch_demo", DemoSecret))

		var src apiclient.CreatePaymentRequest_Source
		require.NoError(t, src.FromCardSource(apiclient.CardSource{Type: apiclient.CardSourceTypeCard, Token: "tok_success"}))
		desc := "generated client"
		body := apiclient.CreatePaymentJSONRequestBody{Amount: 4321, Currency: "CNY", Source: src, Description: &desc}
		key := apiclient.CreatePaymentParams{IdempotencyKey: "e2e-gen-" + models.NewID("")}
		created, err := c.CreatePaymentWithResponse(ctx, &key, body)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, created.StatusCode(), "%s", created.Body)
		p := created.JSON202
		require.Equal(t, apiclient.PaymentObjectPayment, p.Object)
		require.Equal(t, apiclient.PaymentStatusProcessing, p.Status)
		require.Equal(t, int64(4321), p.Amount)
		require.Equal(t, "mch_demo", p.MerchantId)

		var final *apiclient.Payment
		require.Eventually(t, func() bool {
			got, err := c.GetPaymentWithResponse(ctx, p.Id)
			if err != nil || got.JSON200 == nil {
				return false
			}
			final = got.JSON200
			return final.Status != apiclient.PaymentStatusProcessing
		}, time.Minute, 200*time.Millisecond)
		require.Equal(t, apiclient.PaymentStatusSucceeded, final.Status, "failure code %v", final.FailureCode)
		require.Equal(t, p.Id, final.Id)
		require.NotNil(t, final.Description)
		require.Equal(t, desc, *final.Description)

		again, err := c.CreatePaymentWithResponse(ctx, &key, body)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, again.StatusCode(), "%s", again.Body)
		require.Equal(t, p.Id, again.JSON202.Id)
		require.Equal(t, "true", again.HTTPResponse.Header.Get("Idempotent-Replayed"))

		limit := apiclient.Limit(100)
		succeeded := apiclient.PaymentStatusSucceeded
		list, err := c.ListPaymentsWithResponse(ctx, &apiclient.ListPaymentsParams{Limit: &limit, Status: &succeeded})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, list.StatusCode(), "%s", list.Body)
		var found *apiclient.Payment
		for i := range list.JSON200.Data {
			require.Equal(t, apiclient.PaymentStatusSucceeded, list.JSON200.Data[i].Status)
			if list.JSON200.Data[i].Id == p.Id {
				found = &list.JSON200.Data[i]
			}
		}
		require.NotNil(t, found, "payment %s not in the first page of succeeded payments", p.Id)
		require.Equal(t, final.Fee, found.Fee)

		ops := generatedClient(t, s, apiclient.BearerToken(OpsToken))
		flows, err := ops.OpsListFlowsWithResponse(ctx, &apiclient.OpsListFlowsParams{})
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, flows.StatusCode(), "%s", flows.Body)
		require.NotNil(t, flows.JSON200)
		for _, f := range flows.JSON200.Data {
			require.NotEmpty(t, f.WorkflowId)
			require.NotEmpty(t, f.Age)
		}
		// A merchant's signature is not an ops token.
		denied, err := c.OpsListFlowsWithResponse(ctx, &apiclient.OpsListFlowsParams{})
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, denied.StatusCode())
	})
}
