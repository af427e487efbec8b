package merchant

import (
	"encoding/json"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/http/resource"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

type createRefundRequest struct {
	Amount    json.RawMessage `json:"amount"`
	NotifyURL *string         `json:"notify_url"`
}

// createRefund refunds the payment in the path: a malformed payment id is not found
// before anything else is read; the payment is loaded once the body is read, for its
// currency.
func (h *Handler) createRefund(c *gin.Context) {
	paymentID, ok := resource.PathID(c, "id", models.PrefixPayment, "payment")
	if !ok {
		return
	}
	newRefund := func(req createRefundRequest, idem starter.Idempotent) (in starter.NewRefund, p *problem.Problem) {
		in.Idempotent = idem
		pay, err := h.Payments.Get(c.Request.Context(), idem.MerchantID, paymentID)
		if isNotFound(err) {
			return in, new(problem.NotFound("no such payment"))
		}
		if err != nil {
			return in, new(h.logInternal(c, "load payment", err))
		}
		in.Payment = pay
		cur := string(pay.Currency)
		if in.Amount, _, p = parseAmountCurrency(req.Amount, &cur); p != nil {
			return in, p
		}
		in.NotifyURL, p = notifyURL(req.NotifyURL)
		return in, p
	}
	if idem, out, ok := create(h, c, "create refund", newRefund, h.Refunds.Create); ok {
		writeCreated(c, idem, out)
	}
}
