// Package callbacks receives banks' callbacks, one route per configured channel
// that has them, and turns each verified one into a hint for the flow that owns the
// transfer. A callback is never the truth about a transfer: the flow it wakes
// queries its own channel and acts on that answer only, so a callback writes no bank
// transfer record, and its claimed status rides along for the logs.
//
// What a callback must pass before it wakes a flow: its channel's own route (mounted
// only for a configured channel), its channel's own secret, a reference whose object
// is on that channel (or on auto, which may have routed it there), and an event id
// not delivered before on that channel.
package callbacks

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/bank/auto"
	"github.com/payflow/payflow/internal/bank/wallet"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// Errors of Verifier.Verify.
var (
	// ErrSignature: the request is not signed with the channel's secret (or not
	// within the tolerance). Answered 401.
	ErrSignature = errors.New("callback signature invalid")
	// ErrUnreadable: a verified body that is not a callback. Answered 400.
	ErrUnreadable = errors.New("callback unreadable")
	// ErrIgnored: a verified event that is about no transfer of ours (another event
	// type, another integration's object). Acknowledged, nothing signalled.
	ErrIgnored = errors.New("callback about no transfer of ours")
)

// maxEventIDLen is the longest event id bank_callback_events keeps.
const maxEventIDLen = 255

// Verifier reads the callbacks of one channel.
type Verifier interface {
	// Channel is the channel's name; its route is POST /v1/callbacks/<Channel()>.
	Channel() string
	// Verify checks the request's signature over the raw body with the channel's
	// own secret and reads the callback's reference, event id and claimed status.
	// It returns ErrSignature, ErrUnreadable or ErrIgnored (wrapped).
	Verify(header http.Header, body []byte, now time.Time) (models.BankCallback, error)
}

// Secrets are the secrets that verify callbacks, by channel.
type Secrets struct {
	// Banksim is the banksim channel's callback secret.
	Banksim string
	// StripeWebhook is the Stripe webhook endpoint's signing secret (whsec_...).
	StripeWebhook string
	// Wallets are the wallet providers' notify secrets, by channel (alipaysim,
	// wxpaysim).
	Wallets map[string]string
}

// ForChannels returns the verifiers of the configured channels that take
// callbacks: banksim when it is configured, stripe when it is configured and has
// a webhook secret, each configured wallet provider. A channel without a verifier
// has no route at all.
func ForChannels(channels []string, s Secrets) []Verifier {
	var out []Verifier
	for _, ch := range channels {
		switch {
		case ch == (Banksim{}).Channel():
			out = append(out, Banksim{Secret: s.Banksim})
		case ch == (Stripe{}).Channel() && s.StripeWebhook != "":
			out = append(out, Stripe{Secret: s.StripeWebhook})
		case wallet.IsProvider(ch):
			out = append(out, Wallet{Provider: ch, Secret: s.Wallets[ch]})
		}
	}
	return out
}

// Flows finds the flow that owns a bank reference.
type Flows interface {
	// FlowForReference returns the flow and stored channel of the object a
	// reference names, or store.ErrNotFound.
	FlowForReference(ctx context.Context, reference string) (store.ReferencedFlow, error)
}

// Events deduplicates callbacks by the bank's event id (internal/store).
type Events interface {
	// ClaimBankCallbackEvent records an event as delivered; store.ErrCallbackEventSeen
	// when it was before.
	ClaimBankCallbackEvent(ctx context.Context, channel, eventID, reference string, now time.Time) error
	// ReleaseBankCallbackEvent forgets a claim whose signal failed.
	ReleaseBankCallbackEvent(ctx context.Context, channel, eventID string) error
}

// Signaler delivers callbacks (package starter).
type Signaler interface {
	// SignalBankCallback signals the flow; starter.ErrFlowNotFound when it has
	// ended.
	SignalBankCallback(ctx context.Context, workflowID string, cb models.BankCallback) error
}

// Handler serves POST /v1/callbacks/<channel> for each of its verifiers.
type Handler struct {
	// Verifiers are the configured channels' callback readers (ForChannels).
	Verifiers []Verifier
	Flows     Flows
	Events    Events
	Signaler  Signaler
	Log       *logrus.Entry
	Now       func() time.Time
	// Bureau, when set, serves the credit bureau's callbacks (POST BureauPath)
	// alongside the banksim route, with the banksim verifier's secret.
	Bureau *Bureau
	// Fund, when set, serves the fund company's callbacks (POST FundPath) alongside
	// the banksim route, with the banksim verifier's secret.
	Fund FundOrders
}

