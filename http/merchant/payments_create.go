package merchant

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// createPaymentRequest is the body of POST /v1/payments, decoded strictly. Amount stays
// raw so that 10.5 and "1050" are told apart from 0 and -5.
type createPaymentRequest struct {
	Amount      json.RawMessage   `json:"amount"`
	Currency    *string           `json:"currency"`
	Source      *sourceRequest    `json:"source"`
	Channel     *string           `json:"channel"`
	Description *string           `json:"description"`
	NotifyURL   *string           `json:"notify_url"`
	Metadata    map[string]string `json:"metadata"`
}

// sourceRequest is a payment's or top-up's source. Token and AccountID are pointers
// so that a field that is present but empty ("account_id": "" beside a card) is told
// apart from an absent one, and refused.
type sourceRequest struct {
	Type      string  `json:"type"`
	Token     *string `json:"token"`
	AccountID *string `json:"account_id"`
}

// card returns the token of a card source that names nothing else.
func (s *sourceRequest) card() (string, bool) {
	if s.Type != string(models.SourceCard) || s.Token == nil || !validToken(*s.Token) || s.AccountID != nil {
		return "", false
	}
	return *s.Token, true
}

// account returns the account id of a wallet source that names nothing else.
func (s *sourceRequest) account() (string, bool) {
	if s.Type != string(models.SourceAccount) || s.AccountID == nil || !models.ValidID(models.PrefixAccount, *s.AccountID) || s.Token != nil {
		return "", false
	}
	return *s.AccountID, true
}

// validPayment is a create request that passed every check.
type validPayment struct {
	amount      int64
	currency    models.Currency
	source      models.PaymentSource
	channel     string
	description string
	notifyURL   string
	metadata    map[string]string
}

// parseAmountCurrency checks the amount and currency fields every money request has.
func parseAmountCurrency(raw json.RawMessage, cur *string) (int64, models.Currency, *problem.Problem) {
	if raw == nil {
		p := problem.Invalid("field \"amount\" is required")
		return 0, "", &p
	}
	amount, err := models.ParseAmountJSON(raw)
	if errors.Is(err, models.ErrMalformedAmount) {
		p := problem.Invalid("field \"amount\" must be an integer number of minor units (1050 is 10.50 CNY)")
		return 0, "", &p
	}
	if err != nil {
		p := problem.Unprocessable(problem.CodeInvalidAmount, fmt.Sprintf("amount must be from 1 to %d minor units", models.MaxAmount))
		return 0, "", &p
	}
	if cur == nil {
		p := problem.Invalid("field \"currency\" is required")
		return 0, "", &p
	}
	c, err := models.ParseCurrency(*cur)
	if err != nil {
		p := problem.Unprocessable(problem.CodeUnsupportedCurrency, "currency must be an ISO 4217 code in uppercase, like CNY")
		return 0, "", &p
	}
	return amount, c, nil
}

// validToken accepts tok_ followed by 1-60 of [A-Za-z0-9_].
func validToken(t string) bool {
	if len(t) < 5 || len(t) > 64 || t[:4] != "tok_" {
		return false
	}
	for i := 4; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// validNotifyURL accepts an absolute http(s) URL with a host and no credentials (see
// models.ValidNotifyURL).
func validNotifyURL(s string) bool { return models.ValidNotifyURL(s) }

func (h *Handler) validatePayment(req createPaymentRequest) (validPayment, *problem.Problem) {
	var v validPayment
	var p *problem.Problem
	if v.amount, v.currency, p = parseAmountCurrency(req.Amount, req.Currency); p != nil {
		return v, p
	}
	if req.Source == nil {
		pr := problem.Invalid("field \"source\" is required")
		return v, &pr
	}
	switch models.SourceType(req.Source.Type) {
	case models.SourceCard:
		token, ok := req.Source.card()
		if !ok {
			pr := problem.Unprocessable(problem.CodeInvalidSource, "a card source needs a token like tok_success and nothing else")
			return v, &pr
		}
		v.source = models.PaymentSource{Type: models.SourceCard, Token: token}
		v.channel = h.DefaultChannel
		if req.Channel != nil {
			if !slices.Contains(h.Channels, *req.Channel) {
				pr := problem.Unprocessable(problem.CodeUnsupportedChannel, fmt.Sprintf("channel must be one of %v", h.Channels))
				return v, &pr
			}
			v.channel = *req.Channel
		}
	case models.SourceAccount:
		// Whether it is one of the merchant's wallets, in the currency, is the
		// service's to check.
		accountID, ok := req.Source.account()
		if !ok || req.Channel != nil {
			pr := problem.Unprocessable(problem.CodeInvalidSource, "an account source needs the account_id of one of your wallets, and no channel")
			return v, &pr
		}
		v.source = models.PaymentSource{Type: models.SourceAccount, AccountID: accountID}
	default:
		pr := problem.Unprocessable(problem.CodeInvalidSource, "source.type must be card or account")
		return v, &pr
	}
	if req.Description != nil {
		if len(*req.Description) > 1000 {
			pr := problem.Invalid("description must be at most 1000 bytes")
			return v, &pr
		}
		v.description = *req.Description
	}
	if req.NotifyURL != nil {
		if !validNotifyURL(*req.NotifyURL) {
			pr := problem.Unprocessable(problem.CodeInvalidNotifyURL, "notify_url must be an absolute http or https URL")
			return v, &pr
		}
		v.notifyURL = *req.NotifyURL
	}
	if len(req.Metadata) > 20 {
		pr := problem.Invalid("metadata holds at most 20 keys")
		return v, &pr
	}
	for k, val := range req.Metadata {
		if len(k) == 0 || len(k) > 40 || len(val) > 500 {
			pr := problem.Invalid("metadata keys are 1-40 bytes and values at most 500 bytes")
			return v, &pr
		}
	}
	v.metadata = req.Metadata
	return v, nil
}

func (h *Handler) createPayment(c *gin.Context) {
	idem, ok := idempotent(c)
	if !ok {
		return
	}
	var req createPaymentRequest
	if err := decodeStrict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	v, p := h.validatePayment(req)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	out, err := h.Payments.Create(c.Request.Context(), starter.NewPayment{
		Idempotent: idem, Amount: v.amount, Currency: v.currency, Source: v.source, Channel: v.channel,
		Description: v.description, NotifyURL: v.notifyURL, Metadata: v.metadata,
	})
	if err != nil {
		h.fail(c, "create payment", err)
		return
	}
	writeCreated(c, idem, out)
}
