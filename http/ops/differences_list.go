package ops

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
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
	if _, ok := h.loadReconciliation(c, id); !ok {
		return
	}
	ctx := c.Request.Context()
	if after != "" {
		if _, err := h.Reconciliations.Difference(ctx, id, after); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				problem.Write(c, problem.Invalid("starting_after must be a difference of this reconciliation"))
				return
			}
			h.internal(c, "check starting_after", err)
			return
		}
	}
	diffs, more, err := h.Reconciliations.ListDifferences(ctx, store.DifferenceQuery{ReconciliationID: id, Limit: limit, StartingAfter: after})
	if err != nil {
		h.internal(c, "list differences", err)
		return
	}
	if diffs == nil {
		diffs = []models.Difference{}
	}
	c.JSON(http.StatusOK, listResponse[models.Difference]{Data: diffs, HasMore: more})
}
