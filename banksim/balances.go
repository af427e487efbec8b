package banksim

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
)

// DayBalance is our balance at the bank in one currency over one UTC day, in
// minor units: Opening is the Closing of the day before (0 before the first
// movement), Closing adds the day's movements.
type DayBalance struct {
	Currency string `json:"currency"`
	Opening  int64  `json:"opening"`
	Closing  int64  `json:"closing"`
}

// balanceMovementsSQL lists every movement of our balance at one channel up
// to a day (the arguments: day and the lines' channel, twice): each succeeded
// statement line as the statement serves it (alterations applied, injected
// lines included) signed by its kind, charges in, refunds and payouts out,
// and every planted adjustment. A line whose
// amount is not a whole number of minor units moves nothing (the statement
// reports it as malformed). The statement and the balances thus agree with
// each other, as a bank's do.
const balanceMovementsSQL = `SELECT l.day AS day, l.currency AS currency,
		CASE l.kind WHEN 'charge' THEN 1 ELSE -1 END * COALESCE(a.amount, CAST(l.amount AS INTEGER)) AS amount
	FROM statement_lines l
	LEFT JOIN statement_alterations a ON l.injected = 0 AND a.reference = l.reference
	WHERE l.day <= ? AND l.channel = ? AND COALESCE(a.removed, 0) = 0 AND COALESCE(a.status, l.status) = 'succeeded'
		AND l.kind IN ('charge', 'refund', 'payout')
		AND (a.amount IS NOT NULL OR (l.amount GLOB '[0-9]*' AND l.amount NOT GLOB '*[^0-9]*'))
	UNION ALL
	SELECT day, currency, amount FROM balance_adjustments WHERE day <= ? AND ? = ''`

// balancesSQL sums the movements into each currency's opening and closing
// balance of a day (the arguments: day, then day and channel twice). Planted
// adjustments belong to the bank's own channel (the empty string).
const balancesSQL = `SELECT currency,
		COALESCE(SUM(CASE WHEN day < ? THEN amount ELSE 0 END), 0), COALESCE(SUM(amount), 0)
	FROM (` + balanceMovementsSQL + `)
	GROUP BY currency ORDER BY currency`

// parseDay accepts a canonical YYYY-MM-DD.
func parseDay(s string) bool {
	d, err := time.Parse(dayLayout, s)
	return err == nil && d.Format(dayLayout) == s
}

// handleBalances answers GET /sim/statements/{day}/balances: the opening and
// closing balance of the UTC day in every currency we ever moved money in up
// to that day, sorted by currency.
func (s *Server) handleBalances(w http.ResponseWriter, r *http.Request) {
	day := r.PathValue("day")
	channel := r.URL.Query().Get("channel")
	if channel == "" {
		channel = s.cfg.Channel
	}
	lineChannel, known := s.lineChannel(channel)
	if !known {
		writeError(w, http.StatusNotFound, ErrCodeNotFound, "no balances of channel "+channel)
		return
	}
	if !parseDay(day) {
		writeError(w, http.StatusNotFound, ErrCodeNotFound, "no balances of "+day+": the day must be YYYY-MM-DD")
		return
	}
	log := s.log.WithField("balances", day)
	rows, err := s.db.QueryContext(r.Context(), balancesSQL, day, day, lineChannel, day, lineChannel)
	if err != nil {
		writeInternal(w, log, fmt.Errorf("query balances: %w", err))
		return
	}
	defer rows.Close()
	out := []DayBalance{}
	for rows.Next() {
		var b DayBalance
		if err := rows.Scan(&b.Currency, &b.Opening, &b.Closing); err != nil {
			writeInternal(w, log, fmt.Errorf("scan balance: %w", err))
			return
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		writeInternal(w, log, fmt.Errorf("read balances: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// adjustRequest is POST /sim/balances/adjust: a booking of amount (signed minor
// units, positive adds to our balance) in currency on day, which no statement
// line lists. Each request books one more adjustment.
type adjustRequest struct {
	Day      string `json:"day"`
	Currency string `json:"currency"`
	Amount   int64  `json:"amount"`
}

func (q adjustRequest) validate() error {
	if !parseDay(q.Day) {
		return errors.New("day must be YYYY-MM-DD")
	}
	if err := validateCurrency(q.Currency); err != nil {
		return err
	}
	if q.Amount == 0 {
		return errors.New("amount must be a non-zero integer of minor units")
	}
	return nil
}

func (s *Server) handleAdjustBalance(w http.ResponseWriter, r *http.Request) {
	var req adjustRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeInvalid(w, err)
		return
	}
	if err := req.validate(); err != nil {
		writeInvalid(w, err)
		return
	}
	log := s.log.WithFields(logrus.Fields{"day": req.Day, "currency": req.Currency, "amount": req.Amount})
	err := s.inTx(r.Context(), func(tx *sql.Tx) error {
		_, err := tx.ExecContext(r.Context(), `INSERT INTO balance_adjustments (day, currency, amount) VALUES (?, ?, ?)`,
			req.Day, req.Currency, req.Amount)
		return err
	})
	if err != nil {
		writeInternal(w, log, fmt.Errorf("adjust balance: %w", err))
		return
	}
	log.Info("balance adjustment planted")
	writeJSON(w, http.StatusOK, req)
}
