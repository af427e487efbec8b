package banksim

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"
)

// alterRequest is POST /sim/statement/alter: how the statement should
// misreport an executed reference. Omitted fields keep earlier alterations.
type alterRequest struct {
	Reference string  `json:"reference"`
	Amount    *int64  `json:"amount"`
	Status    *string `json:"status"`
	Remove    *bool   `json:"remove"`
}

// Alteration is how the statement reports an executed reference differently
// from what happened; nil fields report the truth.
type Alteration struct {
	Reference string  `json:"reference"`
	Amount    *int64  `json:"amount,omitempty"`
	Status    *string `json:"status,omitempty"`
	Removed   bool    `json:"removed"`
}

// errUnknownReference is the alteration of a reference never executed.
var errUnknownReference = errors.New("unknown reference")

func (s *Server) handleAlter(w http.ResponseWriter, r *http.Request) {
	var req alterRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeInvalid(w, err)
		return
	}
	if req.Reference == "" {
		writeInvalid(w, errors.New("reference is required"))
		return
	}
	if req.Amount == nil && req.Status == nil && req.Remove == nil {
		writeInvalid(w, errors.New("give at least one of amount, status and remove"))
		return
	}
	log := s.log.WithField("reference", req.Reference)
	var alt Alteration
	err := s.inTx(r.Context(), func(tx *sql.Tx) error {
		if _, found, err := getTransfer(r.Context(), tx, req.Reference); err != nil {
			return err
		} else if !found {
			// A wallet provider's movement (a trade, refund or reversal) is
			// known by its statement line.
			var n int
			if err := tx.QueryRowContext(r.Context(), `SELECT COUNT(*) FROM statement_lines
				WHERE reference = ? AND injected = 0 AND channel <> ''`, req.Reference).Scan(&n); err != nil {
				return fmt.Errorf("look up wallet line: %w", err)
			}
			if n == 0 {
				return errUnknownReference
			}
		}
		var amount sql.NullInt64
		var status sql.NullString
		alt = Alteration{Reference: req.Reference}
		err := tx.QueryRowContext(r.Context(), `SELECT amount, status, removed FROM statement_alterations WHERE reference = ?`,
			req.Reference).Scan(&amount, &status, &alt.Removed)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read alteration: %w", err)
		}
		if amount.Valid {
			alt.Amount = &amount.Int64
		}
		if status.Valid {
			alt.Status = &status.String
		}
		if req.Amount != nil {
			alt.Amount = req.Amount
		}
		if req.Status != nil {
			alt.Status = req.Status
		}
		if req.Remove != nil {
			alt.Removed = *req.Remove
		}
		_, err = tx.ExecContext(r.Context(), `INSERT INTO statement_alterations (reference, amount, status, removed)
			VALUES (?, ?, ?, ?) ON CONFLICT (reference) DO UPDATE
			SET amount = excluded.amount, status = excluded.status, removed = excluded.removed`,
			alt.Reference, alt.Amount, alt.Status, alt.Removed)
		if err != nil {
			return fmt.Errorf("write alteration: %w", err)
		}
		return nil
	})
	switch {
	case errors.Is(err, errUnknownReference):
		writeError(w, http.StatusNotFound, ErrCodeNotFound, "the bank never executed this reference")
	case err != nil:
		writeInternal(w, log, fmt.Errorf("alter statement: %w", err))
	default:
		log.WithField("removed", alt.Removed).Info("statement alteration planted")
		writeJSON(w, http.StatusOK, alt)
	}
}
