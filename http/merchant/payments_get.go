package merchant

import (
	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/models"
)

func (h *Handler) getPayment(c *gin.Context) {
	getObject(h, c, models.PrefixPayment, "payment", h.Payments.Get)
}
