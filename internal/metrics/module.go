package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"
	"go.uber.org/fx"
)

// Module provides the process's Metrics and, over it, the Temporal SDK's
// MetricsHandler (which temporalx gives to the client).
var Module = fx.Module("metrics",
	fx.Provide(
		New,
		func(m *Metrics) client.MetricsHandler { return m.Temporal() },
	),
)

// Serve serves /metrics (and /healthz, for a liveness probe) on addr of its own for
// the life of the process: the worker's, which has no HTTP API. "off" or "" serves
// nothing.
func Serve(addr string) fx.Option {
	if addr == "" || addr == "off" {
		return fx.Options()
	}
	return fx.Invoke(func(lc fx.Lifecycle, m *Metrics, log *logrus.Entry) {
		srv := NewServer(addr, m, log.WithField("component", "metrics"))
		lc.Append(fx.StartStopHook(srv.Start, srv.Stop))
	})
}

// Server is a small HTTP server of /metrics and /healthz.
type Server struct {
	srv *http.Server
	log *logrus.Entry
	ln  net.Listener
}

// NewServer returns a server of m's registry on addr.
func NewServer(addr string, m *Metrics, log *logrus.Entry) *Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler(log))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	return &Server{
		srv: &http.Server{
			Addr: addr, Handler: mux,
			ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
		},
		log: log,
	}
}

// Start listens (failing at once if the address is taken, so that a second worker
// on one machine with the same address says so) and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.WithError(err).Error("metrics server stopped")
		}
	}()
	s.log.WithField("addr", ln.Addr().String()).Info("metrics listening")
	return nil
}

// Addr is the address the server listens on, after Start.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Stop stops serving.
func (s *Server) Stop(ctx context.Context) error { return s.srv.Shutdown(ctx) }
