package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

type notifyingResult struct {
	Stage models.Stage
	Took  time.Duration
}

// notifyingFlow is a minimal flow that ends by notifying its outcome, as payment,
// top-up and the later flows do; it returns the stage it was left in and how long
// notifying took.
func notifyingFlow(ctx workflow.Context, in models.NotifyInput) (notifyingResult, error) {
	t, err := newTracker(ctx, models.FlowState{Flow: models.FlowPayment, ObjectID: in.ObjectID, Stage: models.StagePosting}, stateQuery)
	if err != nil {
		return notifyingResult{}, err
	}
	start := workflow.Now(ctx)
	if err := notifyOutcome(ctx, t, in); err != nil {
		return notifyingResult{}, err
	}
	return notifyingResult{Stage: t.state.Stage, Took: workflow.Now(ctx).Sub(start)}, nil
}

func newNotifyEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	env := newEnv(t)
	env.RegisterWorkflow(notifyingFlow)
	env.RegisterWorkflow(WebhookDeliveryWorkflow)
	return env
}

var notifyIn = models.NotifyInput{
	MerchantID: "mch_demo", ObjectID: "pay_test1", EventType: models.EventPaymentSucceeded, NotifyURL: "https://merchant.example/hooks",
}

// The flow stores the event and starts its delivery as webhook/<merchant>/<evt_id>,
// then finishes without waiting for the delivery, which runs on.
func TestNotifyOutcomeStoresEventAndStartsDelivery(t *testing.T) {
	env := newNotifyEnv(t)
	env.OnActivity(webhookActs.CreateEvent, mock.Anything, models.CreateEventInput{
		MerchantID: "mch_demo", ObjectID: "pay_test1", Type: models.EventPaymentSucceeded, NotifyURL: "https://merchant.example/hooks",
	}).Return(models.CreateEventResult{EventID: "evt_made_by_activity", Created: true}, nil).Once()
	// The real delivery workflow runs as the child; its attempt takes far longer than
	// the flow, which must not wait for it.
	var childID string
	var deliverIn models.DeliverWebhookInput
	env.OnActivity(webhookActs.DeliverWebhook, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) {
			childID = activity.GetInfo(args.Get(0).(context.Context)).WorkflowExecution.ID
			deliverIn = args.Get(1).(models.DeliverWebhookInput)
		}).
		After(time.Hour).
		Return(models.DeliverWebhookResult{StatusCode: 200, Attempt: 1}, nil).Once()
	env.ExecuteWorkflow(notifyingFlow, notifyIn)

	require.True(t, env.IsWorkflowCompleted())
	res := resultOf[notifyingResult](t, env)
	require.Equal(t, models.StageNotifying, res.Stage)
	require.Less(t, res.Took, time.Minute, "the flow waited for the delivery")
	require.Equal(t, "webhook/mch_demo/evt_made_by_activity", childID)
	require.Equal(t, "evt_made_by_activity", deliverIn.EventID)
	require.Equal(t, "mch_demo", deliverIn.MerchantID)
}

// Without a notify_url nothing happens: no activity, no child, no stage change.
func TestNotifyOutcomeWithoutURLDoesNothing(t *testing.T) {
	env := newNotifyEnv(t)
	in := notifyIn
	in.NotifyURL = ""
	env.ExecuteWorkflow(notifyingFlow, in)
	res := resultOf[notifyingResult](t, env)
	require.Equal(t, models.StagePosting, res.Stage)
}

// redeliveredFirstFlow starts the event's delivery itself (as a redelivery would)
// before notifying, so that notifyOutcome finds the delivery running.
func redeliveredFirstFlow(ctx workflow.Context, in models.NotifyInput) (notifyingResult, error) {
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:        WebhookWorkflowID(in.MerchantID, "evt_1"),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
	})
	var running workflow.Execution
	first := workflow.ExecuteChildWorkflow(cctx, WebhookDeliveryWorkflow, models.WebhookDeliveryInput{EventID: "evt_1", MerchantID: in.MerchantID})
	if err := first.GetChildWorkflowExecution().Get(ctx, &running); err != nil {
		return notifyingResult{}, err
	}
	return notifyingFlow(ctx, in)
}

// A delivery that is already running (a redelivery got there first) is not an error.
func TestNotifyOutcomeAcceptsRunningDelivery(t *testing.T) {
	env := newNotifyEnv(t)
	env.RegisterWorkflow(redeliveredFirstFlow)
	env.OnActivity(webhookActs.CreateEvent, mock.Anything, mock.Anything).
		Return(models.CreateEventResult{EventID: "evt_1"}, nil).Once()
	env.OnActivity(webhookActs.DeliverWebhook, mock.Anything, mock.Anything).After(time.Hour).
		Return(models.DeliverWebhookResult{StatusCode: 200, Attempt: 1}, nil).Once()
	env.ExecuteWorkflow(redeliveredFirstFlow, notifyIn)
	res := resultOf[notifyingResult](t, env)
	require.Equal(t, models.StageNotifying, res.Stage)
}

// Bad input is refused before any command; a refused event is returned to the
// caller, which decides (flows log it and finish).
func TestNotifyOutcomeErrors(t *testing.T) {
	t.Run("invalid event type", func(t *testing.T) {
		env := newNotifyEnv(t)
		in := notifyIn
		in.EventType = "payment.processing"
		env.ExecuteWorkflow(notifyingFlow, in)
		require.ErrorContains(t, env.GetWorkflowError(), "invalid input")
	})
	t.Run("event refused by the activity", func(t *testing.T) {
		env := newNotifyEnv(t)
		env.OnActivity(webhookActs.CreateEvent, mock.Anything, mock.Anything).
			Return(models.CreateEventResult{}, temporal.NewNonRetryableApplicationError("object not found", models.ErrTypeInvalidEvent, nil)).Once()
		env.ExecuteWorkflow(notifyingFlow, notifyIn)
		require.ErrorContains(t, env.GetWorkflowError(), "object not found")
	})
}
