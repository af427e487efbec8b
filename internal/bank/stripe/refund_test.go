package stripe

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// A refund finds the Stripe charge of our charge reference and refunds it by id,
// with the refund's reference as the Idempotency-Key. The charge lives in the fake
// (stripe-mock keeps no state); the refund itself is answered by stripe-mock, which
// validates the request against Stripe's OpenAPI spec and answers succeeded.
func TestRefund(t *testing.T) {
	pay := models.NewID(models.PrefixPayment)
	tests := []struct {
		name     string
		setup    func(f *fakeStripe)
		currency models.Currency
		// chargeRef is the charge reference of the request; "" is pay.
		chargeRef string
		want      error
	}{
		{name: "refunded", setup: func(f *fakeStripe) { f.addCharge(pay, "succeeded", 1050, "cny", time.Now()) }, currency: "CNY"},
		{name: "charge unknown at stripe", setup: func(f *fakeStripe) {}, currency: "CNY", want: bank.ErrInvalid},
		{
			name: "the charge reference names a refund", setup: func(f *fakeStripe) {}, currency: "CNY",
			chargeRef: models.NewID(models.PrefixRefund), want: bank.ErrInvalid,
		},
		{
			name: "the charge reference names a reversal", setup: func(f *fakeStripe) {}, currency: "CNY",
			chargeRef: models.ReversalReference(pay), want: bank.ErrInvalid,
		},
		{name: "currency differs from the charge's", setup: func(f *fakeStripe) { f.addCharge(pay, "succeeded", 1050, "cny", time.Now()) }, currency: "USD", want: bank.ErrInvalid},
		{
			name: "the charge cannot be looked up",
			setup: func(f *fakeStripe) {
				f.fail = func(r *http.Request) int {
					if r.Method == http.MethodGet {
						return 503
					}
					return 0
				}
			},
			currency: "CNY", want: bank.ErrUnavailable,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, rec, url := newFakeStripe(t, toStripeMock(t))
			tc.setup(f)
			ref := models.NewID(models.PrefixRefund)
			chargeRef := tc.chargeRef
			if chargeRef == "" {
				chargeRef = pay
			}
			got, err := newChannel(t, url, Options{}).Refund(context.Background(), bank.RefundRequest{
				Reference: ref, ChargeReference: chargeRef, Amount: 500, Currency: tc.currency,
			})
			posts := rec.posts()
			if requireContractError(t, err, tc.want) {
				require.Empty(t, posts, "nothing may be sent when the charge is not found")
				return
			}
			require.Equal(t, ref, got.Reference)
			require.Equal(t, bank.KindRefund, got.Kind)
			require.Equal(t, models.BankSucceeded, got.Status)
			require.Equal(t, int64(500), got.Amount)
			require.Regexp(t, `^re_`, got.BankID)
			p := requireCreated(t, posts, "POST /v1/refunds", ref)
			require.Equal(t, "ch_0001", p.Form.Get("charge"))
			require.Equal(t, "500", p.Form.Get("amount"))
		})
	}
}

func TestRefundStatuses(t *testing.T) {
	tests := []struct {
		body   string
		status models.BankStatus
		code   models.FailureCode
	}{
		{`{"id":"re_1","status":"succeeded","amount":5,"currency":"cny"}`, models.BankSucceeded, ""},
		{`{"id":"re_1","status":"pending","amount":5,"currency":"cny"}`, models.BankProcessing, ""},
		{`{"id":"re_1","status":"requires_action","amount":5,"currency":"cny"}`, models.BankProcessing, ""},
		{`{"id":"re_1","status":"failed","failure_reason":"insufficient_funds","amount":5,"currency":"cny"}`, models.BankFailed, models.FailureInsufficientFunds},
		{`{"id":"re_1","status":"failed","failure_reason":"expired_or_canceled_card","amount":5,"currency":"cny"}`, models.BankFailed, models.FailureCardDeclined},
		{`{"id":"re_1","status":"canceled","amount":5,"currency":"cny"}`, models.BankFailed, models.FailureCardDeclined},
	}
	for _, tc := range tests {
		t.Run(tc.body, func(t *testing.T) {
			pay := models.NewID(models.PrefixPayment)
			f, _, url := newFakeStripe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(tc.body))
			}))
			f.addCharge(pay, "succeeded", 1050, "cny", time.Now())
			got, err := newChannel(t, url, Options{}).Refund(context.Background(), bank.RefundRequest{Reference: "re_1", ChargeReference: pay, Amount: 5})
			require.NoError(t, err)
			require.Equal(t, tc.status, got.Status)
			require.Equal(t, tc.code, got.FailureCode)
		})
	}
}
