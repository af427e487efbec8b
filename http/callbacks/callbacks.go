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
	"github.com/payflow/payflow/workflows"
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

// Transfers records the transfers banks decide (internal/store).
type Transfers interface {
	// RecordBankTransfer appends a decided transfer; recording it again is a no-op.
	RecordBankTransfer(ctx context.Context, t store.BankTransfer) error
}

// Handler serves POST /v1/callbacks/:channel.
type Handler struct {
	// Secrets maps a channel to its shared callback secret.
	Secrets  map[string]string
	Flows    Flows
	Signaler Signaler
	Log      *logrus.Entry
	Now      func() time.Time

	// Transfers, when set, records every final transfer a callback reports: a flow
	// that learns its outcome from the callback never asks the bank again, and
	// without this record reconciliation finds the transfer missing on our side.
	Transfers Transfers
}

// Register mounts the route (after middleware.ReadBody).
func (h *Handler) Register(r gin.IRoutes) {
	r.POST("/v1/callbacks/:channel", h.receive)
}

type callbackBody struct {
	Reference   string `json:"reference"`
	Kind        string `json:"kind"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Status      string `json:"status"`
	FailureCode string `json:"failure_code"`
	BankID      string `json:"bank_id"`
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
	if err := h.record(c.Request.Context(), channel, wfID, cb, log); err != nil {
		log.WithError(err).Error("bank callback: record transfer")
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

// record appends the bank transfer record of a callback that reports a final state.
// The signed callback is the bank's word, as good as an answer to a query; the first
// record of a reference stands, so duplicates and late callbacks change nothing. A
// callback whose transfer is not well-formed is still delivered, unrecorded: the
// flow's own query records it then.
func (h *Handler) record(ctx context.Context, channel, workflowID string, cb callbackBody, log *logrus.Entry) error {
	status := models.BankStatus(cb.Status)
	if h.Transfers == nil || !status.Final() {
		return nil
	}
	currency, err := models.ParseCurrency(cb.Currency)
	if err != nil || models.ValidateAmount(cb.Amount) != nil || cb.Kind == "" {
		log.Warn("bank callback: transfer not recorded: amount, currency or kind missing")
		return nil
	}
	_, merchantID, _, _ := workflows.ParseWorkflowID(workflowID)
	return h.Transfers.RecordBankTransfer(ctx, store.BankTransfer{
		Reference: cb.Reference, Channel: channel, Kind: cb.Kind, MerchantID: merchantID, Amount: cb.Amount,
		Currency: currency, Status: status, FailureCode: models.FailureCode(cb.FailureCode), BankID: cb.BankID,
	})
}
