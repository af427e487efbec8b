package merchant

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

func (h *Handler) listPayments(c *gin.Context) {
	limit, after, p := listParams(c, models.PrefixPayment)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	status := c.Query("status")
	if status != "" && !models.PaymentStatus(status).Valid() {
		problem.Write(c, problem.Invalid("status must be processing, succeeded, failed, partially_refunded or refunded"))
		return
	}
	merchantID := middleware.MerchantID(c)
	if after != "" {
		if _, err := h.Store.Payment(c.Request.Context(), merchantID, after); err != nil {
			if isNotFound(err) {
				problem.Write(c, problem.Invalid("starting_after must be one of your payments"))
				return
			}
			h.internal(c, "check starting_after", err)
			return
		}
	}
	items, more, err := h.Store.ListPayments(c.Request.Context(), store.ListQuery{MerchantID: merchantID, Status: status, Limit: limit, StartingAfter: after})
	if err != nil {
		h.internal(c, "list payments", err)
		return
	}
	if items == nil {
		items = []models.Payment{}
	}
	writeJSON(c, http.StatusOK, listResponse[models.Payment]{Data: items, HasMore: more})
}
