package merchant

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/payflow/payflow/http/decode"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/http/resource"
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
	Code      *string `json:"code"`
	ExpiresIn *int64  `json:"expires_in"`
	CardID    *string `json:"card_id"`
}

// boundCard returns the card id of a bound card source that names nothing else.
func (s *sourceRequest) boundCard() (string, bool) {
	if s.Type != string(models.SourceBoundCard) || s.CardID == nil || !models.ValidID(models.PrefixBoundCard, *s.CardID) ||
		s.Token != nil || s.AccountID != nil || s.Code != nil || s.ExpiresIn != nil {
		return "", false
	}
	return *s.CardID, true
}

// card returns the token of a card source that names nothing else.
func (s *sourceRequest) card() (string, bool) {
	if s.Type != string(models.SourceCard) || s.Token == nil || !validToken(*s.Token) || s.AccountID != nil || s.Code != nil || s.ExpiresIn != nil || s.CardID != nil {
		return "", false
	}
	return *s.Token, true
}

// account returns the account id of a wallet source that names nothing else.
func (s *sourceRequest) account() (string, bool) {
	if s.Type != string(models.SourceAccount) || s.AccountID == nil || !models.ValidID(models.PrefixAccount, *s.AccountID) || s.Token != nil || s.Code != nil || s.ExpiresIn != nil || s.CardID != nil {
		return "", false
	}
	return *s.AccountID, true
}

// paymentCode checks a payment code source that names nothing else, and answers
// the code and its issuer; its problem when the code is malformed or of no issuer.
func (s *sourceRequest) paymentCode() (string, models.PaymentCodeIssuer, *problem.Problem) {
	if s.Code == nil || s.Token != nil || s.AccountID != nil || s.ExpiresIn != nil {
		return "", "", new(problem.Unprocessable(problem.CodeInvalidSource, "a payment_code source needs the code the customer's app shows (18 digits) and nothing else"))
	}
	issuer, err := models.ParsePaymentCode(*s.Code)
	switch {
	case err != nil:
		return "", "", new(problem.Unprocessable(problem.CodeInvalidSource, "a payment code is 18 digits"))
	case issuer == models.IssuerNone:
		return "", "", new(problem.Unprocessable(problem.CodeInvalidSource,
			"no wallet issues payment codes with this prefix (99: payflow wallets, 25-30: alipaysim, 10-15: wxpaysim)"))
	}
	return *s.Code, issuer, nil
}

// parseAmountCurrency checks the amount and currency fields every money request has.
func parseAmountCurrency(raw json.RawMessage, cur *string) (int64, models.Currency, *problem.Problem) {
	if raw == nil {
		return 0, "", new(problem.Invalid("field \"amount\" is required"))
	}
	amount, err := models.ParseAmountJSON(raw)
	if errors.Is(err, models.ErrMalformedAmount) {
		return 0, "", new(problem.Invalid("field \"amount\" must be an integer number of minor units (1050 is 10.50 CNY)"))
	}
	if err != nil {
		return 0, "", new(problem.Unprocessable(problem.CodeInvalidAmount, fmt.Sprintf("amount must be from 1 to %d minor units", models.MaxAmount)))
	}
	c, p := parseCurrency(cur)
	return amount, c, p
}

// parseCurrency checks a required currency field.
func parseCurrency(cur *string) (models.Currency, *problem.Problem) {
	if cur == nil {
		return "", new(problem.Invalid("field \"currency\" is required"))
	}
	c, err := models.ParseCurrency(*cur)
	if err != nil {
		return "", new(problem.Unprocessable(problem.CodeUnsupportedCurrency, "currency must be an ISO 4217 code in uppercase, like CNY"))
	}
	return c, nil
}

// validToken accepts tok_ followed by 1-60 of [A-Za-z0-9_].
func validToken(t string) bool {
	return len(t) >= 5 && len(t) <= 64 && strings.HasPrefix(t, "tok_") && wordChars(t[4:], "")
}

