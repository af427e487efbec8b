// Package server assembles payflow's HTTP API: the gin engine with its middleware,
// the merchant, ops and callback routes, health and readiness, and the HTTP server's
// lifecycle.
package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/callbacks"
	"github.com/payflow/payflow/http/codec"
	"github.com/payflow/payflow/http/merchant"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/ops"
	"github.com/payflow/payflow/http/problem"
)

// Checker is a readiness dependency (the database, Temporal).
type Checker interface {
	Name() string
	Check(ctx context.Context) error
}

// Deps is everything the router serves.
type Deps struct {
	Merchant  *merchant.Handler
	Ops       *ops.Handler
	Callbacks *callbacks.Handler
	Merchants middleware.Merchants
	OpsTokens []string
	Checkers  []Checker
	Tolerance time.Duration
	Now       func() time.Time
	Log       *logrus.Entry
	// Codec serves the Temporal codec endpoints under /codec; nil serves none.
	Codec *codec.Handler
	// Metrics serves /metrics; nil serves none.
	Metrics http.Handler
	// Requests observes every request (payflow_http_requests_total); nil observes
	// none.
	Requests middleware.RequestObserver
}

// NewRouter builds the engine.
func NewRouter(d Deps) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(middleware.RequestID(), middleware.AccessLog(d.Log), middleware.Recover(d.Log))
	if d.Requests != nil {
		r.Use(middleware.Metrics(d.Requests))
	}
	r.NoRoute(func(c *gin.Context) { problem.Write(c, problem.NotFound("no such endpoint")) })
	r.NoMethod(func(c *gin.Context) {
		problem.Write(c, problem.New(http.StatusMethodNotAllowed, problem.CodeMethodNotAllowed, "this method is not allowed here"))
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
		defer cancel()
		checks := gin.H{}
		ready := true
		for _, ch := range d.Checkers {
			if err := ch.Check(ctx); err != nil {
				checks[ch.Name()] = "unavailable"
				ready = false
				d.Log.WithError(err).WithField("dependency", ch.Name()).Warn("not ready")
			} else {
				checks[ch.Name()] = "ok"
			}
		}
		if !ready {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "checks": checks})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ok", "checks": checks})
	})

	if d.Metrics != nil {
		// Public like /healthz: counts and latencies, no amounts, ids or secrets.
		// Deployments keep it off the merchant-facing ingress.
		r.GET("/metrics", gin.WrapH(d.Metrics))
	}
	if d.Codec != nil {
		d.Codec.Register(r.Group("/codec"))
	}

	if d.Callbacks != nil {
		cb := r.Group("/", middleware.ReadBody())
		d.Callbacks.Register(cb)
	}
	v1 := r.Group("/v1")
	if d.Ops != nil {
		og := v1.Group("/ops", middleware.OpsAuth(d.OpsTokens, d.Log), middleware.ReadBody())
		d.Ops.Register(og)
	}
	mg := v1.Group("", middleware.ReadBody(), middleware.SignatureAuth(d.Merchants, d.Tolerance, d.Now, d.Log))
	d.Merchant.Register(mg)
	return r
}

// Server is the HTTP server of the API process.
type Server struct {
	srv *http.Server
	log *logrus.Entry
}

// New returns a server for the handler on addr, with timeouts that bound slow
// clients and header sizes.
func New(addr string, h http.Handler, log *logrus.Entry) *Server {
	return &Server{
		srv: &http.Server{
			Addr:              addr,
			Handler:           http.TimeoutHandler(h, 30*time.Second, `{"type":"https://payflow.dev/problems/timeout","title":"Service Unavailable","status":503,"code":"timeout","detail":"the request took too long"}`),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      35 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    32 << 10,
		},
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
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.WithError(err).Error("http server stopped")
		}
	}()
	s.log.WithField("addr", s.srv.Addr).Info("API listening")
	return nil
}

// Stop drains in-flight requests.
func (s *Server) Stop(ctx context.Context) error { return s.srv.Shutdown(ctx) }
