package merchant

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

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
	if notify == "" {
		var ok bool
		if notify, ok = h.defaultNotifyURL(c, merchantID); !ok {
			return
		}
	}
	now := h.Now().UTC()
	r := models.Refund{
		ID: models.NewID(models.PrefixRefund), Object: "refund", MerchantID: merchantID, PaymentID: pay.ID,
		Amount: amount, Currency: pay.Currency, Channel: pay.Channel, Status: models.RefundProcessing,
		NotifyURL: notify, CreatedAt: now, UpdatedAt: now,
	}
	r.WorkflowID = workflows.RefundWorkflowID(merchantID, r.ID)
	id, created, err := h.Store.CreateOnce(c.Request.Context(), store.IdempotentRequest{
		MerchantID: merchantID, Key: key, Fingerprint: fingerprint(c), ObjectID: r.ID,
	}, func(tx *gorm.DB) error { return store.InsertRefund(tx, r) })
	if errors.Is(err, store.ErrExceedsRefundable) {
		left := pay.Amount - pay.AmountRefunded
		problem.Write(c, problem.Unprocessable(problem.CodeAmountExceedsRefundable,
			fmt.Sprintf("the payment is %s with at most %d %s left to refund, counting refunds in flight", pay.Status, left, pay.Currency)))
		return
	}
	if !h.idempotencyOK(c, err) {
		return
	}
	if !created {
		if r, err = h.Store.Refund(c.Request.Context(), merchantID, id); err != nil {
			h.internal(c, "load idempotent refund", err)
			return
		}
		c.Header("Idempotent-Replayed", "true")
	}
	in := models.RefundInput{
		RefundID: r.ID, PaymentID: pay.ID, MerchantID: merchantID, Amount: r.Amount, Currency: r.Currency,
		Channel: pay.Channel, Source: pay.Source, NotifyURL: r.NotifyURL,
	}
	if err := h.Starter.StartRefund(c.Request.Context(), in); err != nil {
		h.Log.WithFields(map[string]any{"refund_id": r.ID, "merchant_id": merchantID}).WithError(err).Error("start refund flow")
		problem.Write(c, problem.Unavailable("the refund is stored but its flow could not start yet; retry with the same Idempotency-Key"))
		return
	}
	writeJSON(c, http.StatusAccepted, r)
}

func (h *Handler) getRefund(c *gin.Context) {
	id := c.Param("id")
	if !models.ValidID(models.PrefixRefund, id) {
		problem.Write(c, problem.NotFound("no such refund"))
		return
	}
	r, err := h.Store.Refund(c.Request.Context(), middleware.MerchantID(c), id)
	switch {
	case isNotFound(err):
		problem.Write(c, problem.NotFound("no such refund"))
	case err != nil:
		h.internal(c, "get refund", err)
	default:
		writeJSON(c, http.StatusOK, r)
	}
}
