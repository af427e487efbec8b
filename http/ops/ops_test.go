package ops

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/http/internal/apitest"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// audits records the audit log; the rest of Store is not used here.
type audits struct {
	mu      sync.Mutex
	entries []models.AuditEntry
}

func (a *audits) Withdrawal(context.Context, string, string) (models.Withdrawal, error) {
	return models.Withdrawal{}, starter.ErrNotFound
}

func (a *audits) Audit(_ context.Context, e models.AuditEntry) (models.AuditEntry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, e)
	return e, nil
}

func (a *audits) AuditLog(context.Context, string, int, string) ([]models.AuditEntry, bool, error) {
	return nil, false, nil
}

func (a *audits) results() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.entries {
		out = append(out, e.Action+" "+e.Target+" "+e.Result)
	}
	return out
}

// recs answers what the test sets, at the service boundary.
type recs struct {
	rec     models.Reconciliation
	created bool
	err     error
	got     starter.OpenReconciliation
}

func (r *recs) Open(_ context.Context, req starter.OpenReconciliation) (models.Reconciliation, bool, error) {
	r.got = req
	return r.rec, r.created, r.err
}

func (r *recs) Get(context.Context, string) (starter.ReconciliationView, error) {
	return starter.ReconciliationView{}, starter.ErrNotFound
}

func (r *recs) ListDifferences(context.Context, starter.DifferenceQuery) ([]models.Difference, bool, error) {
	return nil, false, starter.ErrUnknownCursor
}

func (r *recs) ResolveDifference(context.Context, string, string, models.Resolution) (models.Difference, error) {
	return models.Difference{}, starter.ErrDuplicate
}

// merchantsSvc answers what the test sets. Its merchants are current (only mch_known
// exists for Update, with the settings in it) and updates, the last one Update was
// given.
type merchantsSvc struct {
	rotateErr error
	current   models.Merchant
	updates   []models.MerchantUpdate
}

func (m *merchantsSvc) Update(_ context.Context, id string, u models.MerchantUpdate) (models.Merchant, models.Merchant, error) {
	m.updates = append(m.updates, u)
	if id != m.current.ID {
		return models.Merchant{}, models.Merchant{}, starter.ErrNotFound
	}
	before := m.current
	m.current = u.Apply(before)
	return before, m.current, nil
}

func (m *merchantsSvc) Create(_ context.Context, mm models.Merchant) (models.Merchant, string, string, error) {
	mm.ID = "mch_new"
	return mm, "sk_new", "whsec_new", nil
}

func (m *merchantsSvc) Get(context.Context, string) (models.Merchant, error) {
	return models.Merchant{}, starter.ErrNotFound
}

func (m *merchantsSvc) SetStatus(context.Context, string, models.MerchantStatus) error { return nil }

func (m *merchantsSvc) RotateSecret(context.Context, string, time.Duration) (string, time.Time, error) {
	return "", time.Time{}, m.rotateErr
}

func (m *merchantsSvc) RotateWebhookSecret(context.Context, string, time.Duration) (string, time.Time, error) {
	return "", time.Time{}, m.rotateErr
}

func serve(t *testing.T, h *Handler) *httptest.Server {
	return apitest.Serve(t, "/v1/ops", h.Register, middleware.KeyOperator, "alice")
}

func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, map[string]any) {
	resp, out := apitest.Call(t, srv, method, path, body, nil)
	return resp.StatusCode, out
}

func newHandler() (*Handler, *audits, *recs, *merchantsSvc) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	a, r, m := &audits{}, &recs{}, &merchantsSvc{}
	return &Handler{
		Store: a, Reconciliations: r, Merchants: m, Channels: []string{"banksim", models.ReconChannelFund}, Log: logrus.NewEntry(log),
		Now: func() time.Time { return time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC) },
	}, a, r, m
}

