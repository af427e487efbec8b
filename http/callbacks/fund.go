package callbacks

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/bank/fund"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/starter"
)

// FundPath is the route of the fund company's callbacks: the worker gives the fund
// company PAYFLOW_PUBLIC_URL + FundPath as each order's callback_url.
const FundPath = "/v1/callbacks/fund"

// FundOrders wakes the flow of the order a callback names (starter.Fund):
// store.ErrNotFound for an order payflow does not have, starter.ErrFlowNotFound when
// its flow has ended.
type FundOrders interface {
	SignalFundCallback(ctx context.Context, orderID string) error
}

// fundCallback answers a fund company's callback. Like a bank's, it is a hint: the
// order's flow asks the fund company and books that answer, so nothing but the
// order id is taken from the body (a confirmation sent twice costs one more
// question). The fund company is the bank simulator's, which signs with the banksim
// callback secret; the route is mounted with the banksim route.
func (h *Handler) fundCallback(secret string) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		log := h.Log.WithFields(logrus.Fields{"channel": "fund", "request_id": c.GetString(middleware.KeyRequestID)})
		cb, err := fund.ParseCallback(secret, c.GetHeader(fund.SignatureHeader), middleware.Body(c))
		switch {
		case errors.Is(err, fund.ErrSignature):
			log.WithError(err).Warn("fund callback refused: bad signature")
			problem.Write(c, problem.SignatureInvalid())
			return
		case err != nil:
			log.WithError(err).Warn("fund callback refused: unreadable")
			problem.Write(c, problem.Invalid("the body is not a fund order's callback"))
			return
		}
		log = log.WithFields(logrus.Fields{"order_id": cb.Order.OrderID, "event_id": cb.EventID, "claimed_status": cb.Order.Status})
		err = h.Fund.SignalFundCallback(ctx, cb.Order.OrderID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			log.Warn("fund callback refused: unknown order")
			problem.Write(c, problem.NotFound("no fund order with this id"))
			return
		case errors.Is(err, starter.ErrFlowNotFound):
			log.Info("fund callback for a finished flow acknowledged")
		case err != nil:
			log.WithError(err).Error("fund callback: signal flow")
			problem.Write(c, problem.Unavailable("try again"))
			return
		default:
			log.Info("fund callback delivered to its flow as a hint")
		}
		c.JSON(http.StatusOK, received)
	}
}
