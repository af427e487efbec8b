package merchant

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/http/decode"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/http/resource"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// Identity is the identity services (starter.Identity).
type Identity interface {
	CreateVerification(ctx context.Context, req starter.NewVerification) (starter.Created[models.Verification], error)
	Verification(ctx context.Context, merchantID, id string) (models.Verification, error)
	ListVerifications(ctx context.Context, q starter.ListQuery) ([]models.Verification, bool, error)
	CreateCard(ctx context.Context, req starter.NewCard) (starter.Created[models.BoundCard], error)
	Card(ctx context.Context, merchantID, accountID, id string) (models.BoundCard, error)
	ListCards(ctx context.Context, merchantID, accountID string, limit int, after string) ([]models.BoundCard, bool, error)
	ConfirmCard(ctx context.Context, merchantID, accountID, cardID, otp string) (models.BoundCard, error)
	RemoveCard(ctx context.Context, merchantID, accountID, cardID string) (models.BoundCard, error)
	CreateCreditReport(ctx context.Context, req starter.NewCreditReport) (starter.Created[models.CreditReport], error)
	CreditReport(ctx context.Context, merchantID, id, reader, requestID string) (models.CreditReport, error)
	ReportReads(ctx context.Context, merchantID, id string, limit int, after string) ([]models.ReportRead, bool, error)
	ListCreditReports(ctx context.Context, q starter.ListQuery) ([]models.CreditReport, bool, error)
}

// Problem codes of the identity services.
const (
	codeInvalidCardNumber = "invalid_card_number"
	codeInvalidIDNumber   = "invalid_id_number"
	codeInvalidPhone      = "invalid_phone"
	codeInvalidName       = "invalid_name"
	codeConsentInvalid    = "consent_invalid"
	codeInvalidPurpose    = "invalid_purpose"
	codeCardNotActive     = "card_not_active"
)

func (h *Handler) registerIdentity(g *gin.RouterGroup) {
	g.POST("/verifications", h.createVerification)
	g.GET("/verifications", func(c *gin.Context) {
		list(h, c, models.PrefixVerification, "verifications", h.Identity.ListVerifications, nil)
	})
	g.GET("/verifications/:id", func(c *gin.Context) {
		getObject(h, c, models.PrefixVerification, "verification", h.Identity.Verification)
	})
	g.POST("/accounts/:id/cards", h.createCard)
	g.GET("/accounts/:id/cards", h.listCards)
	g.GET("/accounts/:id/cards/:card_id", h.getCard)
	g.POST("/accounts/:id/cards/:card_id/confirm", h.confirmCard)
	g.DELETE("/accounts/:id/cards/:card_id", h.removeCard)
	g.POST("/credit_reports", h.createCreditReport)
	g.GET("/credit_reports", func(c *gin.Context) {
		list(h, c, models.PrefixCreditReport, "credit reports", h.Identity.ListCreditReports, nil)
	})
	g.GET("/credit_reports/:id", h.getCreditReport)
	g.GET("/credit_reports/:id/reads", h.listReportReads)
}

// identityRequest is a person's elements as a request sends them.
type identityRequest struct {
	Type       *string `json:"type"`
	CardNumber *string `json:"card_number"`
	Name       *string `json:"name"`
	IDNumber   *string `json:"id_number"`
	Phone      *string `json:"phone"`
}

// checkIdentity checks the elements before anything is called or billed: the card
// number's Luhn digit, the ID number's GB 11643 check digit, the phone's form. all4
// asks for all four (a binding).
func checkIdentity(r identityRequest, all4 bool) (models.Identity, *problem.Problem) {
	var id models.Identity
	if r.CardNumber == nil || !models.ValidCardNumber(*r.CardNumber) {
		return id, new(problem.Unprocessable(codeInvalidCardNumber, "card_number must be 12-19 digits with a valid Luhn check digit"))
	}
	if r.Name == nil || !validPersonName(*r.Name) {
		return id, new(problem.Unprocessable(codeInvalidName, "name must be the cardholder's name, 1-64 characters"))
	}
	id.CardNumber, id.Name = *r.CardNumber, *r.Name
	if all4 && (r.IDNumber == nil || r.Phone == nil) {
		return id, new(problem.Invalid("binding a card needs card_number, name, id_number and phone"))
	}
	if r.IDNumber != nil {
		if !models.ValidIDNumber(*r.IDNumber) {
			return id, new(problem.Unprocessable(codeInvalidIDNumber, "id_number must be 18 characters with a valid GB 11643 check digit"))
		}
		id.IDNumber = models.NormalizeIDNumber(*r.IDNumber)
	}
	if r.Phone != nil {
		if !models.ValidPhone(*r.Phone) {
			return id, new(problem.Unprocessable(codeInvalidPhone, "phone must be 11 digits starting with 1"))
		}
		id.Phone = *r.Phone
	}
	if id.Phone != "" && id.IDNumber == "" {
		return id, new(problem.Invalid("a 4-element verification needs id_number with phone"))
	}
	return id, nil
}