// Opening a reconciliation answers 202 for a new run (audited), 200 for the run that
// exists, 503 when its flow could not start; a day after today never reaches the
// service.
func TestCreateReconciliationAnswers(t *testing.T) {
	h, a, r, _ := newHandler()
	srv := serve(t, h)
	body := `{"channel":"banksim","date":"2026-03-01"}`

	r.rec, r.created = models.Reconciliation{ID: "rec_1", Channel: "banksim", Date: "2026-03-01"}, true
	status, out := call(t, srv, http.MethodPost, "/v1/ops/reconciliations", body)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, "rec_1", out["id"])
	require.Equal(t, starter.OpenReconciliation{Channel: "banksim", Date: "2026-03-01"}, r.got)
	require.Equal(t, []string{"reconciliation.open rec_1 accepted"}, a.results())

	r.created = false
	status, _ = call(t, srv, http.MethodPost, "/v1/ops/reconciliations", body)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, a.results(), 1, "finding the run is not an act")

	r.err = &starter.NotStartedError{Kind: "reconciliation", ObjectID: "rec_1", Err: errors.New("temporal down")}
	status, out = call(t, srv, http.MethodPost, "/v1/ops/reconciliations", body)
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Equal(t, "service_unavailable", out["code"])

	r.got = starter.OpenReconciliation{}
	status, out = call(t, srv, http.MethodPost, "/v1/ops/reconciliations", `{"channel":"banksim","date":"2026-03-03"}`)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	require.Equal(t, "invalid_date", out["code"])
	require.Empty(t, r.got.Channel)

	// The fund company's date may be ahead of ours: its files say when it is over.
	r.err, r.created = nil, true
	r.rec = models.Reconciliation{ID: "rec_2", Channel: models.ReconChannelFund, Date: "2026-03-03"}
	status, out = call(t, srv, http.MethodPost, "/v1/ops/reconciliations", `{"channel":"fund","date":"2026-03-03"}`)
	require.Equal(t, http.StatusAccepted, status, "%v", out)
	require.Equal(t, starter.OpenReconciliation{Channel: models.ReconChannelFund, Date: "2026-03-03"}, r.got)

	status, out = call(t, srv, http.MethodGet, "/v1/ops/reconciliations/"+models.NewID(models.PrefixReconciliation)+"/differences?starting_after="+models.NewID(models.PrefixDifference), "")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_request", out["code"])
}

// Merchant acts answer the service's outcome and are audited, refused ones too.
func TestMerchantActsAnswers(t *testing.T) {
	h, a, _, m := newHandler()
	srv := serve(t, h)

	status, out := call(t, srv, http.MethodPost, "/v1/ops/merchants", `{"name":"Shop"}`)
	require.Equal(t, http.StatusCreated, status)
	require.Equal(t, "mch_new", out["id"])
	require.Equal(t, "sk_new", out["secret"], "the secret is shown once, here")

	id := models.NewID(models.PrefixMerchant)
	m.rotateErr = starter.ErrConcurrentRotation
	status, out = call(t, srv, http.MethodPost, "/v1/ops/merchants/"+id+"/rotate-secret", "")
	require.Equal(t, http.StatusConflict, status)
	require.Equal(t, "conflict", out["code"])
	m.rotateErr = starter.ErrNotFound
	status, _ = call(t, srv, http.MethodPost, "/v1/ops/merchants/"+id+"/rotate-secret", "")
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, []string{"merchant.create mch_new accepted", "merchant.rotate_secret " + id + " refused"}, a.results())
}

// A merchant created without a review threshold gets 10000 major units of its
// currency; an explicit 0 still means never; withdrawal limits are optional and, when
// given, from 1 to MaxAmount.
func TestValidateMerchantDefaultsAndLimits(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	s := func(v string) *string { return &v }
	tests := []struct {
		name       string
		req        createMerchantRequest
		review     int64
		perTx, day *int64
		// delay is the withdrawal delay in seconds; nil: the default (24 h).
		delay       *int64
		problemCode string
	}{
		{name: "default CNY", req: createMerchantRequest{Name: s("Shop")}, review: 1_000_000},
		{name: "default JPY", req: createMerchantRequest{Name: s("Shop"), DefaultCurrency: s("JPY")}, review: 10_000},
		{name: "default BHD", req: createMerchantRequest{Name: s("Shop"), DefaultCurrency: s("BHD")}, review: 10_000_000},
		{name: "explicit 0 never reviews", req: createMerchantRequest{Name: s("Shop"), ReviewThreshold: i(0)}, review: 0},
		{name: "explicit", req: createMerchantRequest{Name: s("Shop"), ReviewThreshold: i(500)}, review: 500},
		{name: "negative threshold", req: createMerchantRequest{Name: s("Shop"), ReviewThreshold: i(-1)}, problemCode: "invalid_amount"},
		{name: "limits", req: createMerchantRequest{Name: s("Shop"), WithdrawalLimitPerTransaction: i(5000), WithdrawalLimitDaily: i(20000)},
			review: 1_000_000, perTx: i(5000), day: i(20000)},
		{name: "zero per-transaction limit", req: createMerchantRequest{Name: s("Shop"), WithdrawalLimitPerTransaction: i(0)}, problemCode: "invalid_amount"},
		{name: "daily limit too large", req: createMerchantRequest{Name: s("Shop"), WithdrawalLimitDaily: i(models.MaxAmount + 1)}, problemCode: "invalid_amount"},
		{name: "no withdrawal delay", req: createMerchantRequest{Name: s("Shop"), WithdrawalDelay: i(0)}, review: 1_000_000, delay: i(0)},
		{name: "30 days of delay", req: createMerchantRequest{Name: s("Shop"), WithdrawalDelay: i(2_592_000)}, review: 1_000_000, delay: i(2_592_000)},
		{name: "negative delay", req: createMerchantRequest{Name: s("Shop"), WithdrawalDelay: i(-1)}, problemCode: "invalid_request"},
		{name: "delay over 30 days", req: createMerchantRequest{Name: s("Shop"), WithdrawalDelay: i(2_592_001)}, problemCode: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, p := validateMerchant(tc.req)
			if tc.problemCode != "" {
				require.NotNil(t, p)
				require.Equal(t, tc.problemCode, p.Code)
				return
			}
			require.Nil(t, p)
			require.Equal(t, tc.review, m.ReviewThreshold)
			require.Equal(t, tc.perTx, m.WithdrawalLimitPerTransaction)
			require.Equal(t, tc.day, m.WithdrawalLimitDaily)
			wantDelay := int64(86400)
			if tc.delay != nil {
				wantDelay = *tc.delay
			}
			require.Equal(t, wantDelay, m.WithdrawalDelaySeconds)
		})
	}
}

