// Package ops serves the ops API (/v1/ops/...), authenticated by the ops bearer
// token: operators' views of the ledger and the flows, and their acts on them. Every
// act that changes something is written to the audit log, accepted or refused.
package ops

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/decode"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// Ledger is what the ops API needs of the ledger.
type Ledger interface {
	Check(ctx context.Context) (ledger.CheckReport, error)
}

// Store is what the ops API needs of payflow's rows: withdrawals and the audit log.
type Store interface {
	Withdrawal(ctx context.Context, merchantID, id string) (models.Withdrawal, error)
	Audit(ctx context.Context, e models.AuditEntry) (models.AuditEntry, error)
	AuditLog(ctx context.Context, target string, limit int, startingAfter string) ([]models.AuditEntry, bool, error)
}

// Merchants is the merchants service (starter.Merchants).
type Merchants interface {
	// Create onboards a merchant with a fresh API secret and webhook signing secret,
	// answered once; starter.ErrDuplicate, models.ErrUnsupportedCurrency.
	Create(ctx context.Context, m models.Merchant) (created models.Merchant, secret, webhookSecret string, err error)
	// Get returns a merchant (never its secret); starter.ErrNotFound.
	Get(ctx context.Context, id string) (models.Merchant, error)
	// Update changes a merchant's settings and answers it before and after;
	// starter.ErrNotFound.
	Update(ctx context.Context, id string, u models.MerchantUpdate) (before, after models.Merchant, err error)
	// SetStatus enables or disables a merchant; starter.ErrNotFound.
	SetStatus(ctx context.Context, id string, status models.MerchantStatus) error
	// RotateSecret makes a new secret current and keeps the previous one valid for
	// overlap; starter.ErrNotFound, starter.ErrConcurrentRotation.
	RotateSecret(ctx context.Context, id string, overlap time.Duration) (string, time.Time, error)
	// RotateWebhookSecret does the same for the webhook signing secret: webhooks are
	// signed with both until overlap ends.
	RotateWebhookSecret(ctx context.Context, id string, overlap time.Duration) (string, time.Time, error)
}

// Flows acts on running flows (package starter).
type Flows interface {
	DecideWithdrawal(ctx context.Context, workflowID string, approve bool, d models.Decision) (models.DecisionResult, error)
}

// Handler serves the ops API.
type Handler struct {
	Ledger     Ledger
	Store      Store
	Flows      Flows
	FlowLister FlowLister
	FlowActs   FlowActs
	References References
	Merchants  Merchants
	Log        *logrus.Entry

	// Reconciliations: runs and their differences (starter.Reconciliations);
	// Channels are the channels a run may name; Now is the clock that refuses a day
	// after today.
	Reconciliations Reconciliations
	Channels        []string
	Now             func() time.Time
	// CSVPage is how many differences the CSV download reads per page; 0 is
	// DefaultCSVPage.
	CSVPage int
	// CreditReports: reads of credit reports, each recorded (starter.Identity).
	CreditReports CreditReports
	// Yield: the balance yield's daily runs (starter.Yield).
	Yield YieldRuns
}

// Register mounts the ops routes on an authenticated group.
func (h *Handler) Register(g *gin.RouterGroup) {
	g.GET("/ledger/check", h.ledgerCheck)
	g.POST("/withdrawals/:id/approve", func(c *gin.Context) { h.decide(c, true) })
	g.POST("/withdrawals/:id/reject", func(c *gin.Context) { h.decide(c, false) })
	g.POST("/merchants", h.createMerchant)
	g.GET("/merchants/:id", h.getMerchant)
	g.PATCH("/merchants/:id", h.updateMerchant)
	g.POST("/merchants/:id/rotate-secret", h.rotateSecret)
	g.POST("/merchants/:id/rotate-webhook-secret", h.rotateWebhookSecret)
	g.POST("/merchants/:id/disable", func(c *gin.Context) { h.setMerchantStatus(c, models.MerchantDisabled) })
	g.POST("/merchants/:id/enable", func(c *gin.Context) { h.setMerchantStatus(c, models.MerchantActive) })
	g.GET("/audit", h.auditLog)
	g.GET("/credit_reports/:id", h.getCreditReport)
	g.GET("/credit_reports/:id/reads", h.listReportReads)
	g.GET("/flows", h.listFlows)
	g.POST("/flows/:id/retry", func(c *gin.Context) { h.actOnFlow(c, "retry") })
	g.POST("/flows/:id/cancel", func(c *gin.Context) { h.actOnFlow(c, "cancel") })
	g.POST("/reconciliations", h.createReconciliation)
	g.GET("/reconciliations/:id", h.getReconciliation)
	g.GET("/reconciliations/:id/differences", h.listDifferences)
	g.GET("/reconciliations/:id/differences.csv", h.differencesCSV)
	g.POST("/reconciliations/:id/differences/:dif_id/resolve", h.resolveDifference)
	g.POST("/yield_runs", h.createYieldRun)
	g.GET("/yield_runs/:id", h.getYieldRun)
}

