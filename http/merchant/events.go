package merchant

import (
	"bytes"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/decode"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/http/resource"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// listEvents answers GET /v1/events: the merchant's events, newest first, each with
// the state of its delivery derived from the recorded attempts.
func (h *Handler) listEvents(c *gin.Context) {
	list(h, c, models.PrefixEvent, "events", h.Events.List, nil)
}

// redeliverEvent answers POST /v1/events/{id}/redeliver: the event is delivered
// again by a new delivery (same id, same body), whatever became of the earlier ones.
// While a delivery of the event is still running (retrying), it answers 409: one event
// never has two deliveries at once. The body is empty or {}.
func (h *Handler) redeliverEvent(c *gin.Context) {
	if body := bytes.TrimSpace(middleware.Body(c)); len(body) > 0 {
		var none struct{}
		if err := decode.Strict(body, &none); err != nil {
			problem.Write(c, problem.Invalid(err.Error()))
			return
		}
	}
	id, ok := resource.PathID(c, "id", models.PrefixEvent, "event")
	if !ok {
		return
	}
	ev, err := h.Events.Redeliver(c.Request.Context(), middleware.MerchantID(c), id)
	var notStarted *starter.NotStartedError
	switch {
	case isNotFound(err):
		problem.Write(c, problem.NotFound("no such event"))
	case errors.Is(err, starter.ErrMerchantDisabled):
		h.fail(c, "redeliver event", err)
	case errors.Is(err, starter.ErrFlowRunning):
		problem.Write(c, problem.New(http.StatusConflict, problem.CodeConflict,
			"a delivery of this event is in progress (it retries for up to 24 hours); redeliver it once that delivery has ended"))
	case errors.As(err, &notStarted):
		h.Log.WithFields(map[string]any{"event_id": id, "merchant_id": notStarted.MerchantID}).WithError(err).Error("start event redelivery")
		problem.Write(c, problem.Unavailable("the redelivery could not start; retry"))
	case err != nil:
		h.internal(c, "redeliver event", err)
	default:
		writeJSON(c, http.StatusAccepted, ev)
	}
}