// PATCH /v1/ops/merchants/{id} takes any subset of the money-out settings, fee_bps
// and notify_url, checked as onboarding checks them; null removes a withdrawal limit
// (absent keeps it), "" the notify_url; a body that is not strict JSON, names nothing,
// or a setting out of range changes nothing.
func TestUpdateMerchantRequests(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	s := func(v string) *string { return &v }
	tests := []struct {
		name, body string
		// status and code of the answer; update is what the service was given (for a
		// 200 only).
		status int
		code   string
		update models.MerchantUpdate
	}{
		{name: "delay off", body: `{"withdrawal_delay":0}`, status: 200, update: models.MerchantUpdate{WithdrawalDelaySeconds: i(0)}},
		{name: "30 days of delay", body: `{"withdrawal_delay":2592000}`, status: 200, update: models.MerchantUpdate{WithdrawalDelaySeconds: i(2_592_000)}},
		{name: "daily limit", body: `{"withdrawal_limit_daily":20000}`, status: 200,
			update: models.MerchantUpdate{SetWithdrawalLimitDaily: true, WithdrawalLimitDaily: i(20000)}},
		{name: "null clears a limit", body: `{"withdrawal_limit_per_transaction":null}`, status: 200,
			update: models.MerchantUpdate{SetWithdrawalLimitPerTransaction: true}},
		{name: "every field", body: `{"review_threshold":0,"withdrawal_limit_per_transaction":3000,"withdrawal_limit_daily":null,"withdrawal_delay":3600,"fee_bps":10000,"notify_url":"https://shop.example/hooks"}`,
			status: 200, update: models.MerchantUpdate{
				ReviewThreshold: i(0), SetWithdrawalLimitPerTransaction: true, WithdrawalLimitPerTransaction: i(3000), SetWithdrawalLimitDaily: true,
				WithdrawalDelaySeconds: i(3600), FeeBps: i(10000), NotifyURL: s("https://shop.example/hooks"),
			}},
		{name: "empty notify_url clears it", body: `{"notify_url":""}`, status: 200, update: models.MerchantUpdate{NotifyURL: s("")}},
		{name: "nothing to change", body: `{}`, status: 400, code: "invalid_request"},
		{name: "no body", body: ``, status: 400, code: "invalid_request"},
		{name: "unknown field", body: `{"withdrawal_delay":0,"name":"Renamed"}`, status: 400, code: "invalid_request"},
		{name: "default_currency is not a setting to change", body: `{"default_currency":"JPY"}`, status: 400, code: "invalid_request"},
		{name: "null delay", body: `{"withdrawal_delay":null}`, status: 400, code: "invalid_request"},
		{name: "null review threshold", body: `{"review_threshold":null}`, status: 400, code: "invalid_request"},
		{name: "null notify_url", body: `{"notify_url":null}`, status: 400, code: "invalid_request"},
		{name: "string limit", body: `{"withdrawal_limit_daily":"20000"}`, status: 400, code: "invalid_request"},
		{name: "duplicate field", body: `{"withdrawal_delay":0,"withdrawal_delay":60}`, status: 400, code: "invalid_request"},
		{name: "negative delay", body: `{"withdrawal_delay":-1}`, status: 400, code: "invalid_request"},
		{name: "delay over 30 days", body: `{"withdrawal_delay":2592001}`, status: 400, code: "invalid_request"},
		{name: "zero limit", body: `{"withdrawal_limit_daily":0}`, status: 422, code: "invalid_amount"},
		{name: "limit too large", body: `{"withdrawal_limit_per_transaction":10000000000001}`, status: 422, code: "invalid_amount"},
		{name: "negative threshold", body: `{"review_threshold":-1}`, status: 422, code: "invalid_amount"},
		{name: "fee over 100 %", body: `{"fee_bps":10001}`, status: 422, code: "invalid_fee"},
		{name: "bad notify_url", body: `{"notify_url":"ftp://shop.example"}`, status: 422, code: "invalid_notify_url"},
		{name: "one bad field changes none", body: `{"withdrawal_delay":0,"fee_bps":-1}`, status: 422, code: "invalid_fee"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, a, _, m := newHandler()
			m.current = models.Merchant{ID: models.NewID(models.PrefixMerchant), Status: models.MerchantDisabled, WithdrawalDelaySeconds: 86400}
			srv := serve(t, h)
			status, out := call(t, srv, http.MethodPatch, "/v1/ops/merchants/"+m.current.ID, tc.body)
			require.Equal(t, tc.status, status, "%v", out)
			if tc.status != http.StatusOK {
				require.Equal(t, tc.code, out["code"])
				require.Empty(t, m.updates, "nothing reaches the store")
				require.Empty(t, a.results(), "nothing was changed")
				return
			}
			require.Equal(t, []models.MerchantUpdate{tc.update}, m.updates)
			require.Equal(t, "merchant", out["object"])
			require.Equal(t, "disabled", out["status"], "a disabled merchant is updated too")
			require.Equal(t, []string{"merchant.update " + m.current.ID + " accepted"}, a.results())
		})
	}
}