// validPersonName: 1-64 characters of UTF-8, none a control character.
func validPersonName(s string) bool {
	n := 0
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return false
		}
		n++
	}
	return n >= 1 && n <= 64 && len(s) <= 256
}

func newVerification(req identityRequest, idem starter.Idempotent) (starter.NewVerification, *problem.Problem) {
	if req.Type == nil || *req.Type != "bank_card" {
		return starter.NewVerification{}, new(problem.Invalid(`type must be "bank_card"`))
	}
	id, p := checkIdentity(req, false)
	return starter.NewVerification{Idempotent: idem, Identity: id}, p
}

func (h *Handler) createVerification(c *gin.Context) {
	if _, out, ok := create(h, c, "create verification", newVerification, h.Identity.CreateVerification); ok {
		writeAnswered(c, out)
	}
}

// writeAnswered answers an identity object the service waited for on its own: 200
// with its outcome when it has one, 202 while its flow goes on.
func writeAnswered[T any](c *gin.Context, out starter.Created[T]) {
	if out.Replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	status := http.StatusAccepted
	if out.Final {
		status = http.StatusOK
	}
	writeJSON(c, status, out.Object)
}

// account loads the wallet of the path, answering 404 itself.
func (h *Handler) account(c *gin.Context) (string, bool) {
	a, ok := loadObject(h, c, models.PrefixAccount, "account", h.Wallets.Account)
	return a.ID, ok
}

func (h *Handler) createCard(c *gin.Context) {
	accountID, ok := h.account(c)
	if !ok {
		return
	}
	build := func(req identityRequest, idem starter.Idempotent) (starter.NewCard, *problem.Problem) {
		if req.Type != nil {
			return starter.NewCard{}, new(problem.Invalid("type is not a field of a card binding"))
		}
		id, p := checkIdentity(req, true)
		return starter.NewCard{Idempotent: idem, AccountID: accountID, Identity: id}, p
	}
	_, out, ok := create(h, c, "bind card", build, h.Identity.CreateCard)
	if !ok {
		return
	}
	if out.Replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	writeJSON(c, http.StatusAccepted, out.Object)
}

// cardOf runs fn on the card of the path (in the wallet of the path), answering the
// service's errors.
func (h *Handler) cardOf(c *gin.Context, msg string, fn func(ctx context.Context, merchantID, accountID, cardID string) (models.BoundCard, error)) {
	accountID, ok := h.account(c)
	if !ok {
		return
	}
	cardID, ok := resource.PathID(c, "card_id", models.PrefixBoundCard, "card")
	if !ok {
		return
	}
	card, err := fn(c.Request.Context(), middleware.MerchantID(c), accountID, cardID)
	var otp *starter.OTPError
	switch {
	case errors.As(err, &otp):
		p := problem.Unprocessable(otp.Code, otpDetail(otp))
		if otp.Code == "otp_incorrect" {
			left := otp.AttemptsLeft
			p.AttemptsLeft = &left
		}
		problem.Write(c, p)
	case errors.Is(err, starter.ErrBindingBusy):
		problem.Write(c, problem.New(http.StatusConflict, problem.CodeConflict, "the binding took no code just now (it is starting or ending): nothing was tried; send the code again"))
	case errors.Is(err, starter.ErrCardNotActive):
		problem.Write(c, problem.Unprocessable(codeCardNotActive, "the card is "+string(card.Status)+": it takes no code"))
	case isNotFound(err):
		problem.Write(c, problem.NotFound("no such card"))
	case err != nil:
		h.internal(c, msg, err)
	default:
		writeJSON(c, http.StatusOK, card)
	}
}

func otpDetail(e *starter.OTPError) string {
	switch e.Code {
	case "otp_incorrect":
		return "the code is not the one the bank sent"
	case string(models.FailureOTPAttemptsExceeded):
		return "three wrong codes: the binding failed; start a new one"
	}
	return "the code expired (five minutes): the binding failed; start a new one"
}

func (h *Handler) getCard(c *gin.Context) {
	h.cardOf(c, "get card", h.Identity.Card)
}

func (h *Handler) removeCard(c *gin.Context) {
	h.cardOf(c, "remove card", h.Identity.RemoveCard)
}

type confirmCardRequest struct {
	OTP *string `json:"otp"`
}

