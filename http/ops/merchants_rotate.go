package ops

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/decode"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/starter"
)

// Overlaps of a secret rotation: how long the previous secret stays valid.
const (
	defaultOverlap = 24 * time.Hour
	maxOverlap     = 30 * 24 * time.Hour
)

// rotateSecretRequest is the optional body of POST /v1/ops/merchants/{id}/rotate-secret.
type rotateSecretRequest struct {
	OverlapSeconds *int64 `json:"overlap_seconds"`
}

// rotatedSecretJSON is the answer: the new secret, shown once.
type rotatedSecretJSON struct {
	ID                 string    `json:"id"`
	Object             string    `json:"object"`
	Secret             string    `json:"secret"`
	OldSecretExpiresAt time.Time `json:"old_secret_expires_at"`
}

// rotateSecret gives a merchant a new secret; requests signed with the previous one
// are accepted until the overlap ends, so that the merchant can roll the new one out
// without refused requests.
func (h *Handler) rotateSecret(c *gin.Context) {
	id, ok := merchantID(c)
	if !ok {
		return
	}
	overlap := defaultOverlap
	if body := middleware.Body(c); len(body) > 0 {
		var req rotateSecretRequest
		if err := decode.Strict(body, &req); err != nil {
			problem.Write(c, problem.Invalid(err.Error()))
			return
		}
		if req.OverlapSeconds != nil {
			if *req.OverlapSeconds < 0 || *req.OverlapSeconds > int64(maxOverlap/time.Second) {
				problem.Write(c, problem.Invalid("overlap_seconds must be from 0 to 2592000 (30 days)"))
				return
			}
			overlap = time.Duration(*req.OverlapSeconds) * time.Second
		}
	}
	secret, expires, err := h.Merchants.RotateSecret(c.Request.Context(), id, overlap)
	switch {
	case errors.Is(err, starter.ErrNotFound):
		problem.Write(c, problem.NotFound("no such merchant"))
		return
	case errors.Is(err, starter.ErrConcurrentRotation):
		h.audit(c, "merchant.rotate_secret", id, "", "refused", "another rotation of this merchant won the race")
		problem.Write(c, problem.New(http.StatusConflict, problem.CodeConflict, "another rotation of this merchant's secret happened meanwhile; send the request again"))
		return
	case err != nil:
		h.audit(c, "merchant.rotate_secret", id, "", "error", "")
		h.internal(c, "rotate merchant secret", err)
		return
	}
	h.audit(c, "merchant.rotate_secret", id, "", "accepted", fmt.Sprintf("previous secret valid until %s", expires.Format(time.RFC3339)))
	h.Log.WithFields(logrus.Fields{
		"merchant_id": id, "old_secret_expires_at": expires.Format(time.RFC3339), "operator": c.GetString(middleware.KeyOperator),
		"request_id": c.GetString(middleware.KeyRequestID),
	}).Info("merchant secret rotated")
	c.JSON(http.StatusOK, rotatedSecretJSON{ID: id, Object: "merchant_secret", Secret: secret, OldSecretExpiresAt: expires})
}
