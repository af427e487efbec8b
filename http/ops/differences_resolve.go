package ops

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// maxNote bounds a resolution's note (bytes).
const maxNote = 1000

// resolveDifferenceRequest is the body of POST .../differences/{dif_id}/resolve.
type resolveDifferenceRequest struct {
	Note *string `json:"note"`
}

// resolveDifference closes a difference's follow-up with the operator's note: a
// resolution appended once (a second answers 409), never an edit of the difference.
func (h *Handler) resolveDifference(c *gin.Context) {
	id, ok := reconciliationID(c)
	if !ok {
		return
	}
	difID := c.Param("dif_id")
	if !models.ValidID(models.PrefixDifference, difID) {
		problem.Write(c, problem.NotFound("no such difference"))
		return
	}
	var req resolveDifferenceRequest
	if err := decodeStrict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	if req.Note == nil || strings.TrimSpace(*req.Note) == "" {
		problem.Write(c, problem.Invalid("field \"note\" is required: say how the difference was resolved"))
		return
	}
	if len(*req.Note) > maxNote || !utf8.ValidString(*req.Note) {
		problem.Write(c, problem.Invalid("note must be valid UTF-8 of at most 1000 bytes"))
		return
	}
	operator := c.GetString(middleware.KeyOperator)
	d, err := h.Reconciliations.ResolveDifference(c.Request.Context(), id, difID, models.Resolution{Note: *req.Note, Operator: operator})
	switch {
	case errors.Is(err, starter.ErrNotFound):
		problem.Write(c, problem.NotFound("no such difference in this reconciliation"))
		return
	case errors.Is(err, starter.ErrDuplicate):
		h.audit(c, "difference.resolve", difID, *req.Note, "refused", "already resolved")
		problem.Write(c, problem.New(http.StatusConflict, problem.CodeConflict, "this difference is already resolved"))
		return
	case err != nil:
		h.internal(c, "resolve difference", err)
		return
	}
	h.Log.WithFields(logrus.Fields{
		"reconciliation_id": id, "difference_id": difID, "operator": operator, "request_id": c.GetString(middleware.KeyRequestID),
	}).Info("difference resolved")
	h.audit(c, "difference.resolve", difID, *req.Note, "accepted", "")
	c.JSON(http.StatusOK, d)
}
