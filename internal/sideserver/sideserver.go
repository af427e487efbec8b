// Package sideserver runs the small HTTP servers a process keeps beside its main work
// (a worker's /metrics, the pprof listener): it listens at start, failing at once when
// the address is taken so that a second process configured with the same address says
// so, serves in the background, and shuts down at stop.
package sideserver

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/sirupsen/logrus"
)

// Server is one such server.
type Server struct {
	name string
	srv  *http.Server
	log  *logrus.Entry
	ln   net.Listener
}

// New returns a server of srv (its Addr, handler and timeouts) named name in its logs.
func New(name string, srv *http.Server, log *logrus.Entry) *Server {
	return &Server{name: name, srv: srv, log: log}
}

// Start listens and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return err
	}
	s.ln = ln
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.WithError(err).Error(s.name + " server stopped")
		}
	}()
	s.log.WithField("addr", ln.Addr().String()).Info(s.name + " listening")
	return nil
}

// Addr is the address the server listens on, after Start.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Stop stops serving.
func (s *Server) Stop(ctx context.Context) error { return s.srv.Shutdown(ctx) }
