package banksim

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// dayLayout is a statement day, in UTC.
const dayLayout = "2006-01-02"

// statementHeader is the first line of every statement file.
var statementHeader = []string{"reference", "kind", "amount", "currency", "status", "time"}

// insertStatementLine records a final transfer in the statement of the UTC
// day it completed, in execution order.
func insertStatementLine(ctx context.Context, tx *sql.Tx, t Transfer) error {
	at := t.CompletedAt.UTC()
	_, err := tx.ExecContext(ctx, `INSERT INTO statement_lines (day, reference, kind, amount, currency, status, time)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		at.Format(dayLayout), t.Reference, t.Kind, strconv.FormatInt(t.Amount, 10), t.Currency, t.Status,
		at.Format(time.RFC3339))
	if err != nil {
		return fmt.Errorf("write statement line of %s: %w", t.Reference, err)
	}
	return nil
}

// lineChannel maps a channel name to the channel column of its statement
// lines: the empty string for the bank's own (Config.Channel), the provider's
// name for a wallet provider. known is false for any other name.
func (s *Server) lineChannel(channel string) (string, bool) {
	if channel == s.cfg.Channel {
		return "", true
	}
	if _, ok := findProvider(channel); ok {
		return channel, true
	}
	return "", false
}

// parseStatementFile splits "{channel}-{YYYY-MM-DD}.csv".
func parseStatementFile(name string) (channel, day string, ok bool) {
	base, found := strings.CutSuffix(name, ".csv")
	if !found || len(base) < len(dayLayout)+2 {
		return "", "", false
	}
	channel, day = base[:len(base)-len(dayLayout)-1], base[len(base)-len(dayLayout):]
	if base[len(channel)] != '-' {
		return "", "", false
	}
	if _, err := time.Parse(dayLayout, day); err != nil {
		return "", "", false
	}
	return channel, day, true
}

// handleStatement streams a day's statement straight from a cursor, so a
// statement of millions of lines never sits in memory. Lines come in
// execution order (then injected lines in the order planted), with the
// alterations applied; the consumer sorts.
func (s *Server) handleStatement(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	channel, day, ok := parseStatementFile(file)
	lineChannel, known := s.lineChannel(channel)
	if !ok || !known {
		writeError(w, http.StatusNotFound, ErrCodeNotFound, "no statement "+file)
		return
	}
	log := s.log.WithField("statement", file)
	rows, err := s.db.QueryContext(r.Context(), `SELECT l.reference, l.kind,
			COALESCE(CAST(a.amount AS TEXT), l.amount), l.currency, COALESCE(a.status, l.status), l.time
		FROM statement_lines l
		LEFT JOIN statement_alterations a ON l.injected = 0 AND a.reference = l.reference
		WHERE l.day = ? AND l.channel = ? AND COALESCE(a.removed, 0) = 0
		ORDER BY l.id`, day, lineChannel)
	if err != nil {
		writeInternal(w, log, fmt.Errorf("query statement: %w", err))
		return
	}
	defer rows.Close()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+file+`"`)
	cw := csv.NewWriter(w)
	cw.Write(statementHeader)
	record := make([]string, len(statementHeader))
	lines := 0
	for rows.Next() {
		if err := rows.Scan(&record[0], &record[1], &record[2], &record[3], &record[4], &record[5]); err != nil {
			abortStatement(r, log, fmt.Errorf("scan statement line: %w", err))
		}
		if err := cw.Write(record); err != nil {
			return // the client is gone
		}
		lines++
	}
	if err := rows.Err(); err != nil {
		abortStatement(r, log, fmt.Errorf("read statement: %w", err))
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return // the client is gone
	}
	log.WithField("lines", lines).Info("statement served")
}

// abortStatement ends a statement that failed after its 200 went out. A
// normally ended body would pass for a complete, shorter statement, so the
// connection is aborted (net/http's ErrAbortHandler) and the reader sees an
// unexpected EOF instead.
func abortStatement(r *http.Request, log *logrus.Entry, err error) {
	if r.Context().Err() == nil {
		log.WithError(err).Error("statement aborted")
	}
	panic(http.ErrAbortHandler)
}
