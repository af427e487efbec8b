package merchant

import (
	"encoding/json"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
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
	idem, ok := idempotent(c)
	if !ok {
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
	channel, p := h.channel(req.Channel)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	notify, p := notifyURL(req.NotifyURL)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	out, err := h.Wallets.CreateTopup(c.Request.Context(), starter.NewTopup{
		Idempotent: idem, AccountID: *req.AccountID, Amount: amount, Currency: cur, Token: token, Channel: channel, NotifyURL: notify,
	})
	if err != nil {
		h.fail(c, "create top-up", err)
		return
	}
	writeCreated(c, idem, out)
}

func (h *Handler) getTopup(c *gin.Context) {
	getObject(h, c, models.PrefixTopup, "top-up", h.Wallets.Topup)
}
