package merchant

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
)

// getObject answers GET of one of the merchant's objects by id: 404 for a malformed
// id, an unknown one and another merchant's alike.
func getObject[T any](h *Handler, c *gin.Context, prefix, kind string, load func(ctx context.Context, merchantID, id string) (T, error)) {
	id := c.Param("id")
	if !models.ValidID(prefix, id) {
		problem.Write(c, problem.NotFound("no such "+kind))
		return
	}
	obj, err := load(c.Request.Context(), middleware.MerchantID(c), id)
	switch {
	case isNotFound(err):
		problem.Write(c, problem.NotFound("no such "+kind))
	case err != nil:
		h.internal(c, "get "+kind, err)
	default:
		writeJSON(c, http.StatusOK, obj)
	}
}
