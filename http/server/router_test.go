package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	apispec "github.com/payflow/payflow/api"
	"github.com/payflow/payflow/http/callbacks"
	"github.com/payflow/payflow/http/internal/apitest"
	"github.com/payflow/payflow/http/merchant"
	"github.com/payflow/payflow/http/ops"
	"github.com/payflow/payflow/http/server"
	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/contract"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/merchants"
	"github.com/payflow/payflow/internal/secretbox"
	"github.com/payflow/payflow/internal/signing"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
	"github.com/payflow/payflow/workflows"
)

// fakeStarter records the flows the API starts instead of running them.
type fakeStarter struct {
	mu     sync.Mutex
	starts []models.PaymentInput
	fail   bool
	// Reconciliation starts, each fresh or not (reconciliations_test.go).
	reconciliations []bool
	// Event redeliveries (events_test.go).
	redeliveries    []models.WebhookDeliveryInput
	deliveryRunning bool
	// Bank callback signals (callbacks_test.go); signalErr, when set, is returned
	// instead of recording one.
	signals   []signal
	signalErr error
	// Bureau callback signals, by workflow id (callbacks_test.go); also refused
	// with signalErr.
	bureauSignals []string
	// await, when set, answers AwaitFlow (Prefer: wait); otherwise no flow closes
	// within a wait.
	await func(ctx context.Context, workflowID string) (bool, error)
	// The identity objects whose flows were started (identity_test.go).
	identityStarts []string
	// Fund orders started and fund callbacks signalled (fund_test.go).
	fundStarts  []models.FundOrderInput
	fundSignals []string
}

// AwaitFlow waits as f.await says, or until ctx ends.
func (f *fakeStarter) AwaitFlow(ctx context.Context, workflowID string) (bool, error) {
	f.mu.Lock()
	await := f.await
	f.mu.Unlock()
	if await != nil {
		return await(ctx, workflowID)
	}
	<-ctx.Done()
	return false, nil
}

// signal is one bank callback delivered to a flow.
type signal struct {
	workflowID string
	cb         models.BankCallback
}

// start records a flow's start under f's lock, or fails as a Temporal that is down
// when f.fail is set.
func (f *fakeStarter) start(record func()) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return fmt.Errorf("temporal down")
	}
	record()
	return nil
}

func (f *fakeStarter) StartPayment(_ context.Context, in models.PaymentInput) error {
	return f.start(func() { f.starts = append(f.starts, in) })
}

func (f *fakeStarter) StartTopup(context.Context, models.TopupInput) error { return nil }

// OpenQR: the router's tests run no QR payment's flow.
func (f *fakeStarter) OpenQR(context.Context, string, models.OpenQR) (models.OpenedQR, error) {
	return models.OpenedQR{}, starter.ErrUpdateRejected
}

// ConfirmPayment: the router's tests run no flow that waits for a confirmation.
func (f *fakeStarter) ConfirmPayment(context.Context, string, models.ConfirmPayment) error {
	return starter.ErrUpdateRejected
}

func (f *fakeStarter) StartWithdrawal(context.Context, models.WithdrawalInput) error { return nil }

func (f *fakeStarter) StartRefund(context.Context, models.RefundInput) error { return nil }

func (f *fakeStarter) count(id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.starts {
		if s.PaymentID == id {
			n++
		}
	}
	return n
}

func (f *fakeStarter) SignalBankCallback(_ context.Context, workflowID string, cb models.BankCallback) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.signalErr != nil {
		return f.signalErr
	}
	f.signals = append(f.signals, signal{workflowID: workflowID, cb: cb})
	return nil
}

func (f *fakeStarter) SignalBureauCallback(_ context.Context, merchantID, reportID string) error {
	workflowID := workflows.FlowWorkflowID(models.FlowCreditReport, merchantID, reportID)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.signalErr != nil {
		return f.signalErr
	}
	f.bureauSignals = append(f.bureauSignals, workflowID)
	return nil
}

// signalled returns the bank callbacks delivered so far.
func (f *fakeStarter) signalled() []signal { return recorded(f, &f.signals) }

// recorded returns a copy of the records s of f, read under f's lock.
func recorded[T any](f *fakeStarter, s *[]T) []T {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]T(nil), *s...)
}

type api struct {
	srv     *httptest.Server
	router  *gin.Engine
	db      *store.DB
	store   *store.Store
	ledger  *ledger.Ledger
	starter *fakeStarter
	// c is the demo merchant's client; http sends raw requests. Both validate every
	// exchange against api/openapi.yaml (v), and the test fails on any that does not.
	c    *client.Client
	http *http.Client
	v    *contract.Validator
	now  time.Time
	log  *lockedWriter
}