// wordChars reports whether s is only ASCII letters, digits, _ and the bytes of extra.
func wordChars(s, extra string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || strings.IndexByte(extra, c) >= 0) {
			return false
		}
	}
	return true
}

// newPayment checks a create-payment request, in the order its problems are
// answered, into the service's request.
func (h *Handler) newPayment(req createPaymentRequest, idem starter.Idempotent) (in starter.NewPayment, p *problem.Problem) {
	in.Idempotent = idem
	if in.Amount, in.Currency, p = parseAmountCurrency(req.Amount, req.Currency); p != nil {
		return in, p
	}
	if req.Source == nil {
		return in, new(problem.Invalid("field \"source\" is required"))
	}
	switch models.SourceType(req.Source.Type) {
	case models.SourceCard:
		token, ok := req.Source.card()
		if !ok {
			return in, new(problem.Unprocessable(problem.CodeInvalidSource, "a card source needs a token like tok_success and nothing else"))
		}
		in.Source = models.PaymentSource{Type: models.SourceCard, Token: token}
		if in.Channel, p = h.channel(req.Channel); p != nil {
			return in, p
		}
	case models.SourceAccount:
		// Whether it is one of the merchant's wallets, in the currency, is the
		// service's to check.
		accountID, ok := req.Source.account()
		if !ok || req.Channel != nil {
			return in, new(problem.Unprocessable(problem.CodeInvalidSource, "an account source needs the account_id of one of your wallets, and no channel"))
		}
		in.Source = models.PaymentSource{Type: models.SourceAccount, AccountID: accountID}
	case models.SourcePaymentCode:
		// Whose code it is (a wallet of this merchant's, live and unused) is the
		// service's to check.
		code, issuer, p := req.Source.paymentCode()
		if p != nil {
			return in, p
		}
		if req.Channel != nil {
			return in, new(problem.Unprocessable(problem.CodeInvalidSource, "a payment code names who pays: give no channel"))
		}
		in.Source = models.PaymentSource{Type: models.SourcePaymentCode, Code: code}
		if issuer != models.IssuerWallet {
			// A wallet provider's code goes to that provider's channel.
			if !slices.Contains(h.Channels, string(issuer)) {
				return in, new(problem.Unprocessable(problem.CodeInvalidSource, "payment codes of "+string(issuer)+" are not accepted: its channel is not enabled here"))
			}
			in.Channel = string(issuer)
		}
	case models.SourceBoundCard:
		// Whether the card is active, and the merchant's, is the service's to check.
		cardID, ok := req.Source.boundCard()
		if !ok || req.Channel != nil {
			return in, new(problem.Unprocessable(problem.CodeInvalidSource, "a bound_card source needs the card_id of a card bound to one of your wallets, and no channel"))
		}
		in.Source = models.PaymentSource{Type: models.SourceBoundCard, CardID: cardID}
	case models.SourceQR:
		s := req.Source
		if s.Token != nil || s.AccountID != nil || s.Code != nil || s.CardID != nil {
			return in, new(problem.Unprocessable(problem.CodeInvalidSource, "a qr source takes only expires_in (seconds)"))
		}
		if s.ExpiresIn != nil {
			d := time.Duration(*s.ExpiresIn) * time.Second
			if *s.ExpiresIn < 0 || d < models.MinQRExpiresIn || d > models.MaxQRExpiresIn {
				return in, new(problem.Unprocessable(problem.CodeInvalidSource, "expires_in must be from 60 to 900 seconds"))
			}
			in.QRExpiresIn = d
		}
		if req.Channel != nil {
			return in, new(problem.Unprocessable(problem.CodeInvalidSource, "a QR payment's channel is the wallet app that opens it: give no channel"))
		}
		in.Source = models.PaymentSource{Type: models.SourceQR}
	default:
		return in, new(problem.Unprocessable(problem.CodeInvalidSource, "source.type must be card, account, payment_code, qr or bound_card"))
	}
	if req.Description != nil {
		if len(*req.Description) > 1000 {
			return in, new(problem.Invalid("description must be at most 1000 bytes"))
		}
		in.Description = *req.Description
	}
	if in.NotifyURL, p = notifyURL(req.NotifyURL); p != nil {
		return in, p
	}
	if len(req.Metadata) > 20 {
		return in, new(problem.Invalid("metadata holds at most 20 keys"))
	}
	for k, val := range req.Metadata {
		if len(k) == 0 || len(k) > 40 || len(val) > 500 {
			return in, new(problem.Invalid("metadata keys are 1-40 bytes and values at most 500 bytes"))
		}
	}
	in.Metadata = req.Metadata
	return in, nil
}