// Register mounts one route per verifier (after middleware.ReadBody), and the
// bureau's with the banksim one. Any other path under /v1/callbacks/ is the
// router's 404.
func (h *Handler) Register(r gin.IRoutes) {
	for _, v := range h.Verifiers {
		r.POST("/v1/callbacks/"+v.Channel(), h.receive(v))
		if b, ok := v.(Banksim); ok && h.Bureau != nil {
			r.POST(BureauPath, h.bureau(b.Secret))
		}
		if b, ok := v.(Banksim); ok && h.Fund != nil {
			r.POST(FundPath, h.fundCallback(b.Secret))
		}
	}
}

var received = gin.H{"received": true}

func (h *Handler) receive(v Verifier) gin.HandlerFunc {
	channel := v.Channel()
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		// Never the body or the signature header: the log says what was decided.
		log := h.Log.WithFields(logrus.Fields{"channel": channel, "request_id": c.GetString(middleware.KeyRequestID)})
		cb, err := v.Verify(c.Request.Header, middleware.Body(c), h.Now())
		switch {
		case errors.Is(err, ErrSignature):
			log.WithError(err).Warn("bank callback refused: bad signature")
			problem.Write(c, problem.SignatureInvalid())
			return
		case errors.Is(err, ErrIgnored):
			log.WithError(err).Info("bank callback acknowledged and ignored")
			c.JSON(http.StatusOK, received)
			return
		case err != nil:
			log.WithError(err).Warn("bank callback refused: unreadable")
			problem.Write(c, problem.Invalid("the body is not a callback of this channel"))
			return
		case cb.Reference == "" || cb.EventID == "" || len(cb.EventID) > maxEventIDLen:
			log.Warn("bank callback refused: no reference, or no usable event id")
			problem.Write(c, problem.Invalid("a callback needs a reference and an event id of at most 255 characters"))
			return
		}
		// The route, not the body, says which channel this is.
		cb.Channel = channel
		log = log.WithFields(logrus.Fields{"reference": cb.Reference, "event_id": cb.EventID, "claimed_status": cb.Status})

		flow, err := h.Flows.FlowForReference(ctx, cb.Reference)
		switch {
		case errors.Is(err, store.ErrNotFound):
			log.Warn("bank callback refused: unknown reference")
			problem.Write(c, problem.NotFound("no transfer with this reference on this channel"))
			return
		case err != nil:
			log.WithError(err).Error("bank callback: look up reference")
			problem.Write(c, problem.Unavailable("try again"))
			return
		case flow.Channel != channel && flow.Channel != auto.Name:
			// This channel never had the transfer: its callback can say nothing about
			// it. Refused as an unknown reference (no hint of which references exist
			// elsewhere), so that one channel's secret cannot wake another
			// channel's flows. An object on auto may be at any channel it routes to.
			log.WithField("object_channel", flow.Channel).Warn("bank callback refused: the reference is on another channel")
			problem.Write(c, problem.NotFound("no transfer with this reference on this channel"))
			return
		}
		log = log.WithField("workflow_id", flow.WorkflowID)

		switch err := h.Events.ClaimBankCallbackEvent(ctx, channel, cb.EventID, cb.Reference, h.Now()); {
		case errors.Is(err, store.ErrCallbackEventSeen):
			log.Info("bank callback redelivered: acknowledged, not signalled again")
			c.JSON(http.StatusOK, received)
			return
		case err != nil:
			log.WithError(err).Error("bank callback: record event id")
			problem.Write(c, problem.Unavailable("try again"))
			return
		}

		err = h.Signaler.SignalBankCallback(ctx, flow.WorkflowID, cb)
		switch {
		case errors.Is(err, starter.ErrFlowNotFound):
			// The flow already finished: acknowledged, so that the bank stops resending.
			log.Info("bank callback for a finished flow acknowledged")
		case err != nil:
			log.WithError(err).Error("bank callback: signal flow")
			// The bank retries a 503 with the same event id, which must then be
			// delivered, not taken for a duplicate. Should the release fail too, the
			// retry is acknowledged unsignalled and the flow's poll finds the outcome.
			if rerr := h.Events.ReleaseBankCallbackEvent(context.WithoutCancel(ctx), channel, cb.EventID); rerr != nil {
				log.WithError(rerr).Warn("bank callback: release event id")
			}
			problem.Write(c, problem.Unavailable("try again"))
			return
		default:
			log.Info("bank callback delivered to its flow as a hint")
		}
		c.JSON(http.StatusOK, received)
	}
}
