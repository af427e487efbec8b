package ops

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// FlowLister lists open flows from Temporal visibility (package starter).
type FlowLister interface {
	ListOpenFlows(ctx context.Context, f starter.FlowFilter) ([]starter.OpenFlow, []byte, error)
}

var knownFlows = map[string]bool{
	string(models.FlowPayment): true, string(models.FlowTopup): true, string(models.FlowWithdrawal): true,
	string(models.FlowRefund): true, string(models.FlowReconciliation): true, string(models.FlowWebhook): true,
	string(models.FlowVerification): true, string(models.FlowCardBinding): true, string(models.FlowCreditReport): true,
	string(models.FlowSubscription): true, string(models.FlowRedemption): true,
}

var knownStages = map[string]bool{
	string(models.StageValidating): true, string(models.StageCharging): true, string(models.StageWaitingBank): true,
	string(models.StagePosting): true, string(models.StagePendingApproval): true, string(models.StagePayingOut): true,
	string(models.StageNotifying): true, string(models.StageCompensating): true, string(models.StageDone): true,
	string(models.StageNeedsAttention): true, string(models.StageWaitingCustomer): true, "active": true, "waiting_fund": true,
}

// listFlows answers GET /v1/ops/flows?flow=&stage=&merchant=&older_than=10m&limit=&page_token=
// from visibility: the open flows an operator is looking for, such as payments
// waiting on the bank for more than ten minutes.
func (h *Handler) listFlows(c *gin.Context) {
	f := starter.FlowFilter{
		Flow:       models.Flow(c.Query("flow")),
		Stage:      models.Stage(c.Query("stage")),
		MerchantID: c.Query("merchant"),
	}
	if f.Flow != "" && !knownFlows[string(f.Flow)] {
		problem.Write(c, problem.Invalid("flow must be payment, topup, withdrawal, refund, reconciliation, webhook, verification, card_binding, credit_report, subscription or redemption"))
		return
	}
	if f.Stage != "" && !knownStages[string(f.Stage)] {
		problem.Write(c, problem.Invalid("stage must be one of the flow stages (waiting_bank, pending_approval, ...)"))
		return
	}
	if f.MerchantID != "" && !models.ValidID(models.PrefixMerchant, f.MerchantID) {
		problem.Write(c, problem.Invalid("merchant must be a merchant id"))
		return
	}
	if v := c.Query("older_than"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			problem.Write(c, problem.Invalid("older_than must be a duration like 10m or 2h"))
			return
		}
		f.OlderThan = d
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			problem.Write(c, problem.Invalid("limit must be an integer from 1 to 100"))
			return
		}
		f.Limit = n
	}
	if v := c.Query("page_token"); v != "" {
		tok, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil {
			problem.Write(c, problem.Invalid("page_token is not one this API gave"))
			return
		}
		f.PageToken = tok
	}
	flows, next, err := h.FlowLister.ListOpenFlows(c.Request.Context(), f)
	if err != nil {
		h.internal(c, "list open flows", err)
		return
	}
	if flows == nil {
		flows = []starter.OpenFlow{}
	}
	out := gin.H{"data": flows, "has_more": len(next) > 0, "query": starter.VisibilityQuery(f, time.Now())}
	if len(next) > 0 {
		out["next_page_token"] = base64.RawURLEncoding.EncodeToString(next)
	}
	c.JSON(http.StatusOK, out)
}

// FlowActs acts on a running flow (package starter).
type FlowActs interface {
	RetryFlow(ctx context.Context, workflowID string, d models.Decision) (models.FlowState, error)
	CancelFlow(ctx context.Context, workflowID string, d models.Decision) (models.FlowState, error)
}

// References finds the flow of an object id (package store).
type References interface {
	WorkflowIDForReference(ctx context.Context, reference string) (string, error)
}

// actOnFlow serves POST /v1/ops/flows/{id}/retry and /cancel {reason}, by the
// object's id (pay_..., wd_...). The act is an Update the flow handles itself; it is
// audited, accepted or refused.
func (h *Handler) actOnFlow(c *gin.Context, action string) {
	id := c.Param("id")
	reason, ok := readReason(c)
	if !ok {
		return
	}
	if action == "cancel" && reason == "" {
		problem.Write(c, problem.Invalid("a cancel needs a reason: {\"reason\": \"...\"}"))
		return
	}
	wfID, err := h.References.WorkflowIDForReference(c.Request.Context(), id)
	if errors.Is(err, starter.ErrNotFound) {
		problem.Write(c, problem.NotFound("no flow for this id"))
		return
	}
	if err != nil {
		h.internal(c, "find flow", err)
		return
	}
	d := models.Decision{Operator: c.GetString(middleware.KeyOperator), Reason: reason}
	var st models.FlowState
	if action == "retry" {
		st, err = h.FlowActs.RetryFlow(c.Request.Context(), wfID, d)
	} else {
		st, err = h.FlowActs.CancelFlow(c.Request.Context(), wfID, d)
	}
	switch {
	case errors.Is(err, starter.ErrUpdateRejected):
		h.audit(c, "flow."+action, id, reason, "refused", err.Error())
		problem.Write(c, problem.New(http.StatusConflict, problem.CodeConflict, err.Error()))
	case errors.Is(err, starter.ErrFlowNotFound):
		h.audit(c, "flow."+action, id, reason, "refused", "the flow has finished")
		problem.Write(c, problem.New(http.StatusConflict, problem.CodeConflict, "the flow has finished; nothing to "+action))
	case err != nil:
		h.audit(c, "flow."+action, id, reason, "error", "")
		h.internal(c, "act on flow", err)
	default:
		h.audit(c, "flow."+action, id, reason, "accepted", "")
		c.JSON(http.StatusOK, gin.H{"id": id, "workflow_id": wfID, "accepted": true, "state": st})
	}
}
