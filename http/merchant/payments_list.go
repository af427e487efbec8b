package merchant

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
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
	items, more, err := h.Payments.List(c.Request.Context(), starter.ListQuery{MerchantID: middleware.MerchantID(c), Status: status, Limit: limit, StartingAfter: after})
	switch {
	case errors.Is(err, starter.ErrUnknownCursor):
		problem.Write(c, problem.Invalid("starting_after must be one of your payments"))
		return
	case err != nil:
		h.internal(c, "list payments", err)
		return
	}
	writeJSON(c, http.StatusOK, listResponse[models.Payment]{Data: items, HasMore: more})
}
