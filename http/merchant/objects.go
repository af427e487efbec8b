package merchant

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/decode"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/http/resource"
	"github.com/payflow/payflow/starter"
)

// create runs the steps every creating POST shares, each refusal answered as its
// problem: the Idempotency-Key, the body decoded strictly into a Req, build (the
// kind's own checks, in the order they are answered, making the service's request)
// and the service's call, whose error fail answers (logged as msg). On true the
// caller answers what was created.
func create[Req, In, T any](h *Handler, c *gin.Context, msg string,
	build func(Req, starter.Idempotent) (In, *problem.Problem),
	call func(context.Context, In) (starter.Created[T], error)) (starter.Idempotent, starter.Created[T], bool) {
	var out starter.Created[T]
	idem, p := idempotent(c)
	if p != nil {
		problem.Write(c, *p)
		return idem, out, false
	}
	var req Req
	if err := decode.Strict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return idem, out, false
	}
	in, p := build(req, idem)
	if p != nil {
		problem.Write(c, *p)
		return idem, out, false
	}
	out, err := call(c.Request.Context(), in)
	if err != nil {
		h.fail(c, msg, err)
		return idem, out, false
	}
	return idem, out, true
}

// loadObject loads one of the merchant's objects by the id in the path, or answers
// 404 for a malformed id, an unknown one and another merchant's alike.
func loadObject[T any](h *Handler, c *gin.Context, prefix, kind string, load func(ctx context.Context, merchantID, id string) (T, error)) (T, bool) {
	return resource.Load(c, prefix, kind, func(ctx context.Context, id string) (T, error) {
		return load(ctx, middleware.MerchantID(c), id)
	}, h.internal)
}

// getObject answers GET of one of the merchant's objects by id (loadObject).
func getObject[T any](h *Handler, c *gin.Context, prefix, kind string, load func(ctx context.Context, merchantID, id string) (T, error)) {
	if obj, ok := loadObject(h, c, prefix, kind, load); ok {
		writeJSON(c, http.StatusOK, obj)
	}
}

// list answers a page of the merchant's objects (kinds, with ids of prefix): the
// list's query (listQuery, then filter, when set, for its own parameters), the page
// load finds, and the list envelope.
func list[T any](h *Handler, c *gin.Context, prefix, kinds string,
	load func(context.Context, starter.ListQuery) ([]T, bool, error), filter func(*starter.ListQuery) *problem.Problem) {
	q, p := listQuery(c, prefix)
	if p == nil && filter != nil {
		p = filter(&q)
	}
	if p != nil {
		problem.Write(c, *p)
		return
	}
	items, more, err := load(c.Request.Context(), q)
	switch {
	case errors.Is(err, starter.ErrUnknownCursor):
		problem.Write(c, problem.Invalid("starting_after must be one of your "+kinds))
	case err != nil:
		h.internal(c, "list "+kinds, err)
	default:
		writeJSON(c, http.StatusOK, resource.List[T]{Data: items, HasMore: more})
	}
}
