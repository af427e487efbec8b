package ops

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// getReconciliation answers a run with its status, its counts (final, or so far while
// it runs) and its first differences.
func (h *Handler) getReconciliation(c *gin.Context) {
	id, ok := reconciliationID(c)
	if !ok {
		return
	}
	rec, ok := h.loadReconciliation(c, id)
	if !ok {
		return
	}
	diffs, more, err := h.Reconciliations.ListDifferences(c.Request.Context(), store.DifferenceQuery{ReconciliationID: id, Limit: firstDifferences})
	if err != nil {
		h.internal(c, "list differences", err)
		return
	}
	if diffs == nil {
		diffs = []models.Difference{}
	}
	rec.WorkflowID = workflows.ReconciliationWorkflowID(rec.Channel, rec.Date)
	c.JSON(http.StatusOK, reconciliationResponse{Reconciliation: rec, Differences: diffs, HasMoreDifferences: more})
}
