package merchant

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

type createAccountRequest struct {
	Currency  *string `json:"currency"`
	Reference *string `json:"reference"`
}

// accountJSON is a wallet as the API shows it.
type accountJSON struct {
	ID        string          `json:"id"`
	Object    string          `json:"object"`
	Currency  models.Currency `json:"currency"`
	Balance   int64           `json:"balance"`
	Available int64           `json:"available"`
	Held      int64           `json:"held"`
	Reference string          `json:"reference,omitempty"`
	CreatedAt time.Time       `json:"created"`
}

func accountView(a starter.Account) accountJSON {
	return accountJSON{
		ID: a.ID, Object: "account", Currency: a.Currency, Balance: a.Balance, Available: a.Available(),
		Held: a.Held, Reference: a.Reference, CreatedAt: a.CreatedAt.UTC(),
	}
}

// entryJSON is one line of a wallet's statement.
type entryJSON struct {
	ID           string          `json:"id"`
	JournalID    string          `json:"journal_id"`
	Amount       int64           `json:"amount"`
	Currency     models.Currency `json:"currency"`
	BalanceAfter int64           `json:"balance_after"`
	Flow         models.Flow     `json:"flow"`
	FlowID       string          `json:"flow_id"`
	CreatedAt    time.Time       `json:"created"`
}

func (h *Handler) createAccount(c *gin.Context) {
	idem, ok := idempotent(c)
	if !ok {
		return
	}
	var req createAccountRequest
	if err := decodeStrict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	if req.Currency == nil {
		problem.Write(c, problem.Invalid("field \"currency\" is required"))
		return
	}
	cur, err := models.ParseCurrency(*req.Currency)
	if err != nil {
		problem.Write(c, problem.Unprocessable(problem.CodeUnsupportedCurrency, "currency must be an ISO 4217 code in uppercase, like CNY"))
		return
	}
	ref := ""
	if req.Reference != nil {
		if len(*req.Reference) > 255 {
			problem.Write(c, problem.Invalid("reference must be at most 255 bytes"))
			return
		}
		ref = *req.Reference
	}
	out, err := h.Wallets.CreateAccount(c.Request.Context(), starter.NewAccount{Idempotent: idem, Currency: cur, Reference: ref})
	if err != nil {
		h.fail(c, "create account", err)
		return
	}
	if out.Replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	writeJSON(c, http.StatusCreated, accountView(out.Object))
}

// wallet loads one of the merchant's wallets or answers 404.
func (h *Handler) wallet(c *gin.Context) (starter.Account, bool) {
	id := c.Param("id")
	if !models.ValidID(models.PrefixAccount, id) {
		problem.Write(c, problem.NotFound("no such account"))
		return starter.Account{}, false
	}
	a, err := h.Wallets.Account(c.Request.Context(), middleware.MerchantID(c), id)
	switch {
	case isNotFound(err):
		problem.Write(c, problem.NotFound("no such account"))
		return starter.Account{}, false
	case err != nil:
		h.internal(c, "get account", err)
		return starter.Account{}, false
	}
	return a, true
}

func (h *Handler) getAccount(c *gin.Context) {
	if a, ok := h.wallet(c); ok {
		writeJSON(c, http.StatusOK, accountView(a))
	}
}

func (h *Handler) listEntries(c *gin.Context) {
	a, ok := h.wallet(c)
	if !ok {
		return
	}
	limit, after, p := listParams(c, models.PrefixEntry)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	lines, more, err := h.Wallets.Statement(c.Request.Context(), a.ID, limit, after)
	if err != nil {
		h.internal(c, "account statement", err)
		return
	}
	out := make([]entryJSON, len(lines))
	for i, l := range lines {
		out[i] = entryJSON{ID: l.EntryID, JournalID: l.JournalID, Amount: l.Amount, Currency: l.Currency,
			BalanceAfter: l.BalanceAfter, Flow: l.Flow, FlowID: l.FlowID, CreatedAt: l.CreatedAt}
	}
	writeJSON(c, http.StatusOK, listResponse[entryJSON]{Data: out, HasMore: more})
}
