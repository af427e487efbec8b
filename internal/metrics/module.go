package metrics

import (
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/sideserver"
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

// NewServer returns a server of m's registry (/metrics) and /healthz on addr.
func NewServer(addr string, m *Metrics, log *logrus.Entry) *sideserver.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler(log))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	return sideserver.New("metrics", &http.Server{
		Addr: addr, Handler: mux,
		ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
	}, log)
}