const secret = "demo_secret_change_me"

// The callback secrets of the test API's banksim and stripe channels.
const (
	banksimSecret       = "cbsecret"
	stripeWebhookSecret = "whsec_test_0123456789"
)

// newAPI serves the real router over a fresh database of backend b, with the demo
// merchant, another merchant (mch_other), a fake starter and no rate limit unless an
// option sets one.
func newAPI(t testing.TB, b testenv.Backend, opts ...func(*server.Deps)) *api {
	t.Helper()
	db := testenv.Open(t, b)
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	st := store.New(db, box)
	l := ledger.New(db)
	svc := &merchants.Service{Store: st, Ledger: l}
	_, err = svc.SeedDemo(context.Background(), merchants.Demo{ID: "mch_demo", Secret: secret})
	require.NoError(t, err)
	require.NoError(t, svc.Create(context.Background(), models.Merchant{ID: "mch_other", Name: "Other", DefaultCurrency: "CNY"}, "other_secret", ""))

	logs := &lockedWriter{w: &bytes.Buffer{}}
	log := logrus.New()
	log.SetOutput(logs)
	entry := logrus.NewEntry(log)
	fs := &fakeStarter{}
	a := &api{db: db, store: st, ledger: l, starter: fs, now: time.Now(), log: logs}
	nowFn := func() time.Time { return time.Now() }
	deps := server.Deps{
		Merchant: merchantHandler(st, l, fs, entry),
		Ops: &ops.Handler{Ledger: l, Store: st, Log: entry, Now: nowFn,
			Merchants: &starter.Merchants{Deps: starter.Deps{Store: st, Ledger: l, Log: entry, Now: nowFn}, NewSecret: merchants.NewSecret}},
		Callbacks: &callbacks.Handler{
			Verifiers: callbacks.ForChannels([]string{"alipaysim", "auto", "banksim", "stripe", "wxpaysim"}, callbacks.Secrets{
				Banksim: banksimSecret, StripeWebhook: stripeWebhookSecret,
				Wallets: map[string]string{"alipaysim": "alipaysim_notify_secret", "wxpaysim": "wxpaysim_notify_secret"},
			}),
			Flows: st, Events: st, Signaler: fs, Log: entry, Now: nowFn,
			Bureau: &callbacks.Bureau{Reports: st, Signaler: fs},
			Fund:   fundService(st, l, fs),
		},
		Merchants: st, OpsTokens: []string{"ops-demo-token"}, Tolerance: 300 * time.Second, Now: nowFn, Log: entry,
	}
	for _, o := range opts {
		o(&deps)
	}
	a.router = server.NewRouter(deps)
	a.srv = httptest.NewServer(a.router)
	t.Cleanup(a.srv.Close)
	a.v = newValidator(t)
	a.c = client.New(a.srv.URL, "mch_demo", secret).WithTransport(a.v.RoundTripper)
	a.http = &http.Client{Transport: a.v.RoundTripper(nil)}
	t.Cleanup(func() {
		if f := a.v.Failures(); len(f) > 0 {
			t.Errorf("%s", a.v.Report())
		}
	})
	return a
}

// merchantHandler serves the merchant API with the real services over st and l,
// starting flows with fs.
func merchantHandler(st *store.Store, l *ledger.Ledger, fs *fakeStarter, log *logrus.Entry) *merchant.Handler {
	d := starter.Deps{Store: st, Ledger: l, Log: log, Now: time.Now}
	return &merchant.Handler{
		Payments: &starter.Payments{Deps: d, Flows: fs}, Refunds: &starter.Refunds{Deps: d, Flows: fs},
		Wallets: &starter.Wallets{Deps: d, Flows: fs}, Events: &starter.Events{Deps: d, Flows: fs},
		Identity: &starter.Identity{Deps: d, Flows: fs, Cfg: identityConfig()},
		Yield:    &starter.Yield{Deps: d, Flows: fs},
		Fund:     fundService(st, l, fs),
		Channels: []string{"banksim"}, DefaultChannel: "banksim", Log: log,
	}
}

// newValidator checks exchanges against api/openapi.yaml.
func newValidator(t testing.TB) *contract.Validator {
	t.Helper()
	v, err := contract.NewValidator(apispec.OpenAPI)
	require.NoError(t, err)
	return v
}

