// Package server assembles payflow's HTTP API: the gin engine with its middleware,
// the merchant, ops and callback routes, health and readiness, and the HTTP server's
// lifecycle.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/api"
	"github.com/payflow/payflow/http/callbacks"
	"github.com/payflow/payflow/http/codec"
	"github.com/payflow/payflow/http/hosted"
	"github.com/payflow/payflow/http/merchant"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/http/ops"
	"github.com/payflow/payflow/http/problem"
	"github.com/payflow/payflow/internal/store"
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
	// Hosted serves the customers' public pages (a QR payment's /q/{token}); nil
	// serves none.
	Hosted    *hosted.Handler
	Merchants middleware.Merchants
	// RateLimit is each merchant's request budget (the zero value is no limit).
	RateLimit store.TokenBucket
	OpsTokens []string
	// OpsGuard limits and audits failed ops-token attempts per client address, on the
	// ops API and /codec (nil: neither).
	OpsGuard *middleware.OpsGuard
	// TrustedProxies are the proxies (addresses or CIDRs) whose X-Forwarded-For and
	// X-Real-IP name the client; none by default: the client is the connection's peer,
	// so that no client can name itself another address.
	TrustedProxies []string
	Checkers       []Checker
	Tolerance      time.Duration
	Now            func() time.Time
	Log            *logrus.Entry
	// Codec serves the Temporal codec endpoints under /codec; nil serves none.
	Codec *codec.Handler
	// Metrics serves /metrics; nil serves none.
	Metrics http.Handler
	// Requests observes every request (payflow_http_requests_total); nil observes
	// none.
	Requests middleware.RequestObserver
}

// NewRouter builds the engine of one listener that serves everything: the merchant
// API, the ops API, /codec and /metrics (PAYFLOW_OPS_ADDR unset).
func NewRouter(d Deps) *gin.Engine { return newRouter(d, true, true) }

// NewMerchantRouter builds the engine of the merchant listener when the operators
// have their own (PAYFLOW_OPS_ADDR): the merchant API, the bank callbacks, health and
// readiness; /v1/ops/*, /codec and /metrics answer 404 there.
func NewMerchantRouter(d Deps) *gin.Engine { return newRouter(d, true, false) }

// NewOpsRouter builds the engine of the operators' listener: the ops API, /codec,
// /metrics, health and readiness.
func NewOpsRouter(d Deps) *gin.Engine { return newRouter(d, false, true) }

func newRouter(d Deps, merchants, operators bool) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	// The client's address (ClientIP: the ops-token budget, the audit log) is the
	// connection's peer unless it is a trusted proxy.
	if err := r.SetTrustedProxies(d.TrustedProxies); err != nil {
		panic(fmt.Sprintf("trusted proxies: %v", err))
	}
	r.Use(middleware.RequestID(), middleware.AccessLog(d.Log), middleware.Recover(d.Log), middleware.LimitQuery(middleware.MaxQueryBytes),
		middleware.LiteralRoute())
	if d.Requests != nil {
		r.Use(middleware.Metrics(d.Requests))
	}
	r.NoRoute(func(c *gin.Context) { problem.Write(c, problem.NotFound("no such endpoint")) })
	r.NoMethod(func(c *gin.Context) {
		problem.Write(c, problem.New(http.StatusMethodNotAllowed, problem.CodeMethodNotAllowed, "this method is not allowed here"))
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", api.OpenAPI) })
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

	if operators && d.Metrics != nil {
		// Unauthenticated like /healthz: counts and latencies, no amounts, ids or
		// secrets. With PAYFLOW_OPS_ADDR it is served on the operators' listener only.
		r.GET("/metrics", gin.WrapH(d.Metrics))
	}
	if operators && d.Codec != nil {
		d.Codec.Register(r.Group("/codec"))
	}

	if merchants && d.Hosted != nil {
		d.Hosted.Register(r)
	}
	if merchants && d.Callbacks != nil {
		cb := r.Group("/", middleware.ReadBody())
		d.Callbacks.Register(cb)
	}
	v1 := r.Group("/v1")
	if operators && d.Ops != nil {
		og := v1.Group("/ops", middleware.OpsAuth(d.OpsTokens, d.OpsGuard, d.Log), middleware.ReadBody(), middleware.RequireJSON())
		d.Ops.Register(og)
	}
	if merchants {
		mg := v1.Group("", middleware.ReadBody(), middleware.SignatureAuth(d.Merchants, d.RateLimit, d.Tolerance, d.Now, d.Log), middleware.RequireJSON())
		d.Merchant.Register(mg)
	}
	return r
}

// Server is the HTTP server of the API process.
type Server struct {
	srv  *http.Server
	log  *logrus.Entry
	addr string
}

// Limits bound what one client can hold of the server: the time to send its headers
// (slowloris), its body and the whole request, the time a handler may take, idle
// keep-alive connections, and the size of the request line and headers.
type Limits struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	// HandlerTimeout answers 503 timeout to a request whose handler runs longer
	// (its context is canceled, so that the work stops too).
	HandlerTimeout time.Duration
	WriteTimeout   time.Duration
	IdleTimeout    time.Duration
	// MaxHeaderBytes bounds the request line and headers; over it, net/http answers
	// 431 Request Header Fields Too Large before any handler runs.
	MaxHeaderBytes int
}

