package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// Reconciliations is the reconciliations service (starter.Reconciliations).
type Reconciliations interface {
	// Open returns the channel and day's run or creates one, and starts its flow
	// when it is not going; *starter.NotStartedError.
	Open(ctx context.Context, req starter.OpenReconciliation) (models.Reconciliation, bool, error)
	// Get returns a run with its first differences; starter.ErrNotFound.
	Get(ctx context.Context, id string) (starter.ReconciliationView, error)
	// ListDifferences pages a run's differences; starter.ErrNotFound,
	// starter.ErrUnknownCursor.
	ListDifferences(ctx context.Context, q starter.DifferenceQuery) ([]models.Difference, bool, error)
	// ResolveDifference appends a resolution; starter.ErrNotFound,
	// starter.ErrDuplicate.
	ResolveDifference(ctx context.Context, reconciliationID, id string, r models.Resolution) (models.Difference, error)
}

// listResponse is the envelope of every list.
type listResponse[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"has_more"`
}

// reconciliationID reads the :id path parameter; a malformed id is not found.
func reconciliationID(c *gin.Context) (string, bool) {
	id := c.Param("id")
	if !models.ValidID(models.PrefixReconciliation, id) {
		problem.Write(c, problem.NotFound("no such reconciliation"))
		return "", false
	}
	return id, true
}

// listParams reads limit (1-100, default 10) and starting_after (a dif_ id).
func listParams(c *gin.Context) (int, string, bool) {
	limit := 10
	if v, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			problem.Write(c, problem.Invalid("limit must be an integer from 1 to 100"))
			return 0, "", false
		}
		limit = n
	}
	after := c.Query("starting_after")
	if after != "" && !models.ValidID(models.PrefixDifference, after) {
		problem.Write(c, problem.Invalid("starting_after must be a difference id"))
		return 0, "", false
	}
	return limit, after, true
}

// internal logs err once, with the request's id, and answers a 500 that names
// nothing of it.
func (h *Handler) internal(c *gin.Context, msg string, err error) {
	h.Log.WithFields(logrus.Fields{
		"request_id": c.GetString(middleware.KeyRequestID),
		"operator":   c.GetString(middleware.KeyOperator),
	}).WithError(err).Error(msg)
	problem.Write(c, problem.Internal())
}

// decodeStrict decodes one JSON object into dst: unknown fields, wrong types and
// trailing data are errors, worded for the operator.
func decodeStrict(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var syntax *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax):
			return fmt.Errorf("malformed JSON at byte %d", syntax.Offset)
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return fmt.Errorf("field %q has the wrong type", typeErr.Field)
		case errors.As(err, &typeErr):
			return errors.New("the body must be a JSON object")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return fmt.Errorf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return errors.New("malformed JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("the body must hold exactly one JSON object")
	}
	return nil
}