// merchantClient is a validated client of another merchant.
func (a *api) merchantClient(id, secret string) *client.Client {
	return client.New(a.srv.URL, id, secret).WithTransport(a.v.RoundTripper)
}

// ops sends an ops request with the ops token (a body as JSON).
func (a *api) ops(t testing.TB, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	contentType := ""
	if body != "" {
		contentType = "application/json"
	}
	return a.opsWithType(t, method, path, body, contentType)
}

// opsWithType sends an ops request with a body of the given media type.
func (a *api) opsWithType(t testing.TB, method, path, body, contentType string) (int, http.Header, []byte) {
	t.Helper()
	return sendOps(t, a.http, a.srv.URL+path, method, body, contentType)
}

// sendOps sends an ops request to url with the ops token through hc, with a body of
// contentType (none when empty); it answers the status, headers and body.
func sendOps(t testing.TB, hc *http.Client, url, method, body, contentType string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer ops-demo-token")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, b := apitest.Send(t, hc, req)
	return resp.StatusCode, resp.Header, b
}

// signed returns a request signed by the demo merchant, to change before sending.
func (a *api) signed(t testing.TB, method, target string, body []byte) *http.Request {
	t.Helper()
	ts := fmt.Sprint(time.Now().Unix())
	nonce := client.NewNonce()
	req, err := http.NewRequest(method, a.srv.URL+target, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(signing.HeaderMerchant, "mch_demo")
	req.Header.Set(signing.HeaderTimestamp, ts)
	req.Header.Set(signing.HeaderNonce, nonce)
	req.Header.Set(signing.HeaderSignature, signing.SignRequest(secret, method, target, ts, nonce, body))
	return req
}

// newReplica serves a second router (another API replica) over a's database.
func newReplica(t testing.TB, a *api, opts ...func(*server.Deps)) *httptest.Server {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	entry := logrus.NewEntry(log)
	nowFn := func() time.Time { return time.Now() }
	deps := server.Deps{
		Merchant:  merchantHandler(a.store, a.ledger, a.starter, entry),
		Merchants: a.store, OpsTokens: []string{"ops-demo-token"}, Tolerance: 300 * time.Second, Now: nowFn, Log: entry,
	}
	for _, o := range opts {
		o(&deps)
	}
	srv := httptest.NewServer(server.NewRouter(deps))
	t.Cleanup(srv.Close)
	return srv
}

// lockedWriter serializes the log's writes (handlers log concurrently).
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// logs returns what the API logged so far.
func (a *api) logs() string {
	a.log.mu.Lock()
	defer a.log.mu.Unlock()
	return a.log.w.(*bytes.Buffer).String()
}

type problemBody struct {
	Code   string `json:"code"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

func decodeProblem(t *testing.T, r *client.Response) problemBody {
	t.Helper()
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), "body: %s", r.Body)
	var p problemBody
	require.NoError(t, json.Unmarshal(r.Body, &p))
	return p
}

func (a *api) paymentCount(t *testing.T) int {
	t.Helper()
	items, _, err := a.store.ListPayments(context.Background(), store.ListQuery{MerchantID: "mch_demo", Limit: 100})
	require.NoError(t, err)
	return len(items)
}

func forEachBackend(t *testing.T, fn func(t *testing.T, b testenv.Backend)) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) { fn(t, b) })
	}
}

// Every bad payment request gets its problem code and stores and starts nothing.
func TestCreatePaymentRefusesBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		tests := []struct {
			name, body string
			status     int
			code       string
		}{
			{"amount zero", `{"amount":0,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`, 422, "invalid_amount"},
			{"amount negative", `{"amount":-5,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`, 422, "invalid_amount"},
			{"amount over 10^13", `{"amount":10000000000001,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`, 422, "invalid_amount"},
			{"amount fractional", `{"amount":10.5,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`, 400, "invalid_request"},
			{"amount string", `{"amount":"1050","currency":"CNY","source":{"type":"card","token":"tok_success"}}`, 400, "invalid_request"},
			{"amount missing", `{"currency":"CNY","source":{"type":"card","token":"tok_success"}}`, 400, "invalid_request"},
			{"unknown field", `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"},"tip":1}`, 400, "invalid_request"},
			{"unknown nested field", `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success","cvv":"123"}}`, 400, "invalid_request"},
			{"malformed json", `{"amount":1050,`, 400, "invalid_request"},
			{"two objects", `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"}}{}`, 400, "invalid_request"},
			{"array body", `[1]`, 400, "invalid_request"},
			{"empty body", ``, 400, "invalid_request"},
			{"currency XYZ", `{"amount":1050,"currency":"XYZ","source":{"type":"card","token":"tok_success"}}`, 422, "unsupported_currency"},
			{"currency lowercase", `{"amount":1050,"currency":"cny","source":{"type":"card","token":"tok_success"}}`, 422, "unsupported_currency"},
			{"currency number", `{"amount":1050,"currency":156,"source":{"type":"card","token":"tok_success"}}`, 400, "invalid_request"},
			{"source missing", `{"amount":1050,"currency":"CNY"}`, 400, "invalid_request"},
			{"source type bad", `{"amount":1050,"currency":"CNY","source":{"type":"cash"}}`, 422, "invalid_source"},
			{"card without token", `{"amount":1050,"currency":"CNY","source":{"type":"card"}}`, 422, "invalid_source"},
			{"card token malformed", `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"4111111111111111"}}`, 422, "invalid_source"},
			{"unknown wallet", `{"amount":1050,"currency":"CNY","source":{"type":"account","account_id":"acct_nope"}}`, 422, "invalid_source"},
			{"unknown channel", `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"},"channel":"paypal"}`, 422, "unsupported_channel"},
			{"notify_url not http", `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"},"notify_url":"ftp://x"}`, 422, "invalid_notify_url"},
			{"field name in another case", `{"AMOUNT":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`, 400, "invalid_request"},
			{"duplicate field", `{"amount":1,"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`, 400, "invalid_request"},
			{"null field", `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"},"description":null}`, 400, "invalid_request"},
			{"null metadata value", `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"},"metadata":{"a":null}}`, 400, "invalid_request"},
			{"card with an empty account_id", `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success","account_id":""}}`, 422, "invalid_source"},
			{"wallet with an empty token", `{"amount":1050,"currency":"CNY","source":{"type":"account","account_id":"acct_x","token":""}}`, 422, "invalid_source"},
		}
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r, err := a.c.Do(context.Background(), client.Request{Method: "POST", Target: "/v1/payments", Body: []byte(tc.body), IdempotencyKey: fmt.Sprintf("bad-%d", i)})
				require.NoError(t, err)
				require.Equal(t, tc.status, r.Status, "body: %s", r.Body)
				require.Equal(t, tc.code, decodeProblem(t, r).Code)
			})
		}
		require.Equal(t, 0, a.paymentCount(t), "a refused request stored a payment")
		require.Empty(t, a.starter.starts, "a refused request started a flow")
	})
}

