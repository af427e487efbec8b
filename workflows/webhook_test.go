package workflows

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/payflow/payflow/models"
)

var deliveryInput = models.WebhookDeliveryInput{EventID: "evt_test1", MerchantID: "mch_demo"}

// attemptLog records what each DeliverWebhook attempt was asked and when.
type attemptLog struct {
	mu     sync.Mutex
	inputs []models.DeliverWebhookInput
	times  []time.Time
}

func (l *attemptLog) record(env *testsuite.TestWorkflowEnvironment) func(models.DeliverWebhookInput) bool {
	return func(in models.DeliverWebhookInput) bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.inputs = append(l.inputs, in)
		l.times = append(l.times, env.Now())
		return true
	}
}

func endpointFailed(code int) error {
	return temporal.NewApplicationError(fmt.Sprintf("the endpoint answered HTTP %d", code), models.ErrTypeWebhookFailed)
}

// A delivery retries on the schedule (5 s, then 10 s) with the same event and
// delivery until the endpoint accepts, and completes delivered.
func TestWebhookDeliveryRetriesThenSucceeds(t *testing.T) {
	env := newEnv(t)
	var log attemptLog
	env.OnActivity(webhookActs.DeliverWebhook, mock.Anything, mock.MatchedBy(log.record(env))).
		Return(models.DeliverWebhookResult{}, endpointFailed(500)).Twice()
	env.OnActivity(webhookActs.DeliverWebhook, mock.Anything, mock.MatchedBy(log.record(env))).
		Return(models.DeliverWebhookResult{StatusCode: 200, Attempt: 3}, nil).Once()
	env.ExecuteWorkflow(WebhookDeliveryWorkflow, deliveryInput)

	require.True(t, env.IsWorkflowCompleted())
	res := resultOf[models.WebhookDeliveryResult](t, env)
	require.Equal(t, models.WebhookDeliveryResult{Status: models.DeliveryDelivered, StatusCode: 200, Attempt: 3}, res)

	// mock.MatchedBy may run more than once per call; keep the distinct attempts.
	attempts := distinctAttempts(&log)
	require.Len(t, attempts, 3)
	for _, a := range attempts {
		require.Equal(t, "evt_test1", a.in.EventID, "every attempt delivers the same event")
		require.Equal(t, "mch_demo", a.in.MerchantID)
		require.Equal(t, attempts[0].in.DeliveryID, a.in.DeliveryID, "every attempt belongs to one delivery")
	}
	require.NotEmpty(t, attempts[0].in.DeliveryID)
	require.GreaterOrEqual(t, attempts[1].at.Sub(attempts[0].at), 5*time.Second)
	require.GreaterOrEqual(t, attempts[2].at.Sub(attempts[1].at), 10*time.Second)

	st := queryState[models.FlowState](t, env)
	require.Equal(t, models.StageDone, st.Stage)
	require.Equal(t, string(models.DeliveryDelivered), st.Status)
	require.Equal(t, models.FlowWebhook, st.Flow)
	require.Equal(t, "evt_test1", st.ObjectID)
}

// An endpoint that never accepts is retried, with waits capped at an hour, for 24
// hours; then the delivery completes failed (the merchant's endpoint's outcome, not
// a failed workflow), having sent the same event every time.
func TestWebhookDeliveryGivesUpAfter24Hours(t *testing.T) {
	env := newEnv(t)
	var log attemptLog
	env.OnActivity(webhookActs.DeliverWebhook, mock.Anything, mock.MatchedBy(log.record(env))).
		Return(models.DeliverWebhookResult{}, endpointFailed(503))
	start := env.Now()
	env.ExecuteWorkflow(WebhookDeliveryWorkflow, deliveryInput)

	require.True(t, env.IsWorkflowCompleted())
	res := resultOf[models.WebhookDeliveryResult](t, env)
	require.Equal(t, models.DeliveryFailed, res.Status)

	attempts := distinctAttempts(&log)
	last := attempts[len(attempts)-1].at
	require.Greater(t, last.Sub(start), 22*time.Hour, "gave up before the window ended")
	require.LessOrEqual(t, last.Sub(start), 24*time.Hour)
	// 5+10+...+2560 s (about 1.4 h) in 10 retries, then hourly for the rest of the day.
	require.Greater(t, len(attempts), 25)
	for i, a := range attempts {
		require.Equal(t, "evt_test1", a.in.EventID)
		require.Equal(t, attempts[0].in.DeliveryID, a.in.DeliveryID)
		if i > 0 {
			require.LessOrEqual(t, a.at.Sub(attempts[i-1].at), time.Hour+time.Second, "waited more than an hour between attempts")
		}
	}
	st := queryState[models.FlowState](t, env)
	require.Equal(t, models.StageDone, st.Stage)
	require.Equal(t, string(models.DeliveryFailed), st.Status)
	require.NotEmpty(t, st.LastError)
}

// Refusals that would fail the same way every time end the delivery at the first
// attempt.
func TestWebhookDeliveryStopsOnRefusals(t *testing.T) {
	tests := []struct{ name, errType string }{
		{"refused address", models.ErrTypeWebhookRefused},
		{"410 gone", models.ErrTypeWebhookGone},
		{"event not found", models.ErrTypeEventNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			env.OnActivity(webhookActs.DeliverWebhook, mock.Anything, mock.Anything).
				Return(models.DeliverWebhookResult{}, temporal.NewNonRetryableApplicationError("no", tc.errType, nil)).Once()
			env.ExecuteWorkflow(WebhookDeliveryWorkflow, deliveryInput)
			res := resultOf[models.WebhookDeliveryResult](t, env)
			require.Equal(t, models.DeliveryFailed, res.Status)
		})
	}
}

func TestWebhookDeliveryRejectsBadInput(t *testing.T) {
	env := newEnv(t)
	env.ExecuteWorkflow(WebhookDeliveryWorkflow, models.WebhookDeliveryInput{EventID: "pay_1", MerchantID: "mch_demo"})
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &appErr)
	require.Equal(t, "invalid_input", appErr.Type())
}

type loggedAttempt struct {
	in models.DeliverWebhookInput
	at time.Time
}

// distinctAttempts drops the repeated matcher calls the mock makes for one call: each
// attempt happens at a distinct (mock) time.
func distinctAttempts(l *attemptLog) []loggedAttempt {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []loggedAttempt
	for i, in := range l.inputs {
		if len(out) > 0 && out[len(out)-1].at.Equal(l.times[i]) {
			continue
		}
		out = append(out, loggedAttempt{in: in, at: l.times[i]})
	}
	return out
}
