package ops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/http/resource"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// YieldRuns is the balance yield's runs (starter.Yield).
type YieldRuns interface {
	// OpenRun returns the product and day's run or creates one and starts its flow;
	// starter.ErrDateNotClosed, *starter.NotStartedError.
	OpenRun(ctx context.Context, productID, date string) (models.YieldRun, bool, error)
	// Run returns a run; starter.ErrNotFound.
	Run(ctx context.Context, id string) (models.YieldRun, error)
}

// createYieldRunRequest is the body of POST /v1/ops/yield_runs.
type createYieldRunRequest struct {
	ProductID *string `json:"product_id"`
	Date      *string `json:"date"`
}

// yieldRunJSON is a run as the ops API shows it. carried_total is the sum of the
// wallets' carried remainders after the day, an exact decimal of minor units.
type yieldRunJSON struct {
	ID            string                `json:"id"`
	Object        string                `json:"object"`
	ProductID     string                `json:"product_id"`
	Date          string                `json:"date"`
	Status        models.YieldRunStatus `json:"status"`
	IncomePer10k  int64                 `json:"income_per_10k"`
	Wallets       int64                 `json:"wallets"`
	TotalCredited int64                 `json:"total_credited"`
	CarriedTotal  string                `json:"carried_total"`
	Currency      models.Currency       `json:"currency"`
	Error         string                `json:"error,omitempty"`
	WorkflowID    string                `json:"workflow_id"`
	CreatedAt     time.Time             `json:"created"`
	FinishedAt    *time.Time            `json:"finished_at,omitempty"`
}

func yieldRunView(r models.YieldRun) yieldRunJSON {
	v := yieldRunJSON{
		ID: r.ID, Object: "yield_run", ProductID: r.ProductID, Date: r.Date, Status: r.Status, IncomePer10k: r.IncomePer10k,
		Wallets: r.Wallets, TotalCredited: r.TotalCredited, CarriedTotal: models.FormatYieldCarry(r.CarriedTotal),
		Currency: models.YieldCurrency, Error: r.Error, WorkflowID: r.WorkflowID, CreatedAt: r.CreatedAt.UTC(), FinishedAt: r.FinishedAt,
	}
	return v
}

// createYieldRun opens the yield run of a product and day: the existing one (200) or a
// new one (202) whose workflow starts. A day not yet ended is 422 date_not_closed.
func (h *Handler) createYieldRun(c *gin.Context) {
	var req createYieldRunRequest
	if err := decodeStrict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	switch {
	case req.ProductID == nil || req.Date == nil:
		problem.Write(c, problem.Invalid("fields \"product_id\" and \"date\" are required"))
		return
	case *req.ProductID != models.YieldProduct:
		problem.Write(c, problem.Unprocessable(problem.CodeUnsupportedProduct, fmt.Sprintf("product_id must be %s, the product that pays the balance yield", models.YieldProduct)))
		return
	}
	if _, err := models.YieldDayEnd(*req.Date); err != nil {
		problem.Write(c, problem.Unprocessable(problem.CodeInvalidDate, "date must be a day, YYYY-MM-DD (Asia/Shanghai)"))
		return
	}
	run, created, err := h.Yield.OpenRun(c.Request.Context(), *req.ProductID, *req.Date)
	log := h.Log.WithFields(logrus.Fields{
		"yield_run_id": run.ID, "product_id": *req.ProductID, "date": *req.Date,
		"operator": c.GetString(middleware.KeyOperator), "request_id": c.GetString(middleware.KeyRequestID),
	})
	var notStarted *starter.NotStartedError
	switch {
	case errors.Is(err, starter.ErrDateNotClosed):
		problem.Write(c, problem.Unprocessable(problem.CodeDateNotClosed, "the day has not ended yet (it ends at midnight Asia/Shanghai)"))
		return
	case errors.As(err, &notStarted):
		log.WithError(err).Error("start yield run flow")
		problem.Write(c, problem.Unavailable("the yield run is stored but its flow could not start yet; send the same request again"))
		return
	case err != nil:
		h.internal(c, "open yield run", err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusAccepted
		log.Info("yield run requested")
		h.audit(c, "yield_run.open", run.ID, fmt.Sprintf("%s %s", run.ProductID, run.Date), "accepted", "")
	}
	c.JSON(status, yieldRunView(run))
}

// getYieldRun answers a run with its status and totals.
func (h *Handler) getYieldRun(c *gin.Context) {
	if run, ok := resource.Load(c, models.PrefixYieldRun, "yield run", h.Yield.Run, h.internal); ok {
		c.JSON(http.StatusOK, yieldRunView(run))
	}
}
