package workflows

import (
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// notifyOutcome tells the merchant that an object reached a terminal state, for any
// flow, once that state is recorded: it stores the event (a local activity that reads
// the object and makes the event id, or finds the event stored by an earlier run) and
// starts the event's delivery as a child workflow, webhook/<merchant>/<evt_id>, that
// outlives the flow (ABANDON). It waits only until the delivery has started, never for
// the delivery itself.
//
// With an empty NotifyURL it does nothing at all (no command, no stage change), so
// calling it for every object is safe. A returned error means the event could not be
// stored or its delivery not started (bad input, the database down for longer than the
// local activity's retries); the object's outcome is already recorded, so a caller
// logs it and finishes rather than failing a flow that moved money.
func notifyOutcome(ctx workflow.Context, t *tracker, in models.NotifyInput) error {
	if in.NotifyURL == "" {
		return nil
	}
	if in.MerchantID == "" || in.ObjectID == "" || !in.EventType.Valid() {
		// Checked before any command, so that a bad call changes no history.
		return fmt.Errorf("notify %s of %q for merchant %q: invalid input", in.EventType, in.ObjectID, in.MerchantID)
	}
	t.setStage(ctx, models.StageNotifying)
	var ev models.CreateEventResult
	err := workflow.ExecuteLocalActivity(eventLocalOptions(ctx), webhookActs.CreateEvent, models.CreateEventInput{
		MerchantID: in.MerchantID, ObjectID: in.ObjectID, Type: in.EventType, NotifyURL: in.NotifyURL,
	}).Get(ctx, &ev)
	if err != nil {
		t.state.LastError = err.Error()
		return fmt.Errorf("store event %s of %s: %w", in.EventType, in.ObjectID, err)
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: WebhookWorkflowID(in.MerchantID, ev.EventID),
		// The delivery goes on (for up to a day) after the flow has finished.
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		// Once this event's delivery ran, only a redelivery runs it again.
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: WebhookSearchAttributes(in.MerchantID),
	})
	child := workflow.ExecuteChildWorkflow(cctx, WebhookDeliveryWorkflow, models.WebhookDeliveryInput{
		EventID: ev.EventID, MerchantID: in.MerchantID,
	})
	var started workflow.Execution
	if err := child.GetChildWorkflowExecution().Get(ctx, &started); err != nil {
		if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			// A redelivery (or an earlier run of this flow) started it first: the
			// event is being, or has been, delivered.
			t.logger.Info("webhook delivery already started", "event_id", ev.EventID)
			return nil
		}
		t.state.LastError = err.Error()
		return fmt.Errorf("start delivery of %s: %w", ev.EventID, err)
	}
	t.logger.Info("webhook delivery started", "event_id", ev.EventID, "event_type", in.EventType)
	return nil
}

// notifyIfAsked notifies a flow's outcome when the object has a notify_url and the
// flow runs the notifying shape (notifiesWebhooks). A failure to start the
// notification is logged, never returned: the outcome is recorded and money has moved.
func (t *tracker) notifyIfAsked(ctx workflow.Context, merchantID, objectID, notifyURL string, flow models.Flow, status string) {
	if notifyURL == "" || !notifiesWebhooks(ctx) {
		return
	}
	err := notifyOutcome(ctx, t, models.NotifyInput{
		MerchantID: merchantID, ObjectID: objectID, NotifyURL: notifyURL,
		EventType: models.OutcomeEventType(flow, status),
	})
	if err != nil {
		t.logger.Error("notify outcome", "object_id", objectID, "error", err)
	}
}
