package banksim

import (
	"errors"
	"fmt"
	"net/http"
)

// executionsResponse is GET /sim/executions.
type executionsResponse struct {
	Reference string `json:"reference"`
	Count     int64  `json:"count"`
}

// handleExecutions answers how many times the bank accepted a reference for
// execution: never more than 1 when idempotency holds, 0 when never accepted.
// A processing transfer that was then canceled counts (it was accepted, and
// a second acceptance would still be a double execution); a tombstone, the
// cancel of a reference never seen, does not. Whether money moved is the
// transfer's status: only a succeeded transfer moved any.
func (s *Server) handleExecutions(w http.ResponseWriter, r *http.Request) {
	ref := r.URL.Query().Get("reference")
	if ref == "" {
		writeInvalid(w, errors.New("query parameter reference is required"))
		return
	}
	var n int64
	if err := s.db.QueryRowContext(r.Context(), `SELECT COUNT(*) FROM executions WHERE reference = ?`, ref).Scan(&n); err != nil {
		writeInternal(w, s.log.WithField("reference", ref), fmt.Errorf("count executions: %w", err))
		return
	}
	writeJSON(w, http.StatusOK, executionsResponse{Reference: ref, Count: n})
}
