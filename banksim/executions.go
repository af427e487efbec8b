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

// handleExecutions answers how many times the bank acted on a reference:
// never more than 1 when idempotency holds, 0 when never executed.
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
