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

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/http/resource"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// Payments is the payments service (starter.Payments).
type Payments interface {
	Create(ctx context.Context, req starter.NewPayment) (starter.Created[models.Payment], error)
	Get(ctx context.Context, merchantID, id string) (models.Payment, error)
	List(ctx context.Context, q starter.ListQuery) ([]models.Payment, bool, error)
	Confirm(ctx context.Context, merchantID, id string, c models.ConfirmPayment) (models.Payment, error)
}

// Refunds is the refunds service (starter.Refunds).
type Refunds interface {
	Create(ctx context.Context, req starter.NewRefund) (starter.Created[models.Refund], error)
	Get(ctx context.Context, merchantID, id string) (models.Refund, error)
}

// Wallets is the wallets service (starter.Wallets): wallets, top-ups, withdrawals.
type Wallets interface {
	CreateAccount(ctx context.Context, req starter.NewAccount) (starter.Created[starter.Account], error)
	Account(ctx context.Context, merchantID, id string) (starter.Account, error)
	// Statement returns starter.ErrUnknownCursor when startingAfter is not an entry
	// of the account.
	Statement(ctx context.Context, accountID string, limit int, startingAfter string) ([]starter.StatementLine, bool, error)
	CreateTopup(ctx context.Context, req starter.NewTopup) (starter.Created[models.Topup], error)
	Topup(ctx context.Context, merchantID, id string) (models.Topup, error)
	CreateWithdrawal(ctx context.Context, req starter.NewWithdrawal) (starter.Created[models.Withdrawal], error)
	Withdrawal(ctx context.Context, merchantID, id string) (models.Withdrawal, error)
	CreatePaymentCode(ctx context.Context, merchantID, accountID string) (models.PaymentCode, error)
}

// Events is the webhook events service (starter.Events).
type Events interface {
	List(ctx context.Context, q starter.ListQuery) ([]models.Event, bool, error)
	Get(ctx context.Context, merchantID, id string) (models.Event, error)
	Redeliver(ctx context.Context, merchantID, id string) (models.Event, error)
}

// Handler serves the merchant API: it decodes and checks requests, calls a service
// and maps the service's errors to problems.
type Handler struct {
	Payments       Payments
	Refunds        Refunds
	Wallets        Wallets
	Events         Events
	Identity       Identity
	Yield          Yield
	Fund           Fund
	Channels       []string
	DefaultChannel string
	Log            *logrus.Entry
}

// Register mounts the merchant routes on a group that already authenticates. A GET of
// one object answers it as its service loads it (getObject).
func (h *Handler) Register(g *gin.RouterGroup) {
	g.POST("/payments", h.createPayment)
	g.GET("/payments", h.listPayments)
	g.GET("/payments/:id", func(c *gin.Context) { getObject(h, c, models.PrefixPayment, "payment", h.Payments.Get) })
	g.POST("/accounts", h.createAccount)
	g.GET("/accounts/:id", h.getAccount)
	g.GET("/accounts/:id/entries", h.listEntries)
	g.POST("/accounts/:id/yield", h.setYield)
	g.GET("/accounts/:id/yield", h.getYield)
	g.POST("/topups", h.createTopup)
	g.GET("/topups/:id", func(c *gin.Context) { getObject(h, c, models.PrefixTopup, "top-up", h.Wallets.Topup) })
	g.POST("/withdrawals", h.createWithdrawal)
	g.GET("/withdrawals/:id", func(c *gin.Context) { getObject(h, c, models.PrefixWithdrawal, "withdrawal", h.Wallets.Withdrawal) })
	g.POST("/payments/:id/refunds", h.createRefund)
	g.POST("/payments/:id/confirm", h.confirmPayment)
	g.GET("/payments/:id/qr.png", h.qrPNG)
	g.POST("/accounts/:id/payment_codes", h.createPaymentCode)
	g.GET("/refunds/:id", func(c *gin.Context) { getObject(h, c, models.PrefixRefund, "refund", h.Refunds.Get) })
	g.GET("/events", h.listEvents)
	g.GET("/events/:id", func(c *gin.Context) { getObject(h, c, models.PrefixEvent, "event", h.Events.Get) })
	g.POST("/events/:id/redeliver", h.redeliverEvent)
	h.registerIdentity(g)
	h.registerFund(g)
}

