package ops

import (
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/http/resource"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// DefaultCSVPage is how many differences the CSV download reads per page when
// Handler.CSVPage is 0.
const DefaultCSVPage = 500

// csvPageTime bounds one page of the CSV download: its read from the store, and the
// write of its rows to the client (the write deadline moves on with every page, so
// that a long download that keeps going is never cut, and a stalled client is).
const csvPageTime = 30 * time.Second

// DifferencesCSVHeader are the columns of a run's differences as CSV: the
// difference, our side, the bank's side, the ledger's side and the resolution.
// Amounts are minor units; times are RFC 3339 UTC; a side that is absent is empty.
var DifferencesCSVHeader = []string{
	"id", "reference", "kind", "line", "since",
	"ours_kind", "ours_amount", "ours_currency", "ours_status",
	"bank_kind", "bank_amount", "bank_currency", "bank_status",
	"ledger_amount", "ledger_currency", "ledger_status",
	"resolution_action", "resolution_note", "resolution_operator", "resolved_at", "created",
	"resolution_object_id",
}

// differencesCSV streams every difference of a run as CSV, page after page through
// the store's keyset (never the whole run in memory), flushing each page to the
// client. An unknown run is a 404 problem, answered before anything is written; a
// read that fails later cuts the download (logged), whose end is then not a row's.
func (h *Handler) differencesCSV(c *gin.Context) {
	id, ok := resource.PathID(c, "id", models.PrefixReconciliation, "reconciliation")
	if !ok {
		return
	}
	q := starter.DifferenceQuery{ReconciliationID: id, Limit: h.CSVPage}
	if q.Limit <= 0 {
		q.Limit = DefaultCSVPage
	}
	diffs, more, err := h.csvPage(c.Request.Context(), q)
	switch {
	case errors.Is(err, starter.ErrNotFound):
		problem.Write(c, problem.NotFound("no such reconciliation"))
		return
	case err != nil:
		h.internal(c, "list differences", err)
		return
	}
	log := h.Log.WithFields(logrus.Fields{
		"reconciliation_id": id, "operator": c.GetString(middleware.KeyOperator), "request_id": c.GetString(middleware.KeyRequestID),
	})
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="`+id+`-differences.csv"`)
	c.Header("Cache-Control", "no-store")
	c.Status(http.StatusOK)
	rc := http.NewResponseController(c.Writer)
	w := csv.NewWriter(c.Writer)
	rows := 0
	_ = rc.SetWriteDeadline(time.Now().Add(csvPageTime))
	_ = w.Write(DifferencesCSVHeader)
	for {
		for _, d := range diffs {
			_ = w.Write(differenceRecord(d))
		}
		rows += len(diffs)
		w.Flush()
		if err := w.Error(); err != nil {
			log.WithError(err).WithField("rows", rows).Warn("differences CSV: the client went away")
			return
		}
		_ = rc.Flush()
		if !more || len(diffs) == 0 {
			break
		}
		q.StartingAfter = diffs[len(diffs)-1].ID
		if diffs, more, err = h.csvPage(c.Request.Context(), q); err != nil {
			log.WithError(err).WithField("rows", rows).Error("differences CSV: read a page; the download is cut")
			c.Abort()
			panic(http.ErrAbortHandler)
		}
		_ = rc.SetWriteDeadline(time.Now().Add(csvPageTime))
	}
	log.WithField("rows", rows).Info("differences CSV downloaded")
}

// csvPage reads one page of the download within csvPageTime.
func (h *Handler) csvPage(ctx context.Context, q starter.DifferenceQuery) ([]models.Difference, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, csvPageTime)
	defer cancel()
	return h.Reconciliations.ListDifferences(ctx, q)
}

// differenceRecord is a difference's CSV row, in DifferencesCSVHeader's order.
// Text, which may come from the bank's statement or an operator, is neutralised
// against formula injection (csvText); numbers and times are ours.
func differenceRecord(d models.Difference) []string {
	rec := make([]string, 0, len(DifferencesCSVHeader))
	line := ""
	if d.Line != 0 {
		line = strconv.FormatInt(d.Line, 10)
	}
	rec = append(rec, d.ID, csvText(d.Reference), csvText(string(d.Kind)), line, csvText(d.Since))
	rec = append(rec, sideRecord(d.Ours, true)...)
	rec = append(rec, sideRecord(d.Bank, true)...)
	rec = append(rec, sideRecord(d.Ledger, false)...)
	var action, note, operator, resolved, object string
	if r := d.Resolution; r != nil {
		action, note, operator, object = csvText(r.Action), csvText(r.Note), csvText(r.Operator), csvText(r.ObjectID)
		resolved = r.ResolvedAt.UTC().Format(time.RFC3339)
	}
	return append(rec, action, note, operator, resolved, d.CreatedAt.UTC().Format(time.RFC3339), object)
}

// sideRecord is one side's cells (kind when withKind, amount, currency, status);
// all empty for a side that is absent.
func sideRecord(s *models.DifferenceSide, withKind bool) []string {
	var out []string
	if s == nil {
		out = []string{"", "", ""}
	} else {
		out = []string{strconv.FormatInt(s.Amount, 10), csvText(s.Currency), csvText(s.Status)}
	}
	if !withKind {
		return out
	}
	kind := ""
	if s != nil {
		kind = csvText(s.Kind)
	}
	return append([]string{kind}, out...)
}

// csvText neutralises a text cell that a spreadsheet would read as a formula (one
// starting with =, +, -, @, a tab or a carriage return) by prefixing it with a
// single quote, so that finance can open the file safely. The cell's text is
// otherwise unchanged.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