func (h *Handler) ledgerCheck(c *gin.Context) {
	r, err := h.Ledger.Check(c.Request.Context())
	if err != nil {
		h.internal(c, "ledger check", err)
		return
	}
	c.JSON(http.StatusOK, r)
}

// reasonBody is the optional body of an act: {"reason": "..."}.
type reasonBody struct {
	Reason string `json:"reason"`
}

func readReason(c *gin.Context) (string, bool) {
	body := middleware.Body(c)
	if len(body) == 0 {
		return "", true
	}
	var r reasonBody
	if err := decode.Strict(body, &r); err != nil {
		problem.Write(c, problem.Invalid("the body must be {\"reason\": \"...\"}: "+err.Error()))
		return "", false
	}
	if len(r.Reason) > 1000 {
		problem.Write(c, problem.Invalid("reason must be at most 1000 bytes"))
		return "", false
	}
	return r.Reason, true
}

// audit records an act; a failure to record is logged (the act itself happened).
func (h *Handler) audit(c *gin.Context, action, target, reason, result, detail string) {
	_, err := h.Store.Audit(c.Request.Context(), models.AuditEntry{
		Operator: c.GetString(middleware.KeyOperator), Action: action, Target: target, Reason: reason, Result: result, Detail: detail,
	})
	if err != nil {
		h.Log.WithError(err).WithFields(logrus.Fields{"action": action, "target": target}).Error("audit log write failed")
	}
}

func (h *Handler) decide(c *gin.Context, approve bool) {
	action := "withdrawal.reject"
	if approve {
		action = "withdrawal.approve"
	}
	id := c.Param("id")
	reason, ok := readReason(c)
	if !ok {
		return
	}
	if !approve && reason == "" {
		problem.Write(c, problem.Invalid("a rejection needs a reason: {\"reason\": \"...\"}"))
		return
	}
	w, err := h.Store.Withdrawal(c.Request.Context(), "", id)
	if errors.Is(err, starter.ErrNotFound) || !models.ValidID(models.PrefixWithdrawal, id) {
		problem.Write(c, problem.NotFound("no such withdrawal"))
		return
	}
	if err != nil {
		h.internal(c, "load withdrawal", err)
		return
	}
	res, err := h.Flows.DecideWithdrawal(c.Request.Context(), w.WorkflowID, approve, models.Decision{Operator: c.GetString(middleware.KeyOperator), Reason: reason})
	switch {
	case errors.Is(err, starter.ErrUpdateRejected), errors.Is(err, starter.ErrFlowNotFound):
		detail := err.Error()
		if errors.Is(err, starter.ErrFlowNotFound) {
			detail = "the withdrawal's flow has finished (status " + string(w.Status) + ")"
		}
		h.audit(c, action, id, reason, "refused", detail)
		problem.Write(c, problem.New(http.StatusConflict, problem.CodeNotPendingApproval, detail))
	case err != nil:
		h.audit(c, action, id, reason, "error", "")
		h.internal(c, "decide withdrawal", err)
	default:
		h.audit(c, action, id, reason, "accepted", "")
		c.JSON(http.StatusOK, gin.H{"id": id, "status": res.Status, "accepted": true})
	}
}

func (h *Handler) auditLog(c *gin.Context) {
	limit := 50
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			problem.Write(c, problem.Invalid("limit must be an integer from 1 to 100"))
			return
		}
		limit = n
	}
	items, more, err := h.Store.AuditLog(c.Request.Context(), c.Query("target"), limit, c.Query("starting_after"))
	if err != nil {
		h.internal(c, "audit log", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"data": items, "has_more": more})
}

// internal logs err once, with the request's id, and answers a 500 that names
// nothing of it.
func (h *Handler) internal(c *gin.Context, msg string, err error) {
	h.Log.WithFields(logrus.Fields{
		"request_id": c.GetString(middleware.KeyRequestID),
		"operator":   c.GetString(middleware.KeyOperator),
	}).WithError(err).Error(msg)
	problem.Write(c, problem.Internal())
}
