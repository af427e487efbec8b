// Package resource holds what the merchant and the ops API do alike with their
// resources: read an id from the path, load the object it names, read a list's page
// and answer it in the list envelope.
package resource

import (
	"context"
	"errors"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// PathID reads the path parameter param, an id with prefix; a malformed one is
// answered 404, no such kind.
func PathID(c *gin.Context, param, prefix, kind string) (string, bool) {
	id := c.Param(param)
	if !models.ValidID(prefix, id) {
		problem.Write(c, problem.NotFound("no such "+kind))
		return "", false
	}
	return id, true
}

// Load loads the object (a kind, with ids of prefix) named by the :id path parameter.
// A malformed id and an unknown one (starter.ErrNotFound) are answered 404 alike; any
// other error by internal, as "get <kind>".
func Load[T any](c *gin.Context, prefix, kind string, load func(ctx context.Context, id string) (T, error),
	internal func(c *gin.Context, msg string, err error)) (T, bool) {
	var obj T
	id, ok := PathID(c, "id", prefix, kind)
	if !ok {
		return obj, false
	}
	obj, err := load(c.Request.Context(), id)
	switch {
	case errors.Is(err, starter.ErrNotFound):
		problem.Write(c, problem.NotFound("no such "+kind))
	case err != nil:
		internal(c, "get "+kind, err)
	default:
		return obj, true
	}
	return obj, false
}

// Page reads a list's limit (1-100, default 10) and starting_after, empty or an id
// with prefix (else refused with afterDetail).
func Page(c *gin.Context, prefix, afterDetail string) (int, string, *problem.Problem) {
	limit := 10
	if v, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return 0, "", new(problem.Invalid("limit must be an integer from 1 to 100"))
		}
		limit = n
	}
	after := c.Query("starting_after")
	if after != "" && !models.ValidID(prefix, after) {
		return 0, "", new(problem.Invalid(afterDetail))
	}
	return limit, after, nil
}

// List is the envelope of every list.
type List[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"has_more"`
}
