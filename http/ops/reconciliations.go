package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/http/resource"
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

// createReconciliationRequest is the body of POST /v1/ops/reconciliations.
type createReconciliationRequest struct {
	Channel *string `json:"channel"`
	Date    *string `json:"date"`
	Rerun   *bool   `json:"rerun"`
}

// validReconciliation is a create request that passed every check.
type validReconciliation struct {
	channel string
	date    string
	rerun   bool
}

func (h *Handler) validateReconciliation(req createReconciliationRequest) (validReconciliation, *problem.Problem) {
	fail := func(p problem.Problem) (validReconciliation, *problem.Problem) { return validReconciliation{}, &p }
	if req.Channel == nil {
		return fail(problem.Invalid("field \"channel\" is required"))
	}
	if req.Date == nil {
		return fail(problem.Invalid("field \"date\" is required"))
	}
	if !slices.Contains(h.Channels, *req.Channel) {
		return fail(problem.Unprocessable(problem.CodeUnsupportedChannel, fmt.Sprintf("channel must be one of %v", h.Channels)))
	}
	day, err := models.ParseDay(*req.Date)
	if err != nil {
		return fail(problem.Unprocessable(problem.CodeInvalidDate, "date must be a day, YYYY-MM-DD (UTC)"))
	}
	// The fund company's dates are its own, and its files say when one is over (a
	// simulator's clock may run days ahead): only a bank's day is checked here.
	if now := h.now(); day.After(now) && *req.Channel != models.ReconChannelFund {
		return fail(problem.Unprocessable(problem.CodeInvalidDate, "date must not be after today (UTC)"))
	}
	v := validReconciliation{channel: *req.Channel, date: *req.Date}
	if req.Rerun != nil {
		v.rerun = *req.Rerun
	}
	return v, nil
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now().UTC()
	}
	return time.Now().UTC()
}

