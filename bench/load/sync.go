package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	apiclient "github.com/payflow/payflow/api/client"
	"github.com/payflow/payflow/models"
)

// SyncAnswers counts how the API answered synchronous payments: 200 with the final
// payment (the flow ended within the wait) or 202 processing (then polled).
type SyncAnswers struct {
	Final, Processing atomic.Int64
}

// SyncPollEvery is how often a synchronous payment answered 202 is read again.
const SyncPollEvery = 10 * time.Millisecond

// SyncCardPayment is what a point of sale does: a card payment of amount CNY with
// tok_success through the generated client (signed by its request editor), asking
// with `Prefer: wait=N` for the outcome in the answer. A 200 carries the final
// payment; a 202 (the flow did not end within the wait, or an API that does not
// honour the preference) is followed by GETs every SyncPollEvery until the payment
// is no longer processing. Anything but `succeeded` is an error.
func SyncCardPayment(ctx context.Context, c *apiclient.ClientWithResponses, amount int64, wait int, answers *SyncAnswers) error {
	var src apiclient.CreatePaymentRequest_Source
	if err := src.FromCardSource(apiclient.CardSource{Type: apiclient.CardSourceTypeCard, Token: "tok_success"}); err != nil {
		return err
	}
	prefer := func(_ context.Context, req *http.Request) error {
		req.Header.Set("Prefer", "wait="+strconv.Itoa(wait))
		return nil
	}
	resp, err := c.CreatePaymentWithResponse(ctx, &apiclient.CreatePaymentParams{IdempotencyKey: "bench-" + models.NewID("")},
		apiclient.CreatePaymentJSONRequestBody{Amount: amount, Currency: "CNY", Source: src}, prefer)
	if err != nil {
		return err
	}
	var p apiclient.Payment
	switch resp.StatusCode() {
	case http.StatusOK:
		answers.Final.Add(1)
	case http.StatusAccepted:
		answers.Processing.Add(1)
	default:
		return fmt.Errorf("POST /v1/payments: HTTP %d: %s", resp.StatusCode(), resp.Body)
	}
	if err := json.Unmarshal(resp.Body, &p); err != nil {
		return fmt.Errorf("POST /v1/payments: HTTP %d: %w", resp.StatusCode(), err)
	}
	for p.Status == apiclient.PaymentStatusProcessing {
		select {
		case <-ctx.Done():
			return fmt.Errorf("payment %s: %w", p.Id, ctx.Err())
		case <-time.After(SyncPollEvery):
		}
		got, err := c.GetPaymentWithResponse(ctx, p.Id)
		if err != nil {
			return err
		}
		if got.JSON200 == nil {
			return fmt.Errorf("GET /v1/payments/%s: HTTP %d: %s", p.Id, got.StatusCode(), got.Body)
		}
		p = *got.JSON200
	}
	if p.Status != apiclient.PaymentStatusSucceeded {
		fc := ""
		if p.FailureCode != nil {
			fc = string(*p.FailureCode)
		}
		return fmt.Errorf("payment %s ended %s (%s)", p.Id, p.Status, fc)
	}
	return nil
}
