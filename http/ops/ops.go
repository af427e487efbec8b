// Package ops serves the ops API (/v1/ops/...), authenticated by the ops bearer
// token: operators' views of the ledger and the flows, and their acts on them.
package ops

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/ledger"
)

// Ledger is what the ops API needs of the ledger.
type Ledger interface {
	Check(ctx context.Context) (ledger.CheckReport, error)
}

// Handler serves the ops API.
type Handler struct {
	Ledger Ledger
	Log    *logrus.Entry

	// Reconciliations: runs and their differences; Reconciler starts runs' flows;
	// Channels are the channels a run may name; Now is the clock (today's runs are
	// the latest allowed).
	Reconciliations Reconciliations
	Reconciler      Reconciler
	Channels        []string
	Now             func() time.Time
}

// Register mounts the ops routes on an authenticated group.
func (h *Handler) Register(g *gin.RouterGroup) {
	g.GET("/ledger/check", h.ledgerCheck)
	g.POST("/reconciliations", h.createReconciliation)
	g.GET("/reconciliations/:id", h.getReconciliation)
	g.GET("/reconciliations/:id/differences", h.listDifferences)
	g.POST("/reconciliations/:id/differences/:dif_id/resolve", h.resolveDifference)
}

func (h *Handler) ledgerCheck(c *gin.Context) {
	r, err := h.Ledger.Check(c.Request.Context())
	if err != nil {
		h.Log.WithError(err).WithField("request_id", c.GetString(middleware.KeyRequestID)).Error("ledger check")
		problem.Write(c, problem.Internal())
		return
	}
	c.JSON(http.StatusOK, r)
}
