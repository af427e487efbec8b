package banksim

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
)

// Faults are the failure knobs of the channel API (/v1/...). They never
// apply to the admin routes, and they live in memory: a restart resets them.
type Faults struct {
	// Down answers every channel request 503 bank_unavailable, executing nothing.
	Down bool `json:"down"`
	// ErrorRate is the fraction (0..1) of channel requests answered 503
	// bank_unavailable, executing nothing.
	ErrorRate float64 `json:"error_rate"`
	// LatencyMS is added before each channel request is handled.
	LatencyMS int64 `json:"latency_ms"`
	// ProcessingMS is how long a new processing transfer takes to complete.
	ProcessingMS int64 `json:"processing_ms"`
	// CallbackDelayMS is how long after completion its callback is first sent.
	CallbackDelayMS int64 `json:"callback_delay_ms"`
	// DuplicateCallbacks sends every callback of a new processing transfer
	// twice, then a stale "processing" callback after the final one.
	DuplicateCallbacks bool `json:"duplicate_callbacks"`
	// RefuseCancel answers 409 not_cancelable to a cancel of a processing or
	// never-seen reference, as a bank that can no longer stop a transfer on
	// its way; a final transfer still answers its final state.
	RefuseCancel bool `json:"refuse_cancel"`
	// BureauDown answers every credit bureau request 503 bank_unavailable,
	// while the bank's other services keep working.
	BureauDown bool `json:"bureau_down"`
	// BureauDelayMS is how long the bureau takes to prepare a new report.
	BureauDelayMS int64 `json:"bureau_delay_ms"`
}

// DefaultFaults are the faults of a fresh server: none, and processing
// transfers completing after two seconds, credit reports after three.
func DefaultFaults() Faults {
	return Faults{ProcessingMS: defaultProcessing.Milliseconds(), BureauDelayMS: defaultBureauDelay.Milliseconds()}
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults { return *s.faults.Load() }

// SetFaults replaces the faults in force.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.faults.Store(&f)
	return nil
}

func (f Faults) validate() error {
	switch {
	case !(f.ErrorRate >= 0 && f.ErrorRate <= 1):
		return errors.New("error_rate must be between 0 and 1")
	case f.LatencyMS < 0, f.ProcessingMS < 0, f.CallbackDelayMS < 0, f.BureauDelayMS < 0:
		return errors.New("latency_ms, processing_ms, callback_delay_ms and bureau_delay_ms must not be negative")
	}
	return nil
}

// faultsRequest is POST /sim/faults: the given fields are set, every other
// field takes its default (so {} resets everything).
type faultsRequest struct {
	Down               *bool    `json:"down"`
	ErrorRate          *float64 `json:"error_rate"`
	LatencyMS          *int64   `json:"latency_ms"`
	ProcessingMS       *int64   `json:"processing_ms"`
	CallbackDelayMS    *int64   `json:"callback_delay_ms"`
	DuplicateCallbacks *bool    `json:"duplicate_callbacks"`
	RefuseCancel       *bool    `json:"refuse_cancel"`
	BureauDown         *bool    `json:"bureau_down"`
	BureauDelayMS      *int64   `json:"bureau_delay_ms"`
}

func (q faultsRequest) faults() Faults {
	f := DefaultFaults()
	setGiven(&f.Down, q.Down)
	setGiven(&f.ErrorRate, q.ErrorRate)
	setGiven(&f.LatencyMS, q.LatencyMS)
	setGiven(&f.ProcessingMS, q.ProcessingMS)
	setGiven(&f.CallbackDelayMS, q.CallbackDelayMS)
	setGiven(&f.DuplicateCallbacks, q.DuplicateCallbacks)
	setGiven(&f.RefuseCancel, q.RefuseCancel)
	setGiven(&f.BureauDown, q.BureauDown)
	setGiven(&f.BureauDelayMS, q.BureauDelayMS)
	return f
}

// setGiven sets *dst to *v when the request gave v.
func setGiven[T any](dst, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (s *Server) handleGetFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) handleSetFaults(w http.ResponseWriter, r *http.Request) {
	var req faultsRequest
	// No body at all resets, like {}.
	if err := decodeJSON(w, r, &req); err != nil && !errors.Is(err, errEmptyBody) {
		writeInvalid(w, err)
		return
	}
	f := req.faults()
	if err := s.SetFaults(f); err != nil {
		writeInvalid(w, err)
		return
	}
	s.log.WithFields(logrus.Fields{
		"down": f.Down, "error_rate": f.ErrorRate, "latency_ms": f.LatencyMS, "processing_ms": f.ProcessingMS,
		"callback_delay_ms": f.CallbackDelayMS, "duplicate_callbacks": f.DuplicateCallbacks,
		"refuse_cancel": f.RefuseCancel, "bureau_down": f.BureauDown, "bureau_delay_ms": f.BureauDelayMS,
	}).Info("faults set")
	writeJSON(w, http.StatusOK, f)
}

// channel wraps a channel API handler with the faults: latency first, then
// refusals. A refusal happens before the handler reads the request, so it
// never executes anything.
func (s *Server) channel(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f := s.Faults()
		if f.LatencyMS > 0 && !s.sleep(r.Context(), time.Duration(f.LatencyMS)*time.Millisecond) {
			// The client is gone or the server is stopping: refuse.
			writeUnavailable(w)
			return
		}
		if f.Down || (f.ErrorRate > 0 && rand.Float64() < f.ErrorRate) {
			writeUnavailable(w)
			return
		}
		h(w, r)
	}
}

// sleep waits d; false means ctx ended or the server is stopping first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.stopping:
		return false
	}
}