// Every authentication failure answers 401 signature_invalid, the same way.
func TestSignatureRefusals(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	body := []byte(`{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`)
	send := func(mutate func(h http.Header)) *http.Response {
		ts := fmt.Sprint(time.Now().Unix())
		nonce := client.NewNonce()
		req, _ := http.NewRequest("POST", a.srv.URL+"/v1/payments", strings.NewReader(string(body)))
		req.Header.Set(signing.HeaderMerchant, "mch_demo")
		req.Header.Set(signing.HeaderTimestamp, ts)
		req.Header.Set(signing.HeaderNonce, nonce)
		req.Header.Set(signing.HeaderSignature, signing.SignRequest(secret, "POST", "/v1/payments", ts, nonce, body))
		req.Header.Set("Idempotency-Key", "k-"+nonce)
		mutate(req.Header)
		resp, err := a.http.Do(req)
		require.NoError(t, err)
		return resp
	}
	resign := func(h http.Header, sec, ts string) {
		h.Set(signing.HeaderTimestamp, ts)
		h.Set(signing.HeaderSignature, signing.SignRequest(sec, "POST", "/v1/payments", ts, h.Get(signing.HeaderNonce), body))
	}
	tests := []struct {
		name   string
		mutate func(h http.Header)
	}{
		{"unsigned", func(h http.Header) { h.Del(signing.HeaderSignature) }},
		{"no merchant", func(h http.Header) { h.Del(signing.HeaderMerchant) }},
		{"unknown merchant", func(h http.Header) { h.Set(signing.HeaderMerchant, "mch_nobody") }},
		{"wrong secret", func(h http.Header) { resign(h, "not_the_secret", h.Get(signing.HeaderTimestamp)) }},
		{"another merchant's secret", func(h http.Header) { resign(h, "other_secret", h.Get(signing.HeaderTimestamp)) }},
		{"stale timestamp", func(h http.Header) { resign(h, secret, fmt.Sprint(time.Now().Add(-301*time.Second).Unix())) }},
		{"future timestamp", func(h http.Header) { resign(h, secret, fmt.Sprint(time.Now().Add(301*time.Second).Unix())) }},
		{"short nonce", func(h http.Header) {
			h.Set(signing.HeaderNonce, "short")
			resign(h, secret, h.Get(signing.HeaderTimestamp))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := send(tc.mutate)
			defer resp.Body.Close()
			require.Equal(t, 401, resp.StatusCode)
			var p problemBody
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
			require.Equal(t, "signature_invalid", p.Code)
		})
	}
	t.Run("reused nonce", func(t *testing.T) {
		r1, err := a.c.Do(context.Background(), client.Request{Method: "GET", Target: "/v1/payments", Nonce: "replayed_nonce_0001"})
		require.NoError(t, err)
		require.Equal(t, 200, r1.Status)
		r2, err := a.c.Do(context.Background(), client.Request{Method: "GET", Target: "/v1/payments", Nonce: "replayed_nonce_0001"})
		require.NoError(t, err)
		require.Equal(t, 401, r2.Status)
		require.Equal(t, "signature_invalid", decodeProblem(t, r2).Code)
	})
	require.Equal(t, 0, a.paymentCount(t))
}

