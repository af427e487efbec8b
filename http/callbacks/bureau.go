package callbacks

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/bank/identity"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// BureauPath is the route of the credit bureau's callbacks: the worker gives the
// bureau PAYFLOW_PUBLIC_URL + BureauPath as each report's callback_url.
const BureauPath = "/v1/callbacks/bureau"

// Reports finds a credit report's merchant (internal/store).
type Reports interface {
	// CreditReportByID returns the report and its merchant, or store.ErrNotFound.
	CreditReportByID(ctx context.Context, id string) (models.CreditReport, string, error)
}

// ReportSignaler wakes a credit report's flow (package starter).
type ReportSignaler interface {
	// SignalBureauCallback tells the merchant's report's flow the bureau has
	// answered; starter.ErrFlowNotFound when it has ended.
	SignalBureauCallback(ctx context.Context, merchantID, reportID string) error
}

// Bureau serves the credit bureau's callbacks (POST BureauPath). The bureau is the
// bank simulator's, which signs them like its transfer callbacks with the banksim
// callback secret, so the route is mounted with the banksim route only: without
// the banksim channel that secret may still be the public local default, and the
// report flows then find their answers by polling alone.
type Bureau struct {
	Reports  Reports
	Signaler ReportSignaler
}

// bureau answers a bureau callback. Like a bank's, it is only a hint: the report's
// flow queries the bureau and keeps that answer, so the claimed status is logged and
// nothing else is taken from the body. A report id is its bureau request id and is
// no personal datum; nothing else of the body is logged.
func (h *Handler) bureau(secret string) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		log := h.Log.WithFields(logrus.Fields{"channel": "bureau", "request_id": c.GetString(middleware.KeyRequestID)})
		reportID, status, err := identity.ParseBureauCallback(secret, c.GetHeader(identity.SignatureHeader), middleware.Body(c))
		switch {
		case errors.Is(err, identity.ErrSignature):
			log.WithError(err).Warn("bureau callback refused: bad signature")
			problem.Write(c, problem.SignatureInvalid())
			return
		case err != nil:
			log.WithError(err).Warn("bureau callback refused: unreadable")
			problem.Write(c, problem.Invalid("the body is not a completed credit query"))
			return
		}
		log = log.WithFields(logrus.Fields{"report_id": reportID, "claimed_status": status})

		_, merchantID, err := h.Bureau.Reports.CreditReportByID(ctx, reportID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// As for a bank's unknown reference: 404, which the simulator never
			// retries (a 4xx other than 408 and 429 is final).
			log.Warn("bureau callback refused: unknown report")
			problem.Write(c, problem.NotFound("no credit report with this request id"))
			return
		case err != nil:
			log.WithError(err).Error("bureau callback: look up report")
			problem.Write(c, problem.Unavailable("try again"))
			return
		}
		log = log.WithField("merchant_id", merchantID)

		// No event-id claim as for a bank's callback: a redelivered hint costs the
		// flow one more query of the bureau, and nothing is taken from it.
		hinted(c, log, "bureau", h.Bureau.Signaler.SignalBureauCallback(ctx, merchantID, reportID))
	}
}

// hinted answers a callback whose hint was signalled to its flow (err is the
// signal's): 200 when delivered, and when the flow has ended (it already has its
// answer: acknowledged, so that the sender stops resending); 503 otherwise, which
// the sender retries while the flow's own poll goes on.
func hinted(c *gin.Context, log *logrus.Entry, sender string, err error) {
	switch {
	case errors.Is(err, starter.ErrFlowNotFound):
		log.Info(sender + " callback for a finished flow acknowledged")
	case err != nil:
		log.WithError(err).Error(sender + " callback: signal flow")
		problem.Write(c, problem.Unavailable("try again"))
		return
	default:
		log.Info(sender + " callback delivered to its flow as a hint")
	}
	c.JSON(http.StatusOK, received)
}
