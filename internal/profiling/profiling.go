// Package profiling serves Go's pprof endpoints (/debug/pprof/...) on an address of
// their own, opt in (PAYFLOW_PPROF_ADDR, off by default), for the worker and the API:
// make bench captures their CPU profiles under load through it. It never shares the
// API's listener, so that a profile is never reachable by merchants.
package profiling

import (
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/sirupsen/logrus"
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/sideserver"
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

// NewServer returns a pprof server on addr, on a private mux (never
// http.DefaultServeMux, which other code may serve by accident).
func NewServer(addr string, log *logrus.Entry) *sideserver.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No WriteTimeout: a CPU profile streams for its whole ?seconds=.
	return sideserver.New("pprof", &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}, log)
}