func TestIdempotency(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		ctx := context.Background()
		body := map[string]any{"amount": 1050, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"}}
		r1, err := a.c.Post(ctx, "/v1/payments", body, "idem-1")
		require.NoError(t, err)
		require.Equal(t, 202, r1.Status, "%s", r1.Body)
		var p1 models.Payment
		require.NoError(t, r1.JSON(&p1))
		require.Equal(t, models.PaymentProcessing, p1.Status)
		require.True(t, models.ValidID(models.PrefixPayment, p1.ID))

		r2, err := a.c.Post(ctx, "/v1/payments", body, "idem-1")
		require.NoError(t, err)
		require.Equal(t, 202, r2.Status)
		var p2 models.Payment
		require.NoError(t, r2.JSON(&p2))
		require.Equal(t, p1.ID, p2.ID)
		require.Equal(t, "true", r2.Header.Get("Idempotent-Replayed"))

		other := map[string]any{"amount": 2000, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"}}
		r3, err := a.c.Post(ctx, "/v1/payments", other, "idem-1")
		require.NoError(t, err)
		require.Equal(t, 422, r3.Status)
		require.Equal(t, "idempotency_key_reused", decodeProblem(t, r3).Code)

		// Concurrent requests with one key: one payment.
		var wg sync.WaitGroup
		ids := make([]string, 10)
		for i := range ids {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				r, err := a.c.Post(ctx, "/v1/payments", body, "idem-concurrent")
				if err != nil || r.Status != 202 {
					t.Errorf("request %d: %v %v", i, err, r)
					return
				}
				var p models.Payment
				_ = r.JSON(&p)
				ids[i] = p.ID
			}(i)
		}
		wg.Wait()
		for _, id := range ids {
			require.Equal(t, ids[0], id)
		}
		require.Equal(t, 2, a.paymentCount(t))
		// The same key is a separate namespace for another merchant.
		oc := client.New(a.srv.URL, "mch_other", "other_secret")
		r4, err := oc.Post(ctx, "/v1/payments", body, "idem-1")
		require.NoError(t, err)
		require.Equal(t, 202, r4.Status)
		var p4 models.Payment
		require.NoError(t, r4.JSON(&p4))
		require.NotEqual(t, p1.ID, p4.ID)

		// Missing key.
		r5, err := a.c.Do(ctx, client.Request{Method: "POST", Target: "/v1/payments", Body: []byte(`{}`)})
		require.NoError(t, err)
		require.Equal(t, 400, r5.Status)
	})
}

