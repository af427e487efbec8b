package merchant

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
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
	merchantID := middleware.MerchantID(c)
	key, p := idempotencyKey(c)
	if p != nil {
		problem.Write(c, *p)
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
	target, ok := h.walletFlow(c, merchantID, *req.AccountID, cur, req.Channel, req.NotifyURL)
	if !ok {
		return
	}
	now := h.Now().UTC()
	w := models.Withdrawal{
		ID: models.NewID(models.PrefixWithdrawal), Object: "withdrawal", MerchantID: merchantID, AccountID: target.account.ID,
		Amount: amount, Currency: cur, Destination: models.Destination{BankAccount: req.Destination.BankAccount},
		Channel: target.channel, Status: models.WithdrawalProcessing, NotifyURL: target.notify, CreatedAt: now, UpdatedAt: now,
	}
	w.WorkflowID = workflows.WithdrawalWorkflowID(merchantID, w.ID)
	createAndStart(h, c, key, flowObject[models.Withdrawal]{
		kind: "withdrawal", id: w.ID, obj: w, load: h.Store.Withdrawal,
		insert: func(tx *gorm.DB) error { return store.InsertWithdrawal(tx, w) },
		start: func(ctx context.Context, w models.Withdrawal) error {
			return h.Starter.StartWithdrawal(ctx, w.FlowInput(target.merchant.ReviewThreshold))
		},
	})
}

func (h *Handler) getWithdrawal(c *gin.Context) {
	getObject(h, c, models.PrefixWithdrawal, "withdrawal", h.Store.Withdrawal)
}

// walletFlow checks what a flow moving money in or out of a customer wallet (top-up,
// withdrawal) needs besides its amount: the channel, the notify URL (the merchant's
// when the request names none), the wallet (the merchant's own, in the currency) and
// an active merchant. It writes the problem and answers false when one is wrong.
func (h *Handler) walletFlow(c *gin.Context, merchantID, accountID string, cur models.Currency, reqChannel, reqNotify *string) (walletFlowTarget, bool) {
	var t walletFlowTarget
	var p *problem.Problem
	if t.channel, p = h.channel(reqChannel); p != nil {
		problem.Write(c, *p)
		return t, false
	}
	if t.notify, p = notifyURL(reqNotify); p != nil {
		problem.Write(c, *p)
		return t, false
	}
	var ok bool
	if t.account, ok = h.walletFor(c, merchantID, accountID, cur); !ok {
		return t, false
	}
	if t.merchant, ok = h.activeMerchant(c, merchantID); !ok {
		return t, false
	}
	if t.notify == "" {
		t.notify = t.merchant.NotifyURL
	}
	return t, true
}

// walletFlowTarget is what walletFlow checked.
type walletFlowTarget struct {
	account  ledger.Account
	merchant models.Merchant
	channel  string
	notify   string
}

// walletFor checks that id is one of the merchant's wallets in currency cur,
// answering 422 otherwise.
func (h *Handler) walletFor(c *gin.Context, merchantID, id string, cur models.Currency) (ledger.Account, bool) {
	acct, err := h.Ledger.Account(c.Request.Context(), merchantID, id)
	if err != nil && !isNotFound(err) {
		h.internal(c, "look up account", err)
		return ledger.Account{}, false
	}
	if err != nil || acct.Kind != ledger.KindCustomerWallet {
		problem.Write(c, problem.Unprocessable(problem.CodeInvalidAccount, "account_id must be one of your wallets"))
		return ledger.Account{}, false
	}
	if acct.Currency != cur {
		problem.Write(c, problem.Unprocessable(problem.CodeUnsupportedCurrency, fmt.Sprintf("the wallet holds %s; the amount must be in the same currency", acct.Currency)))
		return ledger.Account{}, false
	}
	return acct, true
}