// idempotencyKey reads and checks the Idempotency-Key header: 1-255 printable ASCII.
func idempotencyKey(c *gin.Context) (string, *problem.Problem) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		return "", new(problem.Invalid("the Idempotency-Key header is required on every creating POST"))
	}
	if len(key) > 255 {
		return "", new(problem.Invalid("the Idempotency-Key header must be 1-255 characters"))
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return "", new(problem.Invalid("the Idempotency-Key header must be printable ASCII"))
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

// listQuery reads the query every list of the merchant's objects has: limit and
// starting_after (an id with prefix).
func listQuery(c *gin.Context, prefix string) (starter.ListQuery, *problem.Problem) {
	limit, after, p := resource.Page(c, prefix, "starting_after must be an id of this list")
	return starter.ListQuery{MerchantID: middleware.MerchantID(c), Limit: limit, StartingAfter: after}, p
}

// internal logs err once, with the request's ids, and answers a 500 that names
// nothing of it.
func (h *Handler) internal(c *gin.Context, msg string, err error) {
	problem.Write(c, h.logInternal(c, msg, err))
}

// logInternal logs err once, with the request's ids, and returns the 500 that names
// nothing of it.
func (h *Handler) logInternal(c *gin.Context, msg string, err error) problem.Problem {
	h.Log.WithFields(logrus.Fields{
		"request_id":  c.GetString(middleware.KeyRequestID),
		"merchant_id": middleware.MerchantID(c),
	}).WithError(err).Error(msg)
	return problem.Internal()
}

// fail answers a service's error: each refusal with its problem, a flow that could not
// start with 503 (the client retries with the same Idempotency-Key), anything else
// with a 500 logged as msg.
func (h *Handler) fail(c *gin.Context, msg string, err error) {
	var walletCur *starter.WalletCurrencyError
	var exceeds *starter.ExceedsRefundableError
	var notStarted *starter.NotStartedError
	var overLimit *starter.LimitExceededError
	if p, ok := fundProblem(err); ok {
		problem.Write(c, p)
		return
	}
	switch {
	case errors.Is(err, starter.ErrIdempotencyKeyReused):
		problem.Write(c, problem.Unprocessable(problem.CodeIdempotencyKeyReused, "this Idempotency-Key was used with a different request"))
	case errors.Is(err, starter.ErrMerchantDisabled):
		problem.Write(c, problem.New(http.StatusForbidden, problem.CodeMerchantDisabled, "this merchant is disabled and cannot move money"))
	case errors.Is(err, starter.ErrInvalidPaymentCode):
		problem.Write(c, problem.Unprocessable(problem.CodeInvalidSource,
			"the payment code is unknown, expired, replaced by a newer one or used (a wallet's code lives 60 s, pays once, for this merchant only, in its wallet's currency)"))
	case errors.Is(err, starter.ErrConsentInvalid):
		problem.Write(c, problem.Unprocessable("consent_invalid", "consent.granted_at must be within the last 30 days, and not in the future"))
	case errors.Is(err, starter.ErrCardNotActive):
		problem.Write(c, problem.Unprocessable(problem.CodeInvalidSource, "card_id must be an active card bound to the wallet"))
	case errors.Is(err, starter.ErrInvalidSource):
		problem.Write(c, problem.Unprocessable(problem.CodeInvalidSource, "account_id must be one of your wallets, in the payment's currency"))
	case errors.Is(err, starter.ErrInvalidAccount):
		problem.Write(c, problem.Unprocessable(problem.CodeInvalidAccount, "account_id must be one of your wallets"))
	case errors.As(err, &walletCur):
		problem.Write(c, problem.Unprocessable(problem.CodeUnsupportedCurrency, fmt.Sprintf("the wallet holds %s; the amount must be in the same currency", walletCur.Wallet.Currency)))
	case errors.As(err, &exceeds):
		pay := exceeds.Payment
		problem.Write(c, problem.Unprocessable(problem.CodeAmountExceedsRefundable,
			fmt.Sprintf("the payment is %s with at most %d %s left to refund, counting refunds in flight",
				pay.Status, pay.Amount-pay.AmountRefunded, pay.Currency)))
	case errors.As(err, &overLimit):
		problem.Write(c, problem.Unprocessable(problem.CodeLimitExceeded,
			fmt.Sprintf("the amount is over the merchant's %s of %d; %d remaining", overLimit.Limit, overLimit.Max, overLimit.Remaining)))
	case errors.As(err, &notStarted):
		h.Log.WithFields(logrus.Fields{"object_id": notStarted.ObjectID, "merchant_id": notStarted.MerchantID}).WithError(err).Error("start " + notStarted.Kind + " flow")
		problem.Write(c, problem.Unavailable("the "+notStarted.Kind+" is stored but its flow could not start yet; retry with the same Idempotency-Key"))
	default:
		h.internal(c, msg, err)
	}
}

// idempotent reads what every creating request carries besides its fields: the
// merchant, the Idempotency-Key, the request's fingerprint and the wait it prefers.
func idempotent(c *gin.Context) (starter.Idempotent, *problem.Problem) {
	key, p := idempotencyKey(c)
	if p != nil {
		return starter.Idempotent{}, p
	}
	wait, _ := preferredWait(c.Request.Header.Values("Prefer"))
	return starter.Idempotent{MerchantID: middleware.MerchantID(c), Key: key, Fingerprint: fingerprint(c), Wait: wait}, nil
}

// channel reads an optional channel field: one of the configured channels, or the
// default.
func (h *Handler) channel(req *string) (string, *problem.Problem) {
	if req == nil {
		return h.DefaultChannel, nil
	}
	if models.IsQRProvider(*req) {
		// A wallet provider takes its own payment codes and QR payments, never a
		// card or a bank account.
		return "", new(problem.Unprocessable(problem.CodeUnsupportedChannel,
			*req+" is a wallet provider: pay with its customer's payment code or a QR payment, not with a card or to a bank account"))
	}
	if !slices.Contains(h.Channels, *req) {
		return "", new(problem.Unprocessable(problem.CodeUnsupportedChannel, fmt.Sprintf("channel must be one of %v", h.Channels)))
	}
	return *req, nil
}

// notifyURL reads an optional notify_url field.
func notifyURL(req *string) (string, *problem.Problem) {
	if req == nil {
		return "", nil
	}
	if !models.ValidNotifyURL(*req) {
		return "", new(problem.Unprocessable(problem.CodeInvalidNotifyURL, "notify_url must be an absolute http or https URL"))
	}
	return *req, nil
}

func isNotFound(err error) bool { return errors.Is(err, starter.ErrNotFound) }

func writeJSON(c *gin.Context, status int, v any) {
	c.JSON(status, v)
}
