package merchant

import (
	"context"
	"encoding/json"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

type createTopupRequest struct {
	AccountID *string         `json:"account_id"`
	Amount    json.RawMessage `json:"amount"`
	Currency  *string         `json:"currency"`
	Source    *sourceRequest  `json:"source"`
	Channel   *string         `json:"channel"`
	NotifyURL *string         `json:"notify_url"`
}

func (h *Handler) createTopup(c *gin.Context) {
	merchantID := middleware.MerchantID(c)
	key, p := idempotencyKey(c)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	var req createTopupRequest
	if err := decodeStrict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	amount, cur, p := parseAmountCurrency(req.Amount, req.Currency)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	if req.AccountID == nil {
		problem.Write(c, problem.Invalid("field \"account_id\" is required"))
		return
	}
	if req.Source == nil {
		problem.Write(c, problem.Invalid("field \"source\" is required"))
		return
	}
	token, ok := req.Source.card()
	if !ok {
		problem.Write(c, problem.Unprocessable(problem.CodeInvalidSource, "a top-up's source is a card: {\"type\":\"card\",\"token\":\"tok_...\"}"))
		return
	}
	target, ok := h.walletFlow(c, merchantID, *req.AccountID, cur, req.Channel, req.NotifyURL)
	if !ok {
		return
	}
	now := h.Now().UTC()
	t := models.Topup{
		ID: models.NewID(models.PrefixTopup), Object: "topup", MerchantID: merchantID, AccountID: target.account.ID,
		Amount: amount, Currency: cur, Source: models.PaymentSource{Type: models.SourceCard, Token: token},
		Channel: target.channel, Status: models.TopupProcessing, NotifyURL: target.notify, CreatedAt: now, UpdatedAt: now,
	}
	t.WorkflowID = workflows.TopupWorkflowID(merchantID, t.ID)
	createAndStart(h, c, key, flowObject[models.Topup]{
		kind: "top-up", id: t.ID, obj: t, load: h.Store.Topup,
		insert: func(tx *gorm.DB) error { return store.InsertTopup(tx, t) },
		start: func(ctx context.Context, t models.Topup) error {
			return h.Starter.StartTopup(ctx, t.FlowInput())
		},
	})
}

func (h *Handler) getTopup(c *gin.Context) {
	getObject(h, c, models.PrefixTopup, "top-up", h.Store.Topup)
}
