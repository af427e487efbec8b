// Package profiling serves Go's pprof endpoints (/debug/pprof/...) on an address of
// their own, opt in (PAYFLOW_PPROF_ADDR, off by default), for the worker and the API:
// make bench captures their CPU profiles under load through it. It never shares the
// API's listener, so that a profile is never reachable by merchants.
package profiling

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/sirupsen/logrus"
	"go.uber.org/fx"
)

// Serve serves pprof on addr for the life of the process; "" or "off" serves nothing.
func Serve(addr string) fx.Option {
	if addr == "" || addr == "off" {
		return fx.Options()
	}
	return fx.Invoke(func(lc fx.Lifecycle, log *logrus.Entry) {
		srv := NewServer(addr, log.WithField("component", "pprof"))
		lc.Append(fx.StartStopHook(srv.Start, srv.Stop))
	})
}

// Server serves the pprof handlers on a private mux (never http.DefaultServeMux,
// which other code may serve by accident).
type Server struct {
	srv *http.Server
	log *logrus.Entry
	ln  net.Listener
}

// NewServer returns a pprof server on addr.
func NewServer(addr string, log *logrus.Entry) *Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &Server{
		// No WriteTimeout: a CPU profile streams for its whole ?seconds=.
		srv: &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		log: log,
	}
}

// Start listens (failing at once if the address is taken) and serves in the
// background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.WithError(err).Error("pprof server stopped")
		}
	}()
	s.log.WithField("addr", ln.Addr().String()).Info("pprof listening")
	return nil
}

// Addr is the address the server listens on, after Start.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Stop stops serving.
func (s *Server) Stop(ctx context.Context) error { return s.srv.Shutdown(ctx) }
