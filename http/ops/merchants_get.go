package ops

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/starter"
)

// getMerchant shows a merchant: its settings, status and, while a rotation overlaps,
// when its previous secret expires. Never a secret.
func (h *Handler) getMerchant(c *gin.Context) {
	id, ok := merchantID(c)
	if !ok {
		return
	}
	m, err := h.Merchants.Get(c.Request.Context(), id)
	switch {
	case errors.Is(err, starter.ErrNotFound):
		problem.Write(c, problem.NotFound("no such merchant"))
	case err != nil:
		h.internal(c, "get merchant", err)
	default:
		c.JSON(http.StatusOK, merchantView(m))
	}
}
