package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// WebhookDeliveryWorkflow delivers one stored event to its notify_url: one
// DeliverWebhook activity whose retry policy is the delivery schedule (first retry
// after 5 s, doubling up to an hour between attempts, for 24 hours). Every attempt
// sends the same event id and body and is recorded by the activity. It completes with
// the outcome, delivered or failed; giving up is the merchant's endpoint's outcome, not
// a failure of the workflow.
func WebhookDeliveryWorkflow(ctx workflow.Context, in models.WebhookDeliveryInput) (models.WebhookDeliveryResult, error) {
	return runFlow(ctx, in, newWebhookDelivery)
}

type webhookDelivery struct {
	*tracker
	in models.WebhookDeliveryInput
}

// newWebhookDelivery validates the input and sets up the tracker (the state query
// only: a delivery moves no money, there is nothing to retry or cancel).
func newWebhookDelivery(ctx workflow.Context, in models.WebhookDeliveryInput) (*webhookDelivery, error) {
	if !models.ValidID(models.PrefixEvent, in.EventID) || in.MerchantID == "" {
		return nil, invalidInput("invalid webhook delivery input %q", in.EventID)
	}
	t, err := newTracker(ctx, models.FlowState{
		Flow: models.FlowWebhook, ObjectID: in.EventID, Stage: models.StageNotifying,
		Status: string(models.DeliveryPending),
	}, stateQuery, "event_id", in.EventID, "merchant_id", in.MerchantID)
	if err != nil {
		return nil, err
	}
	return &webhookDelivery{tracker: t, in: in}, nil
}

func (d *webhookDelivery) run(ctx workflow.Context) (models.WebhookDeliveryResult, error) {
	in := models.DeliverWebhookInput{
		EventID: d.in.EventID, MerchantID: d.in.MerchantID,
		// The run id names this delivery in the attempt records, so that a
		// redelivery's attempts are told apart from the earlier delivery's.
		DeliveryID: workflow.GetInfo(ctx).WorkflowExecution.RunID,
	}
	var res models.DeliverWebhookResult
	err := workflow.ExecuteActivity(webhookDeliveryOptions(ctx), webhookActs.DeliverWebhook, in).Get(ctx, &res)
	if temporal.IsCanceledError(err) {
		return models.WebhookDeliveryResult{}, err
	}
	if err != nil {
		d.state.LastError = err.Error()
		d.state.Status = string(models.DeliveryFailed)
		d.setStage(ctx, models.StageDone)
		d.logger.Warn("webhook delivery gave up", "error", err)
		return models.WebhookDeliveryResult{Status: models.DeliveryFailed}, nil
	}
	d.state.Status = string(models.DeliveryDelivered)
	d.setStage(ctx, models.StageDone)
	d.state.Attempts = res.Attempt
	d.logger.Info("webhook delivered", "attempt", res.Attempt, "status_code", res.StatusCode)
	return models.WebhookDeliveryResult{Status: models.DeliveryDelivered, StatusCode: res.StatusCode, Attempt: res.Attempt}, nil
}

// WebhookSearchAttributes are a delivery's attributes at start: operators find the
// deliveries of a merchant with PayflowFlow="webhook" AND PayflowMerchant="...".
func WebhookSearchAttributes(merchantID string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		SAMerchant.ValueSet(merchantID),
		SAFlow.ValueSet(string(models.FlowWebhook)),
		SAStage.ValueSet(string(models.StageNotifying)),
	)
}
