package callbacks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/banksim"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
	"github.com/payflow/payflow/workflows"
)

const bureauSecret = "bureau_cb_secret"

// fakeReports knows the merchant of each report id; err, when set, is every
// lookup's answer (a database that is down).
type fakeReports struct {
	merchants map[string]string
	err       error
}

func (f fakeReports) CreditReportByID(_ context.Context, id string) (models.CreditReport, string, error) {
	if f.err != nil {
		return models.CreditReport{}, "", f.err
	}
	m, ok := f.merchants[id]
	if !ok {
		return models.CreditReport{}, "", fmt.Errorf("credit report %s: %w", id, store.ErrNotFound)
	}
	return models.CreditReport{ID: id, Status: models.CreditReportProcessing}, m, nil
}

// fakeReportSignaler records the flows it wakes; err, when set, is returned instead.
type fakeReportSignaler struct {
	mu      sync.Mutex
	err     error
	flowIDs []string
}

func (f *fakeReportSignaler) SignalBureauCallback(_ context.Context, merchantID, reportID string) error {
	workflowID := workflows.FlowWorkflowID(models.FlowCreditReport, merchantID, reportID)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.flowIDs = append(f.flowIDs, workflowID)
	return nil
}

// bureauRouter mounts h's routes as the server does (after ReadBody), logging to
// logs.
func bureauRouter(h *Handler, logs *bytes.Buffer) *gin.Engine {
	gin.SetMode(gin.TestMode)
	l := logrus.New()
	l.SetOutput(logs)
	h.Log = logrus.NewEntry(l)
	h.Now = time.Now
	r := gin.New()
	h.Register(r.Group("/", middleware.ReadBody()))
	return r
}

// creditCallback is the bureau's callback body as the simulator writes it.
func creditCallback(t *testing.T, requestID, status string) []byte {
	t.Helper()
	b, err := json.Marshal(banksim.CreditCallback{Type: banksim.CreditCallbackType, RequestID: requestID, Status: status, EventID: "cbe_" + requestID})
	require.NoError(t, err)
	return b
}

func postBureau(r http.Handler, sig string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, BureauPath, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set(BanksimSignatureHeader, sig)
	}
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

func TestBureauCallback(t *testing.T) {
	ready := creditCallback(t, "cr_known", "ready")
	noRecord := creditCallback(t, "cr_known", "no_record")
	unknown := creditCallback(t, "cr_unknown", "ready")
	transfer := []byte(`{"reference":"pay_1","status":"succeeded","event_id":"cbe_1"}`)
	sign := func(secret string, at time.Time, body []byte) string {
		return banksim.SignCallback(secret, at.Unix(), body)
	}
	now := time.Now()
	known := fakeReports{merchants: map[string]string{"cr_known": "mch_1"}}
	tests := []struct {
		name      string
		reports   fakeReports
		signalErr error
		sig       string
		body      []byte
		status    int
		code      string
		signalled []string
	}{
		{"ready wakes the report's flow", known, nil, sign(bureauSecret, now, ready), ready, 200, "", []string{"credit_report/mch_1/cr_known"}},
		{"no record wakes it too", known, nil, sign(bureauSecret, now, noRecord), noRecord, 200, "", []string{"credit_report/mch_1/cr_known"}},
		{"unsigned", known, nil, "", ready, 401, "signature_invalid", nil},
		{"another secret", known, nil, sign("not-the-secret", now, ready), ready, 401, "signature_invalid", nil},
		{"stale", known, nil, sign(bureauSecret, now.Add(-10*time.Minute), ready), ready, 401, "signature_invalid", nil},
		{"a body other than the signed one", known, nil, sign(bureauSecret, now, noRecord), ready, 401, "signature_invalid", nil},
		{"signed, not JSON", known, nil, sign(bureauSecret, now, []byte("ready")), []byte("ready"), 400, "invalid_request", nil},
		{"signed, a transfer callback", known, nil, sign(bureauSecret, now, transfer), transfer, 400, "invalid_request", nil},
		{"unknown report", known, nil, sign(bureauSecret, now, unknown), unknown, 404, "not_found", nil},
		{"database down", fakeReports{err: errors.New("connection refused")}, nil, sign(bureauSecret, now, ready), ready, 503, "service_unavailable", nil},
		{"flow finished", known, fmt.Errorf("signal x: %w", starter.ErrFlowNotFound), sign(bureauSecret, now, ready), ready, 200, "", nil},
		{"temporal down", known, errors.New("temporal unavailable"), sign(bureauSecret, now, ready), ready, 503, "service_unavailable", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := &fakeReportSignaler{err: tt.signalErr}
			var logs bytes.Buffer
			r := bureauRouter(&Handler{
				Verifiers: []Verifier{Banksim{Secret: bureauSecret}},
				Bureau:    &Bureau{Reports: tt.reports, Signaler: sig},
			}, &logs)
			w := postBureau(r, tt.sig, tt.body)
			require.Equal(t, tt.status, w.Code, w.Body.String())
			if tt.code == "" {
				require.JSONEq(t, `{"received":true}`, w.Body.String())
			} else {
				var p struct {
					Code string `json:"code"`
				}
				require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
				require.Equal(t, tt.code, p.Code)
			}
			if tt.status == 503 {
				require.NotEmpty(t, w.Header().Get("Retry-After"), "the bureau is told when to retry")
			}
			require.Equal(t, tt.signalled, sig.flowIDs)
			// The log says what was decided, never the body or the signature.
			require.NotContains(t, logs.String(), string(tt.body))
			if tt.sig != "" {
				require.NotContains(t, logs.String(), tt.sig)
			}
		})
	}
}

// The bureau's route is mounted with the banksim route only (its secret signs the
// bureau's callbacks), and only when the handler has a Bureau.
func TestBureauRouteMountedWithBanksim(t *testing.T) {
	bureau := &Bureau{Reports: fakeReports{}, Signaler: &fakeReportSignaler{}}
	tests := []struct {
		name string
		h    *Handler
		want int
	}{
		{"banksim configured", &Handler{Verifiers: ForChannels([]string{"banksim", "stripe"}, Secrets{Banksim: bureauSecret, StripeWebhook: "whsec"}), Bureau: bureau}, 401},
		{"banksim not configured", &Handler{Verifiers: ForChannels([]string{"alipaysim", "stripe"}, Secrets{Banksim: bureauSecret, StripeWebhook: "whsec"}), Bureau: bureau}, 404},
		{"no bureau", &Handler{Verifiers: ForChannels([]string{"banksim"}, Secrets{Banksim: bureauSecret})}, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bureauRouter(tt.h, &bytes.Buffer{})
			w := postBureau(r, "", []byte(`{}`))
			require.Equal(t, tt.want, w.Code)
			for _, route := range r.Routes() {
				require.False(t, tt.want == 404 && strings.HasSuffix(route.Path, "/bureau"), "mounted: %s", route.Path)
			}
		})
	}
}
