// Package callbacks receives banks' signed callbacks and turns each valid one into a
// signal to the flow that waits on the transfer.
package callbacks

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/signing"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// Flows finds the flow that owns a bank reference.
type Flows interface {
	// WorkflowIDForReference returns the workflow id of the object with this id, or
	// store.ErrNotFound.
	WorkflowIDForReference(ctx context.Context, reference string) (string, error)
}

// Signaler delivers callbacks (package starter).
type Signaler interface {
	SignalBankCallback(ctx context.Context, workflowID string, cb models.BankCallback) error
}

// Handler serves POST /v1/callbacks/:channel.
type Handler struct {
	// Secrets maps a channel to its shared callback secret.
	Secrets  map[string]string
	Flows    Flows
	Signaler Signaler
	Log      *logrus.Entry
	Now      func() time.Time
}

// Register mounts the route (after middleware.ReadBody).
func (h *Handler) Register(r gin.IRoutes) {
	r.POST("/v1/callbacks/:channel", h.receive)
}

type callbackBody struct {
	Reference   string `json:"reference"`
	Kind        string `json:"kind"`
	Status      string `json:"status"`
	FailureCode string `json:"failure_code"`
	EventID     string `json:"event_id"`
}

func (h *Handler) receive(c *gin.Context) {
	channel := c.Param("channel")
	log := h.Log.WithFields(logrus.Fields{"channel": channel, "request_id": c.GetString(middleware.KeyRequestID)})
	secret, ok := h.Secrets[channel]
	if !ok {
		problem.Write(c, problem.NotFound("no such channel"))
		return
	}
	body := middleware.Body(c)
	if err := signing.VerifyWebhook(secret, c.GetHeader("X-Banksim-Signature"), body, h.Now(), 5*time.Minute); err != nil {
		log.WithError(err).Warn("bank callback refused: bad signature")
		problem.Write(c, problem.SignatureInvalid())
		return
	}
	var cb callbackBody
	if err := json.Unmarshal(body, &cb); err != nil || cb.Reference == "" {
		log.Warn("bank callback refused: unreadable body")
		problem.Write(c, problem.Invalid("the callback body is not a transfer"))
		return
	}
	log = log.WithFields(logrus.Fields{"reference": cb.Reference, "status": cb.Status, "event_id": cb.EventID})
	wfID, err := h.Flows.WorkflowIDForReference(c.Request.Context(), cb.Reference)
	if errors.Is(err, store.ErrNotFound) {
		log.Warn("bank callback refused: unknown reference")
		problem.Write(c, problem.NotFound("no transfer with this reference"))
		return
	}
	if err != nil {
		log.WithError(err).Error("bank callback: look up reference")
		problem.Write(c, problem.Unavailable("try again"))
		return
	}
	err = h.Signaler.SignalBankCallback(c.Request.Context(), wfID, models.BankCallback{
		Reference: cb.Reference, Channel: channel, Status: models.BankStatus(cb.Status),
		FailureCode: models.FailureCode(cb.FailureCode), EventID: cb.EventID,
	})
	switch {
	case errors.Is(err, starter.ErrFlowNotFound):
		// The flow already finished (a duplicate or late callback): acknowledged, so
		// that the bank stops resending.
		log.Info("bank callback for a finished flow acknowledged")
	case err != nil:
		log.WithError(err).Error("bank callback: signal flow")
		problem.Write(c, problem.Unavailable("try again"))
		return
	default:
		log.Info("bank callback delivered")
	}
	c.JSON(http.StatusOK, gin.H{"received": true})
}
