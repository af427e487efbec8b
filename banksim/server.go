package banksim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Server is the bank simulator: its HTTP API, its store and its background
// worker.
type Server struct {
	cfg    Config
	log    *logrus.Entry
	db     *sql.DB
	mux    *http.ServeMux
	client *http.Client
	faults atomic.Pointer[Faults]

	// The fund company's faults and clock offset in days (also stored).
	fundFaults atomic.Pointer[FundFaults]
	fundOffset atomic.Int64

	// writeMu serialises this process's write transactions (see inTx).
	writeMu sync.Mutex

	// Timing, replaceable by tests of this package.
	now       func() time.Time
	retryBase time.Duration
	retryMax  time.Duration
	giveUp    time.Duration
	hangLimit time.Duration
	// confirmDelay is when a payment code ending in 1 is confirmed.
	confirmDelay time.Duration

	// wakeComplete and wakeDeliver wake the background loops early.
	wakeComplete chan struct{}
	wakeDeliver  chan struct{}
	stopping     chan struct{} // closed once, by stop
	stopOnce     sync.Once
	startOnce    sync.Once
	closeOnce    sync.Once
	closeErr     error
	wg           sync.WaitGroup
}

// New opens (creating and migrating when needed) the store at cfg.DBPath and
// returns a server; call Start to run its background work.
func New(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	db, err := openDB(context.Background(), cfg.DBPath)
	if err != nil {
		return nil, fmt.Errorf("banksim: %w", err)
	}
	s := &Server{
		cfg:          cfg,
		log:          cfg.Logger,
		db:           db,
		client:       &http.Client{Timeout: callbackTimeout},
		now:          time.Now,
		retryBase:    callbackRetryBase,
		retryMax:     callbackRetryMax,
		giveUp:       callbackGiveUp,
		hangLimit:    hangLimit,
		confirmDelay: cfg.ConfirmDelay,
		wakeComplete: make(chan struct{}, 1),
		wakeDeliver:  make(chan struct{}, 1),
		stopping:     make(chan struct{}),
	}
	f := DefaultFaults()
	s.faults.Store(&f)
	ff := DefaultFundFaults()
	s.fundFaults.Store(&ff)
	if err := s.loadFundClock(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("banksim: %w", err)
	}
	s.mux = s.routes()
	if err := s.seedCardholders(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("banksim: seed cardholders: %w", err)
	}
	return s, nil
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/charges", s.channel(s.handleCharge))
	mux.HandleFunc("POST /v1/refunds", s.channel(s.handleRefund))
	mux.HandleFunc("POST /v1/payouts", s.channel(s.handlePayout))
	mux.HandleFunc("GET /v1/transfers/{reference}", s.channel(s.handleGetTransfer))
	mux.HandleFunc("POST /v1/transfers/{reference}/cancel", s.channel(s.handleCancel))

	s.walletRoutes(mux)

	mux.HandleFunc("POST /v1/verifications", s.channel(s.handleVerify))
	mux.HandleFunc("POST /v1/card_bindings", s.channel(s.handleStartBinding))
	mux.HandleFunc("GET /v1/card_bindings/{request_id}", s.channel(s.handleGetBinding))
	mux.HandleFunc("POST /v1/card_bindings/{request_id}/confirm", s.channel(s.handleConfirmBinding))
	mux.HandleFunc("POST /v1/card_bindings/{request_id}/resend", s.channel(s.handleResendBinding))
	mux.HandleFunc("DELETE /v1/card_bindings/{request_id}", s.channel(s.handleRemoveBinding))
	mux.HandleFunc("POST /v1/card_bindings/{request_id}/unbind", s.channel(s.handleRemoveBinding))
	mux.HandleFunc("POST /v1/credit_queries", s.bureau(s.handleCreateCreditQuery))
	mux.HandleFunc("GET /v1/credit_queries/{request_id}", s.bureau(s.handleGetCreditQuery))

	s.fundRoutes(mux)

	mux.HandleFunc("GET /sim/executions", s.handleExecutions)
	mux.HandleFunc("GET /sim/faults", s.handleGetFaults)
	mux.HandleFunc("POST /sim/faults", s.handleSetFaults)
	mux.HandleFunc("GET /sim/accounts", s.handleAccounts)
	mux.HandleFunc("GET /sim/statements/{file}", s.handleStatement)
	mux.HandleFunc("GET /sim/statements/{day}/balances", s.handleBalances)
	mux.HandleFunc("POST /sim/balances/adjust", s.handleAdjustBalance)
	mux.HandleFunc("POST /sim/statement/inject", s.handleInject)
	mux.HandleFunc("POST /sim/statement/alter", s.handleAlter)
	mux.HandleFunc("POST /sim/cardholders", s.handleAddCardholder)
	mux.HandleFunc("GET /sim/sms", s.handleSMS)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	// Anything else answers a JSON 404 that can never be mistaken for the
	// transfer query's exact not_found.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, ErrCodeNoRoute, r.Method+" "+r.URL.Path+" is not a route")
	})
	return mux
}

// Handler returns the HTTP handler of every route.
func (s *Server) Handler() http.Handler { return s.mux }

// stop releases held requests and the worker; it is idempotent.
func (s *Server) stop() { s.stopOnce.Do(func() { close(s.stopping) }) }

// Close stops the background work, waits for it and closes the store.
// Pending work stays in the store for the next New on the same file.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		s.wg.Wait()
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("banksim: close store: %w", err)
		}
	})
	return s.closeErr
}

// shutdownGrace bounds how long ListenAndServe waits for requests in flight.
const shutdownGrace = 10 * time.Second

// ListenAndServe starts the background work and serves on cfg.Addr until ctx
// ends, then shuts down gracefully. It does not Close the store.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("banksim: listen on %s: %w", s.cfg.Addr, err)
	}
	s.Start(ctx)
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.WithField("addr", ln.Addr().String()).Info("bank simulator listening")
	select {
	case err := <-errc:
		return fmt.Errorf("banksim: serve on %s: %w", s.cfg.Addr, err)
	case <-ctx.Done():
	}
	s.stop() // release held *_timeout_success requests so shutdown can finish
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("banksim: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("banksim: serve on %s: %w", s.cfg.Addr, err)
	}
	s.log.Info("bank simulator stopped")
	return nil
}
