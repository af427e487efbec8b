package ops

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/starter"
)

// getReconciliation answers a run with its status, its counts (final, or so far while
// it runs) and its first differences.
func (h *Handler) getReconciliation(c *gin.Context) {
	id, ok := reconciliationID(c)
	if !ok {
		return
	}
	rec, err := h.Reconciliations.Get(c.Request.Context(), id)
	switch {
	case errors.Is(err, starter.ErrNotFound):
		problem.Write(c, problem.NotFound("no such reconciliation"))
	case err != nil:
		h.internal(c, "get reconciliation", err)
	default:
		c.JSON(http.StatusOK, rec)
	}
}