func (h *Handler) confirmCard(c *gin.Context) {
	var req confirmCardRequest
	if err := decode.Strict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	if req.OTP == nil || len(*req.OTP) != 6 || !digits(*req.OTP) {
		problem.Write(c, problem.Invalid("otp must be the 6 digits the bank sent"))
		return
	}
	h.cardOf(c, "confirm card", func(ctx context.Context, merchantID, accountID, cardID string) (models.BoundCard, error) {
		return h.Identity.ConfirmCard(ctx, merchantID, accountID, cardID, *req.OTP)
	})
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (h *Handler) listCards(c *gin.Context) {
	accountID, ok := h.account(c)
	if !ok {
		return
	}
	q, p := listQuery(c, models.PrefixBoundCard)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	cards, more, err := h.Identity.ListCards(c.Request.Context(), q.MerchantID, accountID, q.Limit, q.StartingAfter)
	switch {
	case errors.Is(err, starter.ErrUnknownCursor):
		problem.Write(c, problem.Invalid("starting_after must be a card of this account"))
	case err != nil:
		h.internal(c, "list cards", err)
	default:
		writeJSON(c, http.StatusOK, resource.List[models.BoundCard]{Data: cards, HasMore: more})
	}
}

type subjectRequest struct {
	Name     *string `json:"name"`
	IDNumber *string `json:"id_number"`
}

type consentRequest struct {
	Reference *string `json:"reference"`
	GrantedAt *string `json:"granted_at"`
}

type createCreditReportRequest struct {
	Subject   *subjectRequest `json:"subject"`
	Purpose   *string         `json:"purpose"`
	Consent   *consentRequest `json:"consent"`
	Refresh   *bool           `json:"refresh"`
	NotifyURL *string         `json:"notify_url"`
}

func newCreditReport(req createCreditReportRequest, idem starter.Idempotent) (in starter.NewCreditReport, p *problem.Problem) {
	in.Idempotent = idem
	s := req.Subject
	if s == nil || s.Name == nil || s.IDNumber == nil {
		return in, new(problem.Invalid("subject needs name and id_number"))
	}
	if !validPersonName(*s.Name) {
		return in, new(problem.Unprocessable(codeInvalidName, "subject.name must be 1-64 characters"))
	}
	if !models.ValidIDNumber(*s.IDNumber) {
		return in, new(problem.Unprocessable(codeInvalidIDNumber, "subject.id_number must be 18 characters with a valid GB 11643 check digit"))
	}
	in.Subject = models.Subject{Name: *s.Name, IDNumber: models.NormalizeIDNumber(*s.IDNumber)}
	if req.Purpose == nil || !models.ValidPurpose(*req.Purpose) {
		return in, new(problem.Unprocessable(codeInvalidPurpose, "purpose must be loan_review, credit_card_review or post_loan_management"))
	}
	in.Purpose = *req.Purpose
	cs := req.Consent
	if cs == nil || cs.Reference == nil || cs.GrantedAt == nil || *cs.Reference == "" || len(*cs.Reference) > 255 {
		return in, new(problem.Unprocessable(codeConsentInvalid, "consent needs reference (1-255 bytes) and granted_at"))
	}
	at, err := time.Parse(time.RFC3339, *cs.GrantedAt)
	if err != nil {
		return in, new(problem.Unprocessable(codeConsentInvalid, "consent.granted_at must be an RFC 3339 time"))
	}
	in.Consent = models.Consent{Reference: *cs.Reference, GrantedAt: at.UTC()}
	if req.Refresh != nil {
		in.Refresh = *req.Refresh
	}
	in.NotifyURL, p = notifyURL(req.NotifyURL)
	return in, p
}

func (h *Handler) createCreditReport(c *gin.Context) {
	if _, out, ok := create(h, c, "create credit report", newCreditReport, h.Identity.CreateCreditReport); ok {
		writeAnswered(c, out)
	}
}

func (h *Handler) getCreditReport(c *gin.Context) {
	merchantID := middleware.MerchantID(c)
	getObject(h, c, models.PrefixCreditReport, "credit report", func(ctx context.Context, _, id string) (models.CreditReport, error) {
		return h.Identity.CreditReport(ctx, merchantID, id, "merchant:"+merchantID, c.GetString(middleware.KeyRequestID))
	})
}

func (h *Handler) listReportReads(c *gin.Context) {
	r, ok := loadObject(h, c, models.PrefixCreditReport, "credit report", func(ctx context.Context, merchantID, id string) (string, error) {
		_, _, err := h.Identity.ReportReads(ctx, merchantID, id, 1, "")
		return id, err
	})
	if !ok {
		return
	}
	q, p := listQuery(c, models.PrefixReportRead)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	reads, more, err := h.Identity.ReportReads(c.Request.Context(), q.MerchantID, r, q.Limit, q.StartingAfter)
	if err != nil {
		h.internal(c, "list report reads", err)
		return
	}
	writeJSON(c, http.StatusOK, resource.List[models.ReportRead]{Data: reads, HasMore: more})
}