func (h *Handler) createPayment(c *gin.Context) {
	if idem, out, ok := create(h, c, "create payment", h.newPayment, h.Payments.Create); ok {
		writeCreated(c, idem, out)
	}
}

// confirmPayment answers POST /v1/payments/{id}/confirm: the wallet owner's
// confirmation of a wallet code payment over the merchant's no_password_limit,
// sent by the merchant's backend. 200 with the payment once its flow accepted it;
// 409 when the payment does not wait for a confirmation (any more).
func (h *Handler) confirmPayment(c *gin.Context) {
	var req struct {
		AccountID *string `json:"account_id"`
	}
	if err := decode.Strict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	if req.AccountID == nil || !models.ValidID(models.PrefixAccount, *req.AccountID) {
		problem.Write(c, problem.Invalid("field \"account_id\" is required: the wallet whose owner confirms"))
		return
	}
	id, ok := resource.PathID(c, "id", models.PrefixPayment, "payment")
	if !ok {
		return
	}
	p, err := h.Payments.Confirm(c.Request.Context(), middleware.MerchantID(c), id, models.ConfirmPayment{AccountID: *req.AccountID})
	switch {
	case isNotFound(err):
		problem.Write(c, problem.NotFound("no such payment"))
	case errors.Is(err, starter.ErrNotAwaitingConfirmation):
		problem.Write(c, problem.New(http.StatusConflict, problem.CodeConflict,
			"the payment is not waiting for a confirmation: it needed none, or it already succeeded or failed"))
	case errors.Is(err, starter.ErrNotTheWalletOwner):
		problem.Write(c, problem.Unprocessable(problem.CodeInvalidAccount, "account_id must be the wallet the payment code belongs to"))
	case err != nil:
		h.internal(c, "confirm payment", err)
	default:
		writeJSON(c, http.StatusOK, p)
	}
}

func (h *Handler) listPayments(c *gin.Context) {
	list(h, c, models.PrefixPayment, "payments", h.Payments.List, func(q *starter.ListQuery) *problem.Problem {
		q.Status = c.Query("status")
		if q.Status != "" && !models.PaymentStatus(q.Status).Valid() {
			return new(problem.Invalid("status must be processing, succeeded, failed, partially_refunded or refunded"))
		}
		return nil
	})
}

// qrPNG answers GET /v1/payments/{id}/qr.png: the QR code of a QR payment's page
// (qr_url) while it is offered, for the merchant to show; 404 for any other payment.
func (h *Handler) qrPNG(c *gin.Context) {
	p, ok := loadObject(h, c, models.PrefixPayment, "payment", h.Payments.Get)
	if !ok {
		return
	}
	if p.NextAction == nil || p.NextAction.Type != models.NextActionDisplayQR {
		problem.Write(c, problem.NotFound("this payment shows no QR code (not a QR payment, or no longer waiting for its customer)"))
		return
	}
	png, err := qrcode.Encode(p.NextAction.QRURL, qrcode.Medium, 320)
	if err != nil {
		h.internal(c, "encode QR code", err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "image/png", png)
}
