package ops

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// createReconciliationRequest is the body of POST /v1/ops/reconciliations.
type createReconciliationRequest struct {
	Channel *string `json:"channel"`
	Date    *string `json:"date"`
	Rerun   *bool   `json:"rerun"`
}

// validReconciliation is a create request that passed every check.
type validReconciliation struct {
	channel string
	date    string
	rerun   bool
}

func (h *Handler) validateReconciliation(req createReconciliationRequest) (validReconciliation, *problem.Problem) {
	fail := func(p problem.Problem) (validReconciliation, *problem.Problem) { return validReconciliation{}, &p }
	if req.Channel == nil {
		return fail(problem.Invalid("field \"channel\" is required"))
	}
	if req.Date == nil {
		return fail(problem.Invalid("field \"date\" is required"))
	}
	if !slices.Contains(h.Channels, *req.Channel) {
		return fail(problem.Unprocessable(problem.CodeUnsupportedChannel, fmt.Sprintf("channel must be one of %v", h.Channels)))
	}
	day, err := models.ParseDay(*req.Date)
	if err != nil {
		return fail(problem.Unprocessable(problem.CodeInvalidDate, "date must be a day, YYYY-MM-DD (UTC)"))
	}
	if now := h.now(); day.After(now) {
		return fail(problem.Unprocessable(problem.CodeInvalidDate, "date must not be after today (UTC)"))
	}
	v := validReconciliation{channel: *req.Channel, date: *req.Date}
	if req.Rerun != nil {
		v.rerun = *req.Rerun
	}
	return v, nil
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// createReconciliation opens the run of a channel and day: the existing one (200), or
// a new one (202), which is the first of the day or, with rerun, the next once the
// latest has finished. A run whose flow is not going is started.
func (h *Handler) createReconciliation(c *gin.Context) {
	var req createReconciliationRequest
	if err := decodeStrict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	v, p := h.validateReconciliation(req)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	rec, created, err := h.Reconciliations.Open(c.Request.Context(), starter.OpenReconciliation{Channel: v.channel, Date: v.date, Rerun: v.rerun})
	log := h.Log.WithFields(logrus.Fields{
		"reconciliation_id": rec.ID, "channel": rec.Channel, "date": rec.Date, "attempt": rec.Attempt,
		"operator": c.GetString(middleware.KeyOperator), "request_id": c.GetString(middleware.KeyRequestID),
	})
	var notStarted *starter.NotStartedError
	switch {
	case errors.As(err, &notStarted):
		log.WithError(err).Error("start reconciliation flow")
		problem.Write(c, problem.Unavailable("the reconciliation is stored but its flow could not start yet; send the same request again"))
		return
	case err != nil:
		h.internal(c, "open reconciliation", err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusAccepted
		log.WithField("rerun", v.rerun).Info("reconciliation requested")
		h.audit(c, "reconciliation.open", rec.ID, fmt.Sprintf("%s %s rerun=%t", rec.Channel, rec.Date, v.rerun), "accepted", "")
	}
	c.JSON(status, rec)
}
