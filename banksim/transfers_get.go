package banksim

import (
	"net/http"
)

// handleGetTransfer answers GET /v1/transfers/{reference}. Its 404 is exact:
// it means the bank never executed the reference, which the caller uses to
// decide that sending the request again is safe. A reference canceled before
// the bank saw it answers its canceled tombstone, never 404.
func (s *Server) handleGetTransfer(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("reference")
	log := s.log.WithField("reference", ref)
	if validateReference("reference", ref) != nil {
		// A reference the bank would have refused was never executed.
		writeError(w, http.StatusNotFound, ErrCodeNotFound, "")
		return
	}
	t, found, err := getTransfer(r.Context(), s.db, ref)
	if err != nil {
		writeInternal(w, log, err)
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, ErrCodeNotFound, "")
		return
	}
	writeJSON(w, http.StatusOK, t.Transfer)
}
