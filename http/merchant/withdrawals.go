package merchant

import (
	"encoding/json"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

type createWithdrawalRequest struct {
	AccountID   *string         `json:"account_id"`
	Amount      json.RawMessage `json:"amount"`
	Currency    *string         `json:"currency"`
	Destination *struct {
		BankAccount string `json:"bank_account"`
	} `json:"destination"`
	Channel   *string `json:"channel"`
	NotifyURL *string `json:"notify_url"`
}

// validBankAccount accepts 4-64 characters of [A-Za-z0-9_-] (an account token such as
// ba_success, or an account number).
func validBankAccount(s string) bool {
	if len(s) < 4 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (h *Handler) createWithdrawal(c *gin.Context) {
	idem, ok := idempotent(c)
	if !ok {
		return
	}
	var req createWithdrawalRequest
	if err := decodeStrict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	amount, cur, p := parseAmountCurrency(req.Amount, req.Currency)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	if req.AccountID == nil || req.Destination == nil {
		problem.Write(c, problem.Invalid("fields \"account_id\" and \"destination\" are required"))
		return
	}
	if !validBankAccount(req.Destination.BankAccount) {
		problem.Write(c, problem.Unprocessable(problem.CodeInvalidDestination, "destination.bank_account must be 4-64 characters of letters, digits, _ and -"))
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
	out, err := h.Wallets.CreateWithdrawal(c.Request.Context(), starter.NewWithdrawal{
		Idempotent: idem, AccountID: *req.AccountID, Amount: amount, Currency: cur,
		BankAccount: req.Destination.BankAccount, Channel: channel, NotifyURL: notify,
	})
	if err != nil {
		h.fail(c, "create withdrawal", err)
		return
	}
	// A withdrawal is answered once its flow has started: a review may hold it for
	// days, so it takes no Prefer: wait.
	idem.Wait = 0
	writeCreated(c, idem, out)
}

func (h *Handler) getWithdrawal(c *gin.Context) {
	getObject(h, c, models.PrefixWithdrawal, "withdrawal", h.Wallets.Withdrawal)
}
