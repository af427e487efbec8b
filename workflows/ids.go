package workflows

import (
	"fmt"
	"strings"
	"time"

	"github.com/payflow/payflow/models"
)

// TaskQueue is the one task queue payflow's workers poll.
const TaskQueue = "payflow"

// PaymentWorkflowID is the readable id of a payment's workflow:
// payment/<merchant>/<pay_id>. Operators search Temporal Web by it.
func PaymentWorkflowID(merchantID, paymentID string) string {
	return FlowWorkflowID(models.FlowPayment, merchantID, paymentID)
}

// TopupWorkflowID is topup/<merchant>/<top_id>.
func TopupWorkflowID(merchantID, topupID string) string {
	return FlowWorkflowID(models.FlowTopup, merchantID, topupID)
}

// WithdrawalWorkflowID is withdrawal/<merchant>/<wd_id>.
func WithdrawalWorkflowID(merchantID, withdrawalID string) string {
	return FlowWorkflowID(models.FlowWithdrawal, merchantID, withdrawalID)
}

// RefundWorkflowID is refund/<merchant>/<re_id>.
func RefundWorkflowID(merchantID, refundID string) string {
	return FlowWorkflowID(models.FlowRefund, merchantID, refundID)
}

// WebhookWorkflowID is webhook/<merchant>/<evt_id>: the delivery of one event. The
// flow that stores the event and a redelivery both start it under this id, so that
// an event is never delivered by two workflows at once.
func WebhookWorkflowID(merchantID, eventID string) string {
	return FlowWorkflowID(models.FlowWebhook, merchantID, eventID)
}

// FlowWorkflowID builds <flow>/<merchant>/<object id>.
func FlowWorkflowID(flow models.Flow, merchantID, objectID string) string {
	return fmt.Sprintf("%s/%s/%s", flow, merchantID, objectID)
}

// ParseWorkflowID is the reverse of FlowWorkflowID: it returns the flow, merchant and
// object id of a merchant flow's workflow id.
func ParseWorkflowID(id string) (flow models.Flow, merchantID, objectID string, err error) {
	parts := strings.Split(id, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", fmt.Errorf("workflow id %q is not <flow>/<merchant>/<id>", id)
	}
	return models.Flow(parts[0]), parts[1], parts[2], nil
}

// PostingKey is the ledger idempotency key of one step of one flow
// (payment/<pay_id>/capture): derived from the flow and the step, never random, so
// that a retried or replayed activity finds its first journal.
func PostingKey(flow models.Flow, objectID, step string) string {
	return fmt.Sprintf("%s/%s/%s", flow, objectID, step)
}

// ReconciliationWorkflowID is reconciliation/<channel>/<YYYY-MM-DD>: one workflow id
// per channel and UTC day; a rerun of the day is a new run of the same id.
func ReconciliationWorkflowID(channel, date string) string {
	return fmt.Sprintf("%s/%s/%s", models.FlowReconciliation, channel, date)
}

// ParseReconciliationWorkflowID is the reverse of ReconciliationWorkflowID.
func ParseReconciliationWorkflowID(id string) (channel, date string, err error) {
	parts := strings.Split(id, "/")
	if len(parts) != 3 || parts[0] != string(models.FlowReconciliation) || parts[1] == "" {
		return "", "", fmt.Errorf("workflow id %q is not reconciliation/<channel>/<date>", id)
	}
	if _, err := models.ParseDay(parts[2]); err != nil {
		return "", "", fmt.Errorf("workflow id %q: %w", id, err)
	}
	return parts[1], parts[2], nil
}

// ReconciliationScheduleID is reconciliation/<channel>: the Temporal Schedule that
// reconciles a channel every day.
func ReconciliationScheduleID(channel string) string {
	return fmt.Sprintf("%s/%s", models.FlowReconciliation, channel)
}

// PreviousDay is the UTC day before t's: the day a run scheduled at t reconciles
// (the bank's statement of a day is complete only once the day is over).
func PreviousDay(t time.Time) string {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1).Format(models.DayLayout)
}

// FlowSweepScheduleID is the Temporal Schedule that sweeps objects left without a flow
// (one per namespace). Its runs are flow-sweeper-<scheduled time>: the Schedule appends
// the time to the action's id, so each run has its own id and none is mistaken for a
// merchant's flow.
const FlowSweepScheduleID = "flow-sweeper"