// DefaultLimits are the API's limits.
var DefaultLimits = Limits{
	ReadHeaderTimeout: 5 * time.Second,
	ReadTimeout:       30 * time.Second,
	HandlerTimeout:    30 * time.Second,
	WriteTimeout:      35 * time.Second,
	IdleTimeout:       120 * time.Second,
	MaxHeaderBytes:    32 << 10,
}

// timeoutBody is the problem of a request that took longer than HandlerTimeout.
var timeoutBody = func() string {
	b, _ := json.Marshal(problem.New(http.StatusServiceUnavailable, problem.CodeTimeout, "the request took too long; retry with the same Idempotency-Key"))
	return string(b)
}()

// New returns a server for the handler on addr with DefaultLimits.
func New(addr string, h http.Handler, log *logrus.Entry) *Server {
	return NewWithLimits(addr, h, log, DefaultLimits)
}

// NewWithLimits returns a server for the handler on addr with the given limits.
func NewWithLimits(addr string, h http.Handler, log *logrus.Entry, l Limits) *Server {
	return &Server{
		srv: &http.Server{
			Addr:              addr,
			Handler:           TimeoutHandler(h, l.HandlerTimeout),
			ReadHeaderTimeout: l.ReadHeaderTimeout,
			ReadTimeout:       l.ReadTimeout,
			WriteTimeout:      l.WriteTimeout,
			IdleTimeout:       l.IdleTimeout,
			MaxHeaderBytes:    l.MaxHeaderBytes,
		},
		log: log,
	}
}

// TimeoutHandler is http.TimeoutHandler answering a problem: 503 timeout, as
// application/problem+json with Retry-After, instead of its text/plain body. A
// streamed download (Streamed) is left out: http.TimeoutHandler buffers the whole
// response until the handler returns, and such a handler bounds its own time page
// by page.
func TimeoutHandler(h http.Handler, d time.Duration) http.Handler {
	th := http.TimeoutHandler(h, d, timeoutBody)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if Streamed(r) {
			h.ServeHTTP(w, r)
			return
		}
		th.ServeHTTP(timeoutWriter{w}, r)
	})
}

// Streamed reports whether r asks for a response written as it is read: the ops
// API's CSV downloads (GET /v1/ops/....csv), which move their write deadline on
// with every page.
func Streamed(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/ops/") && strings.HasSuffix(r.URL.Path, ".csv")
}

// timeoutWriter gives http.TimeoutHandler's own 503 its problem headers. A handler's
// response is copied with the handler's headers (it always sets its Content-Type), so
// it is left as it is.
type timeoutWriter struct{ http.ResponseWriter }

func (w timeoutWriter) WriteHeader(code int) {
	h := w.Header()
	if code == http.StatusServiceUnavailable && h.Get("Content-Type") == "" {
		h.Set("Content-Type", problem.ContentType)
		h.Set("Retry-After", "1")
	}
	w.ResponseWriter.WriteHeader(code)
}

// Start listens (failing at once if the address is taken) and serves in the
// background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return err
	}
	s.addr = ln.Addr().String()
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.WithError(err).Error("http server stopped")
		}
	}()
	s.log.WithField("addr", s.srv.Addr).Info("API listening")
	return nil
}

// Addr is the address the server listens on, once started (the port chosen when the
// configured one is 0).
func (s *Server) Addr() string { return s.addr }

// Stop drains in-flight requests.
func (s *Server) Stop(ctx context.Context) error { return s.srv.Shutdown(ctx) }
