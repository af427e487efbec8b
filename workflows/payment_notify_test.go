package workflows

import (
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

// A payment with a notify_url stores the event of its outcome and starts its delivery
// after the outcome is recorded; one without stores nothing.
func TestPaymentNotifiesOutcome(t *testing.T) {
	tests := []struct {
		name      string
		notifyURL string
		status    models.PaymentStatus
		wantEvent models.EventType
	}{
		{"succeeded with notify_url", "https://merchant.example/hooks", models.PaymentSucceeded, models.EventPaymentSucceeded},
		{"failed with notify_url", "https://merchant.example/hooks", models.PaymentFailed, models.EventPaymentFailed},
		{"no notify_url", "", models.PaymentSucceeded, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			env.RegisterWorkflow(WebhookDeliveryWorkflow)
			in := paymentInput("tok_x")
			in.Source = models.PaymentSource{Type: models.SourceAccount, AccountID: "acct_1"}
			in.NotifyURL = tc.notifyURL
			env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.Anything).
				Return(models.FinalizePaymentResult{Status: tc.status}, nil).Once()
			if tc.wantEvent != "" {
				env.OnActivity(webhookActs.CreateEvent, mock.Anything, models.CreateEventInput{
					MerchantID: "mch_demo", ObjectID: "pay_test1", Type: tc.wantEvent, NotifyURL: tc.notifyURL,
				}).Return(models.CreateEventResult{EventID: "evt_1", Created: true}, nil).Once()
				// The delivery runs as a child that outlives the payment.
				env.OnActivity(webhookActs.DeliverWebhook, mock.Anything, mock.MatchedBy(func(in models.DeliverWebhookInput) bool {
					return in.EventID == "evt_1" && in.MerchantID == "mch_demo"
				})).Return(models.DeliverWebhookResult{StatusCode: 200, Attempt: 1}, nil).Once()
			}
			env.ExecuteWorkflow(PaymentWorkflow, in)
			res := resultOf[models.PaymentResult](t, env)
			require.Equal(t, tc.status, res.Status)
			require.Equal(t, models.StageDone, queryState[models.FlowState](t, env).Stage)
		})
	}
}
