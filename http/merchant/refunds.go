package merchant

import (
	"encoding/json"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

type createRefundRequest struct {
	Amount    json.RawMessage `json:"amount"`
	NotifyURL *string         `json:"notify_url"`
}

func (h *Handler) createRefund(c *gin.Context) {
	merchantID := middleware.MerchantID(c)
	paymentID := c.Param("id")
	if !models.ValidID(models.PrefixPayment, paymentID) {
		problem.Write(c, problem.NotFound("no such payment"))
		return
	}
	idem, ok := idempotent(c)
	if !ok {
		return
	}
	var req createRefundRequest
	if err := decodeStrict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	pay, err := h.Payments.Get(c.Request.Context(), merchantID, paymentID)
	if isNotFound(err) {
		problem.Write(c, problem.NotFound("no such payment"))
		return
	}
	if err != nil {
		h.internal(c, "load payment", err)
		return
	}
	cur := string(pay.Currency)
	amount, _, p := parseAmountCurrency(req.Amount, &cur)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	notify, p := notifyURL(req.NotifyURL)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	out, err := h.Refunds.Create(c.Request.Context(), starter.NewRefund{Idempotent: idem, Payment: pay, Amount: amount, NotifyURL: notify})
	if err != nil {
		h.fail(c, "create refund", err)
		return
	}
	writeCreated(c, idem, out)
}

func (h *Handler) getRefund(c *gin.Context) {
	getObject(h, c, models.PrefixRefund, "refund", h.Refunds.Get)
}
