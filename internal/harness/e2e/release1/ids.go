package release1

import (
	"fmt"
	"strings"

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
