package merchant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
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
	key, p := idempotencyKey(c)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	var req createRefundRequest
	if err := decodeStrict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	pay, err := h.Store.Payment(c.Request.Context(), merchantID, paymentID)
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
	merchant, ok := h.activeMerchant(c, merchantID)
	if !ok {
		return
	}
	if notify == "" {
		notify = merchant.NotifyURL
	}
	now := h.Now().UTC()
	r := models.Refund{
		ID: models.NewID(models.PrefixRefund), Object: "refund", MerchantID: merchantID, PaymentID: pay.ID,
		Amount: amount, Currency: pay.Currency, Channel: pay.Channel, Status: models.RefundProcessing,
		NotifyURL: notify, CreatedAt: now, UpdatedAt: now,
	}
	r.WorkflowID = workflows.RefundWorkflowID(merchantID, r.ID)
	createAndStart(h, c, key, flowObject[models.Refund]{
		kind: "refund", id: r.ID, obj: r, load: h.Store.Refund,
		insert: func(tx *gorm.DB) error { return store.InsertRefund(tx, r) },
		refusal: func(err error) *problem.Problem {
			if !errors.Is(err, store.ErrExceedsRefundable) {
				return nil
			}
			p := problem.Unprocessable(problem.CodeAmountExceedsRefundable,
				fmt.Sprintf("the payment is %s with at most %d %s left to refund, counting refunds in flight",
					pay.Status, pay.Amount-pay.AmountRefunded, pay.Currency))
			return &p
		},
		start: func(ctx context.Context, r models.Refund) error {
			return h.Starter.StartRefund(ctx, r.FlowInput(pay))
		},
	})
}

func (h *Handler) getRefund(c *gin.Context) {
	getObject(h, c, models.PrefixRefund, "refund", h.Store.Refund)
}
