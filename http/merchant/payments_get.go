package merchant

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
)

func (h *Handler) getPayment(c *gin.Context) {
	id := c.Param("id")
	if !models.ValidID(models.PrefixPayment, id) {
		problem.Write(c, problem.NotFound("no such payment"))
		return
	}
	p, err := h.Store.Payment(c.Request.Context(), middleware.MerchantID(c), id)
	switch {
	case isNotFound(err):
		problem.Write(c, problem.NotFound("no such payment"))
	case err != nil:
		h.internal(c, "get payment", err)
	default:
		writeJSON(c, http.StatusOK, p)
	}
}