// createReconciliation opens the run of a channel and day: the existing one (200), or
// a new one (202), which is the first of the day or, with rerun, the next once the
// latest has finished. A run whose flow is not going is started.
func (h *Handler) createReconciliation(c *gin.Context) {
	var req createReconciliationRequest
	if err := decodeStrict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	v, p := h.validateReconciliation(req)
	if p != nil {
		problem.Write(c, *p)
		return
	}
	rec, created, err := h.Reconciliations.Open(c.Request.Context(), starter.OpenReconciliation{Channel: v.channel, Date: v.date, Rerun: v.rerun})
	log := h.Log.WithFields(logrus.Fields{
		"reconciliation_id": rec.ID, "channel": rec.Channel, "date": rec.Date, "attempt": rec.Attempt,
		"operator": c.GetString(middleware.KeyOperator), "request_id": c.GetString(middleware.KeyRequestID),
	})
	var notStarted *starter.NotStartedError
	switch {
	case errors.As(err, &notStarted):
		log.WithError(err).Error("start reconciliation flow")
		problem.Write(c, problem.Unavailable("the reconciliation is stored but its flow could not start yet; send the same request again"))
		return
	case err != nil:
		h.internal(c, "open reconciliation", err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusAccepted
		log.WithField("rerun", v.rerun).Info("reconciliation requested")
		h.audit(c, "reconciliation.open", rec.ID, fmt.Sprintf("%s %s rerun=%t", rec.Channel, rec.Date, v.rerun), "accepted", "")
	}
	c.JSON(status, rec)
}

// getReconciliation answers a run with its status, its counts (final, or so far while
// it runs) and its first differences.
func (h *Handler) getReconciliation(c *gin.Context) {
	if rec, ok := resource.Load(c, models.PrefixReconciliation, "reconciliation", h.Reconciliations.Get, h.internal); ok {
		c.JSON(http.StatusOK, rec)
	}
}

// listDifferences pages through all of a run's differences, in the order found.
func (h *Handler) listDifferences(c *gin.Context) {
	id, ok := resource.PathID(c, "id", models.PrefixReconciliation, "reconciliation")
	if !ok {
		return
	}
	limit, after, p := resource.Page(c, models.PrefixDifference, "starting_after must be a difference id")
	if p != nil {
		problem.Write(c, *p)
		return
	}
	diffs, more, err := h.Reconciliations.ListDifferences(c.Request.Context(), starter.DifferenceQuery{ReconciliationID: id, Limit: limit, StartingAfter: after})
	switch {
	case errors.Is(err, starter.ErrNotFound):
		problem.Write(c, problem.NotFound("no such reconciliation"))
		return
	case errors.Is(err, starter.ErrUnknownCursor):
		problem.Write(c, problem.Invalid("starting_after must be a difference of this reconciliation"))
		return
	case err != nil:
		h.internal(c, "list differences", err)
		return
	}
	c.JSON(http.StatusOK, resource.List[models.Difference]{Data: diffs, HasMore: more})
}

// maxNote bounds a resolution's note (bytes).
const maxNote = 1000

// resolveDifferenceRequest is the body of POST .../differences/{dif_id}/resolve.
type resolveDifferenceRequest struct {
	Action    *string `json:"action"`
	Note      *string `json:"note"`
	RefundID  *string `json:"refund_id"`
	JournalID *string `json:"journal_id"`
}

// resolution checks a resolve request's fields and answers the resolution it asks
// for: an action (explained when left out), a note, and the object the action names
// (refund_id for refunded, journal_id for journal, nothing else for the others).
func (req resolveDifferenceRequest) resolution() (models.Resolution, *problem.Problem) {
	fail := func(detail string) (models.Resolution, *problem.Problem) {
		p := problem.Invalid(detail)
		return models.Resolution{}, &p
	}
	r := models.Resolution{Action: models.ResolutionExplained}
	if req.Action != nil {
		if !slices.Contains(models.ResolutionActions, *req.Action) {
			return fail(fmt.Sprintf("action must be one of %s", strings.Join(models.ResolutionActions, ", ")))
		}
		r.Action = *req.Action
	}
	if req.Note == nil || strings.TrimSpace(*req.Note) == "" {
		return fail("field \"note\" is required: say how the difference was resolved")
	}
	if len(*req.Note) > maxNote || !utf8.ValidString(*req.Note) {
		return fail("note must be valid UTF-8 of at most 1000 bytes")
	}
	r.Note = *req.Note
	switch {
	case r.Action == models.ResolutionRefunded && (req.RefundID == nil || !models.ValidID(models.PrefixRefund, *req.RefundID)):
		return fail("action refunded needs \"refund_id\": the id (re_...) of the refund that gave the money back")
	case r.Action == models.ResolutionJournal && (req.JournalID == nil || !models.ValidID(models.PrefixJournal, *req.JournalID)):
		return fail("action journal needs \"journal_id\": the id (jnl_...) of the correcting journal")
	case r.Action != models.ResolutionRefunded && req.RefundID != nil:
		return fail("refund_id goes only with action refunded")
	case r.Action != models.ResolutionJournal && req.JournalID != nil:
		return fail("journal_id goes only with action journal")
	case req.RefundID != nil:
		r.ObjectID = *req.RefundID
	case req.JournalID != nil:
		r.ObjectID = *req.JournalID
	}
	return r, nil
}

// resolveDifference closes a difference's follow-up with the operator's action and
// note: a resolution appended once (a second answers 409), never an edit of the
// difference. The action's object must exist (400) and fit the difference (409).
// Every attempt past the body's checks is audited as reconciliation.resolve with
// the action and the ids; the note, operator text that may name a customer, is
// stored with the resolution and kept out of the audit log.
func (h *Handler) resolveDifference(c *gin.Context) {
	id, ok := resource.PathID(c, "id", models.PrefixReconciliation, "reconciliation")
	if !ok {
		return
	}
	difID, ok := resource.PathID(c, "dif_id", models.PrefixDifference, "difference")
	if !ok {
		return
	}
	var req resolveDifferenceRequest
	if err := decodeStrict(middleware.Body(c), &req); err != nil {
		problem.Write(c, problem.Invalid(err.Error()))
		return
	}
	r, p := req.resolution()
	if p != nil {
		problem.Write(c, *p)
		return
	}
	r.Operator = c.GetString(middleware.KeyOperator)
	d, err := h.Reconciliations.ResolveDifference(c.Request.Context(), id, difID, r)
	audit := func(result, detail string) {
		h.audit(c, "reconciliation.resolve", difID, resolveReason(id, r), result, detail)
	}
	var refused *starter.ResolutionRefusedError
	switch {
	case errors.Is(err, starter.ErrNotFound):
		problem.Write(c, problem.NotFound("no such difference in this reconciliation"))
		return
	case errors.Is(err, starter.ErrDuplicate):
		audit("refused", "already resolved")
		problem.Write(c, problem.New(http.StatusConflict, problem.CodeConflict, "this difference is already resolved"))
		return
	case errors.Is(err, starter.ErrResolutionObjectNotFound):
		audit("refused", "no such "+objectKind(r.Action))
		problem.Write(c, problem.Invalid(fmt.Sprintf("%s %s does not exist", objectKind(r.Action), r.ObjectID)))
		return
	case errors.As(err, &refused):
		audit("refused", refused.Reason)
		problem.Write(c, problem.New(http.StatusConflict, problem.CodeConflict, refused.Reason))
		return
	case err != nil:
		audit("error", "")
		h.internal(c, "resolve difference", err)
		return
	}
	h.Log.WithFields(logrus.Fields{
		"reconciliation_id": id, "difference_id": difID, "action": d.Resolution.Action, "object_id": d.Resolution.ObjectID,
		"operator": r.Operator, "request_id": c.GetString(middleware.KeyRequestID),
	}).Info("difference resolved")
	r.ObjectID = d.Resolution.ObjectID
	audit("accepted", "")
	c.JSON(http.StatusOK, d)
}

// resolveReason is what the audit log keeps of a resolution: the run, the action
// and the object it names, never the note.
func resolveReason(reconciliationID string, r models.Resolution) string {
	s := "reconciliation_id=" + reconciliationID + " action=" + r.Action
	if r.ObjectID != "" {
		s += " object_id=" + r.ObjectID
	}
	return s
}

// objectKind names what an action's object is.
func objectKind(action string) string {
	switch action {
	case models.ResolutionRefunded:
		return "refund"
	case models.ResolutionJournal:
		return "journal"
	}
	return "object"
}
