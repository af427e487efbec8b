package merchant

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/failpoint"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// flowObject is how every money object is created and answered: stored once per
// Idempotency-Key, its flow started (or found), 202 with the object.
type flowObject[T any] struct {
	// kind names the object in logs and problems ("payment", "top-up").
	kind string
	id   string
	obj  T
	// insert stores the new object inside the idempotency transaction.
	insert func(tx *gorm.DB) error
	// load reads the object a replayed key names.
	load func(ctx context.Context, merchantID, id string) (T, error)
	// start starts the object's flow, or finds it running or finished.
	start func(ctx context.Context, obj T) error
	// refusal, if set, turns an insert's business refusal into its problem.
	refusal func(err error) *problem.Problem
}

// createAndStart stores f.obj under the request's Idempotency-Key (a replay gets the
// first object), then starts its flow on every request with the key, so that a first
// request that stored the object but lost Temporal is completed by the client's retry
// (or by the flow sweeper, when no retry comes).
func createAndStart[T any](h *Handler, c *gin.Context, key string, f flowObject[T]) {
	merchantID := middleware.MerchantID(c)
	id, created, err := h.Store.CreateOnce(c.Request.Context(), store.IdempotentRequest{
		MerchantID: merchantID, Key: key, Fingerprint: fingerprint(c), ObjectID: f.id,
	}, f.insert)
	if f.refusal != nil && err != nil {
		if p := f.refusal(err); p != nil {
			problem.Write(c, *p)
			return
		}
	}
	if !h.idempotencyOK(c, err) {
		return
	}
	obj := f.obj
	if !created {
		if obj, err = f.load(c.Request.Context(), merchantID, id); err != nil {
			h.internal(c, "load idempotent "+f.kind, err)
			return
		}
		c.Header("Idempotent-Replayed", "true")
	}
	// The object is committed and its flow not started: a crash here leaves it without
	// a flow until the client retries or, past PAYFLOW_SWEEP_GRACE, the flow-sweeper
	// schedule starts it (activities.Sweeper). Test builds (-tags failpoints) can end
	// the process here; other builds compile this to nothing.
	failpoint.Hit(failpoint.AfterCommitBeforeStart)
	if err := f.start(c.Request.Context(), obj); err != nil {
		h.Log.WithFields(map[string]any{"object_id": id, "merchant_id": merchantID}).WithError(err).Error("start " + f.kind + " flow")
		problem.Write(c, problem.Unavailable("the "+f.kind+" is stored but its flow could not start yet; retry with the same Idempotency-Key"))
		return
	}
	writeJSON(c, http.StatusAccepted, obj)
}

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
