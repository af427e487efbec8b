package ops

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/http/resource"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// CreditReports is what operators do with credit reports (starter.Identity): read one
// (the read recorded as theirs) and see who read it.
type CreditReports interface {
	CreditReportAsOperator(ctx context.Context, id, operator, requestID string) (models.CreditReport, error)
	ReportReads(ctx context.Context, merchantID, id string, limit int, after string) ([]models.ReportRead, bool, error)
}

func (h *Handler) getCreditReport(c *gin.Context) {
	op := c.GetString(middleware.KeyOperator)
	if r, ok := resource.Load(c, models.PrefixCreditReport, "credit report", func(ctx context.Context, id string) (models.CreditReport, error) {
		return h.CreditReports.CreditReportAsOperator(ctx, id, op, c.GetString(middleware.KeyRequestID))
	}, h.internal); ok {
		c.JSON(http.StatusOK, r)
	}
}

func (h *Handler) listReportReads(c *gin.Context) {
	id, ok := resource.PathID(c, "id", models.PrefixCreditReport, "credit report")
	if !ok {
		return
	}
	limit, after, p := resource.Page(c, models.PrefixReportRead, "starting_after must be a read of this report")
	if p != nil {
		problem.Write(c, *p)
		return
	}
	reads, more, err := h.CreditReports.ReportReads(c.Request.Context(), "", id, limit, after)
	switch {
	case errors.Is(err, starter.ErrNotFound):
		problem.Write(c, problem.NotFound("no such credit report"))
	case err != nil:
		h.internal(c, "list report reads", err)
	default:
		c.JSON(http.StatusOK, resource.List[models.ReportRead]{Data: reads, HasMore: more})
	}
}
