// Package merchant serves the merchant API (/v1/...): signed requests from merchants'
// backends. Handlers validate into request types of their own, write nothing on bad
// input, and translate every error once into a problem.
package merchant

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"
	"gorm.io/gorm"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// Store is what the merchant API needs of payflow's rows.
type Store interface {
	CreateOnce(ctx context.Context, req store.IdempotentRequest, insert func(tx *gorm.DB) error) (string, bool, error)
	Merchant(ctx context.Context, id string) (models.Merchant, error)
	Payment(ctx context.Context, merchantID, id string) (models.Payment, error)
	ListPayments(ctx context.Context, q store.ListQuery) ([]models.Payment, bool, error)
	Topup(ctx context.Context, merchantID, id string) (models.Topup, error)
	Withdrawal(ctx context.Context, merchantID, id string) (models.Withdrawal, error)
	Refund(ctx context.Context, merchantID, id string) (models.Refund, error)
	Event(ctx context.Context, merchantID, id string) (models.Event, error)
	ListEvents(ctx context.Context, q store.ListQuery) ([]models.Event, bool, error)
	EventDeliveries(ctx context.Context, eventIDs []string, now time.Time) (map[string]models.EventDelivery, error)
}

// Ledger is what the merchant API needs of the ledger.
type Ledger interface {
	Account(ctx context.Context, merchantID, id string) (ledger.Account, error)
	Statement(ctx context.Context, accountID string, limit int, startingAfter string) ([]ledger.StatementLine, bool, error)
}

// Starter starts flows (package starter).
type Starter interface {
	StartPayment(ctx context.Context, in models.PaymentInput) error
	StartTopup(ctx context.Context, in models.TopupInput) error
	StartWithdrawal(ctx context.Context, in models.WithdrawalInput) error
	StartRefund(ctx context.Context, in models.RefundInput) error
	// RedeliverEvent starts an event's delivery again; starter.ErrFlowRunning while
	// one is running.
	RedeliverEvent(ctx context.Context, in models.WebhookDeliveryInput) error
}

// Handler serves the merchant API.
type Handler struct {
	Store          Store
	Ledger         Ledger
	Starter        Starter
	Channels       []string
	DefaultChannel string
	Log            *logrus.Entry
	Now            func() time.Time
}

// Register mounts the merchant routes on a group that already authenticates.
func (h *Handler) Register(g *gin.RouterGroup) {
	g.POST("/payments", h.createPayment)
	g.GET("/payments", h.listPayments)
	g.GET("/payments/:id", h.getPayment)
	g.POST("/accounts", h.createAccount)
	g.GET("/accounts/:id", h.getAccount)
	g.GET("/accounts/:id/entries", h.listEntries)
	g.POST("/topups", h.createTopup)
	g.GET("/topups/:id", h.getTopup)
	g.POST("/withdrawals", h.createWithdrawal)
	g.GET("/withdrawals/:id", h.getWithdrawal)
	g.POST("/payments/:id/refunds", h.createRefund)
	g.GET("/refunds/:id", h.getRefund)
	g.GET("/events", h.listEvents)
	g.GET("/events/:id", h.getEvent)
	g.POST("/events/:id/redeliver", h.redeliverEvent)
}

// idempotencyKey reads and checks the Idempotency-Key header: 1-255 printable ASCII.
func idempotencyKey(c *gin.Context) (string, *problem.Problem) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		p := problem.Invalid("the Idempotency-Key header is required on every creating POST")
		return "", &p
	}
	if len(key) > 255 {
		p := problem.Invalid("the Idempotency-Key header must be 1-255 characters")
		return "", &p
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			p := problem.Invalid("the Idempotency-Key header must be printable ASCII")
			return "", &p
		}
	}
	return key, nil
}

// fingerprint identifies a request for idempotency: method, path and exact body.
func fingerprint(c *gin.Context) string {
	h := sha256.New()
	h.Write([]byte(c.Request.Method))
	h.Write([]byte("\n"))
	h.Write([]byte(c.Request.URL.Path))
	h.Write([]byte("\n"))
	h.Write(middleware.Body(c))
	return hex.EncodeToString(h.Sum(nil))
}

// listParams reads limit (1-100, default 10) and starting_after.
func listParams(c *gin.Context, prefix string) (int, string, *problem.Problem) {
	limit := 10
	if v, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			p := problem.Invalid("limit must be an integer from 1 to 100")
			return 0, "", &p
		}
		limit = n
	}
	after := c.Query("starting_after")
	if after != "" && !models.ValidID(prefix, after) {
		p := problem.Invalid("starting_after must be an id of this list")
		return 0, "", &p
	}
	return limit, after, nil
}

// internal logs err once, with the request's ids, and answers a 500 that names
// nothing of it.
func (h *Handler) internal(c *gin.Context, msg string, err error) {
	h.Log.WithFields(logrus.Fields{
		"request_id":  c.GetString(middleware.KeyRequestID),
		"merchant_id": middleware.MerchantID(c),
	}).WithError(err).Error(msg)
	problem.Write(c, problem.Internal())
}

// idempotencyOK answers a CreateOnce error: 422 for a key reused with another
// request, 500 for anything else. It reports whether the caller may go on.
func (h *Handler) idempotencyOK(c *gin.Context, err error) bool {
	switch {
	case err == nil:
		return true
	case errors.Is(err, store.ErrIdempotencyKeyReused):
		problem.Write(c, problem.Unprocessable(problem.CodeIdempotencyKeyReused, "this Idempotency-Key was used with a different request"))
	default:
		h.internal(c, "create with idempotency key", err)
	}
	return false
}

// activeMerchant loads the merchant and refuses a disabled merchant's request to move
// money (403).
func (h *Handler) activeMerchant(c *gin.Context, merchantID string) (models.Merchant, bool) {
	m, err := h.Store.Merchant(c.Request.Context(), merchantID)
	if err != nil {
		h.internal(c, "load merchant", err)
		return models.Merchant{}, false
	}
	if m.Status != models.MerchantActive {
		problem.Write(c, problem.New(http.StatusForbidden, problem.CodeMerchantDisabled, "this merchant is disabled and cannot move money"))
		return models.Merchant{}, false
	}
	return m, true
}

// channel reads an optional channel field: one of the configured channels, or the
// default.
func (h *Handler) channel(req *string) (string, *problem.Problem) {
	if req == nil {
		return h.DefaultChannel, nil
	}
	if !slices.Contains(h.Channels, *req) {
		p := problem.Unprocessable(problem.CodeUnsupportedChannel, fmt.Sprintf("channel must be one of %v", h.Channels))
		return "", &p
	}
	return *req, nil
}

// notifyURL reads an optional notify_url field.
func notifyURL(req *string) (string, *problem.Problem) {
	if req == nil {
		return "", nil
	}
	if !validNotifyURL(*req) {
		p := problem.Unprocessable(problem.CodeInvalidNotifyURL, "notify_url must be an absolute http or https URL")
		return "", &p
	}
	return *req, nil
}

func isNotFound(err error) bool {
	return errors.Is(err, store.ErrNotFound) || errors.Is(err, ledger.ErrAccountNotFound)
}

func writeJSON(c *gin.Context, status int, v any) {
	c.JSON(status, v)
}

// listResponse is the envelope of every list.
type listResponse[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"has_more"`
}