// A payment whose flow could not start answers 503; the retry with the same key
// starts it, and the payment was created once.
func TestStartFailureIsRetriedWithTheSameKey(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	ctx := context.Background()
	body := map[string]any{"amount": 1050, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"}}
	a.starter.fail = true
	r1, err := a.c.Post(ctx, "/v1/payments", body, "retry-me")
	require.NoError(t, err)
	require.Equal(t, 503, r1.Status)
	require.NotEmpty(t, r1.Header.Get("Retry-After"))
	a.starter.fail = false
	r2, err := a.c.Post(ctx, "/v1/payments", body, "retry-me")
	require.NoError(t, err)
	require.Equal(t, 202, r2.Status)
	var p models.Payment
	require.NoError(t, r2.JSON(&p))
	require.Equal(t, 1, a.starter.count(p.ID))
	require.Equal(t, 1, a.paymentCount(t))
}

func TestGetAndList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		ctx := context.Background()
		var ids []string
		for i := 0; i < 5; i++ {
			r, err := a.c.Post(ctx, "/v1/payments", map[string]any{"amount": 100 + i, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"}}, fmt.Sprintf("list-%d", i))
			require.NoError(t, err)
			var p models.Payment
			require.NoError(t, r.JSON(&p))
			ids = append(ids, p.ID)
		}
		r, err := a.c.Get(ctx, "/v1/payments/"+ids[2])
		require.NoError(t, err)
		require.Equal(t, 200, r.Status)
		var p models.Payment
		require.NoError(t, r.JSON(&p))
		require.Equal(t, int64(102), p.Amount)

		type page struct {
			Data    []models.Payment `json:"data"`
			HasMore bool             `json:"has_more"`
		}
		var pg page
		r, err = a.c.Get(ctx, "/v1/payments?limit=2")
		require.NoError(t, err)
		require.NoError(t, r.JSON(&pg))
		require.True(t, pg.HasMore)
		require.Equal(t, []string{ids[4], ids[3]}, []string{pg.Data[0].ID, pg.Data[1].ID}, "newest first")
		r, err = a.c.Get(ctx, "/v1/payments?limit=2&starting_after="+ids[3])
		require.NoError(t, err)
		require.NoError(t, r.JSON(&pg))
		require.Equal(t, []string{ids[2], ids[1]}, []string{pg.Data[0].ID, pg.Data[1].ID})
		r, err = a.c.Get(ctx, "/v1/payments?limit=10&starting_after="+ids[1])
		require.NoError(t, err)
		require.NoError(t, r.JSON(&pg))
		require.False(t, pg.HasMore)
		require.Len(t, pg.Data, 1)
		r, err = a.c.Get(ctx, "/v1/payments?status=succeeded")
		require.NoError(t, err)
		require.NoError(t, r.JSON(&pg))
		require.Empty(t, pg.Data)

		for _, bad := range []string{"/v1/payments?limit=0", "/v1/payments?limit=101", "/v1/payments?limit=x", "/v1/payments?status=weird", "/v1/payments?starting_after=pay_unknown"} {
			r, err := a.c.Get(ctx, bad)
			require.NoError(t, err)
			require.Equal(t, 400, r.Status, bad)
			require.Equal(t, "invalid_request", decodeProblem(t, r).Code)
		}
		for _, missing := range []string{"/v1/payments/pay_doesnotexist", "/v1/payments/not-an-id", "/v1/nothing"} {
			r, err := a.c.Get(contract.Probing(ctx), missing)
			require.NoError(t, err)
			require.Equal(t, 404, r.Status, missing)
			require.Equal(t, "not_found", decodeProblem(t, r).Code)
		}
		// Another merchant's payment is not found.
		oc := client.New(a.srv.URL, "mch_other", "other_secret")
		r, err = oc.Get(ctx, "/v1/payments/"+ids[0])
		require.NoError(t, err)
		require.Equal(t, 404, r.Status)
	})
}

func TestBodyLimitAndOpsAuth(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	big := strings.Repeat("x", (1<<20)+1)
	r, err := a.c.Do(context.Background(), client.Request{Method: "POST", Target: "/v1/payments", Body: []byte(big), IdempotencyKey: "big"})
	require.NoError(t, err)
	require.Equal(t, 413, r.Status)
	require.Equal(t, "payload_too_large", decodeProblem(t, r).Code)

	for _, h := range []string{"", "Bearer wrong", "Basic b3BzLWRlbW8tdG9rZW4="} {
		req, _ := http.NewRequest("GET", a.srv.URL+"/v1/ops/ledger/check", nil)
		if h != "" {
			req.Header.Set("Authorization", h)
		}
		resp, err := a.http.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 401, resp.StatusCode, h)
	}
	req, _ := http.NewRequest("GET", a.srv.URL+"/v1/ops/ledger/check", nil)
	req.Header.Set("Authorization", "Bearer ops-demo-token")
	resp, err := a.http.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	var rep ledger.CheckReport
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&rep))
	require.True(t, rep.OK)
	// A merchant signature does not open the ops API.
	r, err = a.c.Get(context.Background(), "/v1/ops/ledger/check")
	require.NoError(t, err)
	require.Equal(t, 401, r.Status)
}