// An update answers the merchant as GET shows it, and is audited with each setting it
// names, old→new (a notify_url without its query); an unknown merchant is 404.
func TestUpdateMerchantAnswersAndAudits(t *testing.T) {
	h, a, _, m := newHandler()
	limit := int64(3000)
	m.current = models.Merchant{
		ID: models.NewID(models.PrefixMerchant), Name: "Shop", DefaultCurrency: "CNY", Status: models.MerchantActive, FeeBps: 120,
		ReviewThreshold: 1_000_000, WithdrawalLimitPerTransaction: &limit, WithdrawalDelaySeconds: 86400,
		NotifyURL: "https://shop.example/old?token=t0p", CreatedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		WebhookSigning: models.WebhookSigningWebhookSecret,
	}
	srv := serve(t, h)

	status, out := call(t, srv, http.MethodPatch, "/v1/ops/merchants/"+m.current.ID,
		`{"withdrawal_delay":0,"withdrawal_limit_daily":20000,"withdrawal_limit_per_transaction":null,"notify_url":"https://shop.example/new?token=s3cret"}`)
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Equal(t, map[string]any{
		"object": "merchant", "id": m.current.ID, "name": "Shop", "default_currency": "CNY", "status": "active", "fee_bps": float64(120),
		"review_threshold": float64(1_000_000), "withdrawal_limit_daily": float64(20000), "withdrawal_delay": float64(0),
		"notify_url": "https://shop.example/new?token=s3cret", "created": "2026-03-01T00:00:00Z", "webhook_signing": "webhook_secret",
		"no_password_limit": float64(0), "verification_fee": float64(0), "verification_cached_fee": float64(0),
		"credit_report_fee": float64(0), "credit_report_reuse_fee": float64(0),
	}, out, "no per-transaction limit any more")
	require.Len(t, a.entries, 1)
	e := a.entries[0]
	require.Equal(t, "merchant.update", e.Action)
	require.Equal(t, "alice", e.Operator)
	require.Equal(t, "withdrawal_limit_per_transaction 3000→none, withdrawal_limit_daily none→20000, withdrawal_delay 86400→0, "+
		"notify_url https://shop.example/old?…→https://shop.example/new?…", e.Detail)
	require.NotContains(t, e.Detail, "s3cret")

	status, out = call(t, srv, http.MethodPatch, "/v1/ops/merchants/"+models.NewID(models.PrefixMerchant), `{"fee_bps":0}`)
	require.Equal(t, http.StatusNotFound, status)
	require.Equal(t, "not_found", out["code"])
	status, _ = call(t, srv, http.MethodPatch, "/v1/ops/merchants/not-a-merchant", `{"fee_bps":0}`)
	require.Equal(t, http.StatusNotFound, status)
	require.Len(t, a.entries, 1, "a 404 changed nothing")
}
