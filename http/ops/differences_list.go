package ops

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// listDifferences pages through all of a run's differences, in the order found.
func (h *Handler) listDifferences(c *gin.Context) {
	id, ok := reconciliationID(c)
	if !ok {
		return
	}
	limit, after, ok := listParams(c)
	if !ok {
		return
	}
	diffs, more, err := h.Reconciliations.ListDifferences(c.Request.Context(), starter.DifferenceQuery{ReconciliationID: id, Limit: limit, StartingAfter: after})
	switch {
	case errors.Is(err, starter.ErrNotFound):
		problem.Write(c, problem.NotFound("no such reconciliation"))
		return
	case errors.Is(err, starter.ErrUnknownCursor):
		problem.Write(c, problem.Invalid("starting_after must be a difference of this reconciliation"))
		return
	case err != nil:
		h.internal(c, "list differences", err)
		return
	}
	c.JSON(http.StatusOK, listResponse[models.Difference]{Data: diffs, HasMore: more})
}
