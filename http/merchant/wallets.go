package merchant

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/decode"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/http/resource"
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
	// Withdrawable is what a withdrawal may take now: available less what top-ups
	// credited within the merchant's withdrawal delay.
	Withdrawable int64     `json:"withdrawable"`
	Reference    string    `json:"reference,omitempty"`
	CreatedAt    time.Time `json:"created"`
}

func accountView(a starter.Account) accountJSON {
	return accountJSON{
		ID: a.ID, Object: "account", Currency: a.Currency, Balance: a.Balance, Available: a.Available(),
		Held: a.Held, Withdrawable: a.Withdrawable(), Reference: a.Reference, CreatedAt: a.CreatedAt.UTC(),
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

// newAccount checks a create-account request, in the order its problems are
// answered, into the service's request.
func newAccount(req createAccountRequest, idem starter.Idempotent) (in starter.NewAccount, p *problem.Problem) {
	in.Idempotent = idem
	if in.Currency, p = parseCurrency(req.Currency); p != nil {
		return in, p
	}
	if req.Reference != nil {
		if len(*req.Reference) > 255 {
			return in, new(problem.Invalid("reference must be at most 255 bytes"))
		}
		in.Reference = *req.Reference
	}
	return in, nil
}

func (h *Handler) createAccount(c *gin.Context) {
	_, out, ok := create(h, c, "create account", newAccount, h.Wallets.CreateAccount)
	if !ok {
		return
	}
	if out.Replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	writeJSON(c, http.StatusCreated, accountView(out.Object))
}

func (h *Handler) getAccount(c *gin.Context) {
	if a, ok := loadObject(h, c, models.PrefixAccount, "account", h.Wallets.Account); ok {
		writeJSON(c, http.StatusOK, accountView(a))
	}
}

func (h *Handler) listEntries(c *gin.Context) {
	a, ok := loadObject(h, c, models.PrefixAccount, "account", h.Wallets.Account)
	if !ok {
		return
	}
	q, p := listQuery(c, models.PrefixEntry)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	lines, more, err := h.Wallets.Statement(c.Request.Context(), a.ID, q.Limit, q.StartingAfter)
	switch {
	case errors.Is(err, starter.ErrUnknownCursor):
		problem.Write(c, problem.Invalid("starting_after must be an entry of this account"))
		return
	case err != nil:
		h.internal(c, "account statement", err)
		return
	}
	out := make([]entryJSON, len(lines))
	for i, l := range lines {
		out[i] = entryJSON{ID: l.EntryID, JournalID: l.JournalID, Amount: l.Amount, Currency: l.Currency,
			BalanceAfter: l.BalanceAfter, Flow: l.Flow, FlowID: l.FlowID, CreatedAt: l.CreatedAt}
	}
	writeJSON(c, http.StatusOK, resource.List[entryJSON]{Data: out, HasMore: more})
}

type createTopupRequest struct {
	AccountID *string         `json:"account_id"`
	Amount    json.RawMessage `json:"amount"`
	Currency  *string         `json:"currency"`
	Source    *sourceRequest  `json:"source"`
	Channel   *string         `json:"channel"`
	NotifyURL *string         `json:"notify_url"`
}

// newTopup checks a create-top-up request, in the order its problems are answered,
// into the service's request.
func (h *Handler) newTopup(req createTopupRequest, idem starter.Idempotent) (in starter.NewTopup, p *problem.Problem) {
	in.Idempotent = idem
	if in.Amount, in.Currency, p = parseAmountCurrency(req.Amount, req.Currency); p != nil {
		return in, p
	}
	if req.AccountID == nil {
		return in, new(problem.Invalid("field \"account_id\" is required"))
	}
	if req.Source == nil {
		return in, new(problem.Invalid("field \"source\" is required"))
	}
	in.AccountID = *req.AccountID
	if cardID, ok := req.Source.boundCard(); ok {
		if req.Channel != nil {
			return in, new(problem.Unprocessable(problem.CodeInvalidSource, "a bound card's top-up goes through the card's bank: give no channel"))
		}
		in.CardID = cardID
	} else {
		token, ok := req.Source.card()
		if !ok {
			return in, new(problem.Unprocessable(problem.CodeInvalidSource, "a top-up's source is a card, {\"type\":\"card\",\"token\":\"tok_...\"}, or a card bound to the wallet, {\"type\":\"bound_card\",\"card_id\":\"card_...\"}"))
		}
		in.Token = token
		if in.Channel, p = h.channel(req.Channel); p != nil {
			return in, p
		}
	}
	in.NotifyURL, p = notifyURL(req.NotifyURL)
	return in, p
}

func (h *Handler) createTopup(c *gin.Context) {
	if idem, out, ok := create(h, c, "create top-up", h.newTopup, h.Wallets.CreateTopup); ok {
		writeCreated(c, idem, out)
	}
}

type createWithdrawalRequest struct {
	AccountID   *string         `json:"account_id"`
	Amount      json.RawMessage `json:"amount"`
	Currency    *string         `json:"currency"`
	Destination *struct {
		BankAccount string `json:"bank_account"`
		BoundCard   string `json:"bound_card"`
	} `json:"destination"`
	Channel   *string `json:"channel"`
	NotifyURL *string `json:"notify_url"`
}

// validBankAccount accepts 4-64 characters of [A-Za-z0-9_-] (an account token such as
// ba_success, or an account number).
func validBankAccount(s string) bool {
	return len(s) >= 4 && len(s) <= 64 && wordChars(s, "-")
}

// newWithdrawal checks a create-withdrawal request, in the order its problems are
// answered, into the service's request.
func (h *Handler) newWithdrawal(req createWithdrawalRequest, idem starter.Idempotent) (in starter.NewWithdrawal, p *problem.Problem) {
	in.Idempotent = idem
	if in.Amount, in.Currency, p = parseAmountCurrency(req.Amount, req.Currency); p != nil {
		return in, p
	}
	if req.AccountID == nil || req.Destination == nil {
		return in, new(problem.Invalid("fields \"account_id\" and \"destination\" are required"))
	}
	in.AccountID = *req.AccountID
	if d := req.Destination; d.BoundCard != "" {
		if d.BankAccount != "" || !models.ValidID(models.PrefixBoundCard, d.BoundCard) || req.Channel != nil {
			return in, new(problem.Unprocessable(problem.CodeInvalidDestination, "destination.bound_card must be the id of a card bound to the wallet, alone, with no channel"))
		}
		in.BoundCard = d.BoundCard
	} else {
		if !validBankAccount(d.BankAccount) || strings.HasPrefix(d.BankAccount, models.PrefixBoundCard) {
			return in, new(problem.Unprocessable(problem.CodeInvalidDestination, "destination.bank_account must be 4-64 characters of letters, digits, _ and - (or give destination.bound_card)"))
		}
		in.BankAccount = d.BankAccount
		if in.Channel, p = h.channel(req.Channel); p != nil {
			return in, p
		}
	}
	in.NotifyURL, p = notifyURL(req.NotifyURL)
	return in, p
}

func (h *Handler) createWithdrawal(c *gin.Context) {
	idem, out, ok := create(h, c, "create withdrawal", h.newWithdrawal, h.Wallets.CreateWithdrawal)
	if !ok {
		return
	}
	// A withdrawal is answered once its flow has started: a review may hold it for
	// days, so it takes no Prefer: wait.
	idem.Wait = 0
	writeCreated(c, idem, out)
}

// createPaymentCode answers POST /v1/accounts/{id}/payment_codes: a new payment code
// of one of the merchant's wallets (201; shown this once), live for 60 s and good
// for one payment; it voids the wallet's earlier code. The body is empty or {}.
func (h *Handler) createPaymentCode(c *gin.Context) {
	if body := bytes.TrimSpace(middleware.Body(c)); len(body) > 0 {
		var none struct{}
		if err := decode.Strict(body, &none); err != nil {
			problem.Write(c, problem.Invalid(err.Error()))
			return
		}
	}
	id, ok := resource.PathID(c, "id", models.PrefixAccount, "account")
	if !ok {
		return
	}
	code, err := h.Wallets.CreatePaymentCode(c.Request.Context(), middleware.MerchantID(c), id)
	switch {
	case isNotFound(err):
		problem.Write(c, problem.NotFound("no such account"))
	case errors.Is(err, starter.ErrMerchantDisabled):
		h.fail(c, "create payment code", err)
	case err != nil:
		h.internal(c, "create payment code", err)
	default:
		// The code is a bearer credential for its minute: no cache may keep it.
		c.Header("Cache-Control", "no-store")
		writeJSON(c, http.StatusCreated, code)
	}
}
