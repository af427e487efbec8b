package merchant

import (
	"context"
	"errors"
	"github.com/makiuchi-d/gozxing"
	qrreader "github.com/makiuchi-d/gozxing/qrcode"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/http/internal/apitest"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

func TestPreferredWait(t *testing.T) {
	tests := []struct {
		headers []string
		want    time.Duration
	}{
		{nil, 0},
		{[]string{"wait=5"}, 5 * time.Second},
		{[]string{"WAIT = 3"}, 3 * time.Second},
		{[]string{`wait="7"`}, 7 * time.Second},
		{[]string{"respond-async, wait=2"}, 2 * time.Second},
		{[]string{"respond-async", "wait=4;foo=bar"}, 4 * time.Second},
		{[]string{"wait=10"}, 10 * time.Second},
		{[]string{"wait=11"}, MaxWait},
		{[]string{"wait=99999999999999999999"}, 0},
		{[]string{"wait=0"}, 0},
		{[]string{"wait=-1"}, 0},
		{[]string{"wait=1.5"}, 0},
		{[]string{"wait=abc"}, 0},
		{[]string{"wait"}, 0},
		{[]string{"handling=lenient"}, 0},
		{[]string{"wait=2, wait=9"}, 2 * time.Second},
		{[]string{"waiting=5"}, 0},
	}
	for _, tc := range tests {
		got, ok := preferredWait(tc.headers)
		require.Equal(t, tc.want, got, "%q", tc.headers)
		require.Equal(t, tc.want > 0, ok, "%q", tc.headers)
	}
}

// payments answers what the test sets, at the service boundary.
type payments struct {
	created starter.Created[models.Payment]
	err     error
	got     starter.NewPayment
	// stored is what Get answers (not found when its id is empty).
	stored models.Payment
}

func (p *payments) Create(_ context.Context, req starter.NewPayment) (starter.Created[models.Payment], error) {
	p.got = req
	return p.created, p.err
}

func (p *payments) Get(_ context.Context, _, id string) (models.Payment, error) {
	if p.stored.ID == "" || p.stored.ID != id {
		return models.Payment{}, starter.ErrNotFound
	}
	return p.stored, nil
}

func (p *payments) List(context.Context, starter.ListQuery) ([]models.Payment, bool, error) {
	return nil, false, starter.ErrUnknownCursor
}

func (p *payments) Confirm(_ context.Context, _, id string, c models.ConfirmPayment) (models.Payment, error) {
	return models.Payment{ID: id, Source: models.PaymentSource{AccountID: c.AccountID}}, p.err
}

// A payment code source: a payflow wallet code reaches the service (which checks
// whose it is); anything else is refused before, with what is wrong, and nothing
// is called.
func TestPaymentCodeSource(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	svc := &payments{created: starter.Created[models.Payment]{Object: models.Payment{ID: "pay_1", Status: models.PaymentProcessing}}}
	h := &Handler{Payments: svc, Channels: []string{"banksim"}, DefaultChannel: "banksim", Log: logrus.NewEntry(log)}
	srv := serve(t, h)
	for _, tc := range []struct {
		name, source string
		status       int
		detail       string
	}{
		{"wallet code", `{"type":"payment_code","code":"991234567890123456"}`, 202, ""},
		{"short", `{"type":"payment_code","code":"99123456789012345"}`, 422, "18 digits"},
		{"letters", `{"type":"payment_code","code":"99123456789012345x"}`, 422, "18 digits"},
		{"no code", `{"type":"payment_code"}`, 422, "needs the code"},
		{"code and token", `{"type":"payment_code","code":"991234567890123456","token":"tok_success"}`, 422, "nothing else"},
		{"unknown prefix", `{"type":"payment_code","code":"501234567890123456"}`, 422, "no wallet issues"},
		{"alipaysim not enabled", `{"type":"payment_code","code":"281234567890123450"}`, 422, "alipaysim"},
		{"wxpaysim not enabled", `{"type":"payment_code","code":"131234567890123450"}`, 422, "wxpaysim"},
		{"code on a card", `{"type":"card","token":"tok_success","code":"991234567890123456"}`, 422, "token"},
		{"unknown type", `{"type":"qr_code"}`, 422, "payment_code"},
		{"qr with a code", `{"type":"qr","code":"991234567890123456"}`, 422, "only expires_in"},
		{"qr expiring too soon", `{"type":"qr","expires_in":59}`, 422, "60 to 900"},
		{"qr expiring too late", `{"type":"qr","expires_in":901}`, 422, "60 to 900"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc.got = starter.NewPayment{}
			resp, body := post(t, srv, "/v1/payments", `{"amount":1050,"currency":"CNY","source":`+tc.source+`}`, map[string]string{"Idempotency-Key": tc.name})
			require.Equal(t, tc.status, resp.StatusCode, "%v", body)
			if tc.status != 202 {
				require.Equal(t, "invalid_source", body["code"])
				require.Contains(t, body["detail"], tc.detail)
				require.Empty(t, svc.got.Key, "the service is not called")
				return
			}
			require.Equal(t, models.SourcePaymentCode, svc.got.Source.Type)
			require.Equal(t, "991234567890123456", svc.got.Source.Code)
			require.Empty(t, svc.got.Channel)
		})
	}
	resp, body := post(t, srv, "/v1/payments", `{"amount":1050,"currency":"CNY","channel":"banksim","source":{"type":"payment_code","code":"991234567890123456"}}`, map[string]string{"Idempotency-Key": "ch"})
	require.Equal(t, 422, resp.StatusCode)
	require.Contains(t, body["detail"], "no channel")

	// With the provider's channel enabled, its code goes there; a card does not.
	h.Channels = []string{"banksim", "alipaysim", "wxpaysim"}
	resp, body = post(t, srv, "/v1/payments", `{"amount":1050,"currency":"CNY","channel":"alipaysim","source":{"type":"card","token":"tok_success"}}`, map[string]string{"Idempotency-Key": "card-ali"})
	require.Equal(t, 422, resp.StatusCode, "%v", body)
	require.Equal(t, "unsupported_channel", body["code"])
	resp, body = post(t, srv, "/v1/payments", `{"amount":1050,"currency":"CNY","source":{"type":"payment_code","code":"281234567890123450"}}`, map[string]string{"Idempotency-Key": "ali"})
	require.Equal(t, 202, resp.StatusCode, "%v", body)
	require.Equal(t, "alipaysim", svc.got.Channel)
	require.Equal(t, "281234567890123450", svc.got.Source.Code)
}

// serve runs h's routes for mch_demo, with the request bodies read as the router
// reads them.
func serve(t *testing.T, h *Handler) *httptest.Server {
	return apitest.Serve(t, "/v1", h.Register, middleware.KeyMerchantID, "mch_demo")
}

func post(t *testing.T, srv *httptest.Server, path, body string, header map[string]string) (*http.Response, map[string]any) {
	return apitest.Call(t, srv, http.MethodPost, path, body, header)
}

const payment = `{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`

// The handler answers what the service says: the object (202, or 200 with
// Preference-Applied when its flow ended within the wait asked), and each of the
// service's errors as its problem, never with the error's text.
func TestCreatePaymentAnswers(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	svc := &payments{}
	h := &Handler{Payments: svc, Channels: []string{"banksim"}, DefaultChannel: "banksim", Log: logrus.NewEntry(log)}
	srv := serve(t, h)
	key := map[string]string{"Idempotency-Key": "k"}

	svc.created = starter.Created[models.Payment]{Object: models.Payment{ID: "pay_1", Status: models.PaymentProcessing}}
	resp, body := post(t, srv, "/v1/payments", payment, key)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Equal(t, "pay_1", body["id"])
	require.Empty(t, resp.Header.Get("Preference-Applied"))
	require.Zero(t, svc.got.Wait)
	require.Equal(t, "mch_demo", svc.got.MerchantID)
	require.Equal(t, "k", svc.got.Key)
	require.Equal(t, "banksim", svc.got.Channel)

	svc.created = starter.Created[models.Payment]{Object: models.Payment{ID: "pay_1", Status: models.PaymentSucceeded}, Final: true, Replayed: true}
	resp, body = post(t, srv, "/v1/payments", payment, map[string]string{"Idempotency-Key": "k", "Prefer": "wait=30"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "succeeded", body["status"])
	require.Equal(t, "wait=10", resp.Header.Get("Preference-Applied"))
	require.Equal(t, "true", resp.Header.Get("Idempotent-Replayed"))
	require.Equal(t, MaxWait, svc.got.Wait)

	errs := []struct {
		err    error
		status int
		code   string
	}{
		{starter.ErrIdempotencyKeyReused, 422, "idempotency_key_reused"},
		{starter.ErrMerchantDisabled, 403, "merchant_disabled"},
		{starter.ErrInvalidSource, 422, "invalid_source"},
		{&starter.NotStartedError{Kind: "payment", ObjectID: "pay_1", Err: errors.New("temporal down at 10.0.0.7")}, 503, "service_unavailable"},
		{errors.New("database at 10.0.0.8 refused"), 500, "internal_error"},
	}
	for _, tc := range errs {
		svc.err = tc.err
		resp, body := post(t, srv, "/v1/payments", payment, key)
		require.Equal(t, tc.status, resp.StatusCode, "%v", tc.err)
		require.Equal(t, tc.code, body["code"], "%v", tc.err)
		require.NotContains(t, body["detail"], "10.0.0.", "no internal error reaches the client")
	}

	// A request the handler refuses never reaches the service.
	svc.got = starter.NewPayment{}
	resp, body = post(t, srv, "/v1/payments", `{"amount":10.5,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`, key)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, "invalid_request", body["code"])
	resp, _ = post(t, srv, "/v1/payments", payment, nil)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "no Idempotency-Key")
	require.Empty(t, svc.got.Key)
}

// A QR payment's source takes an optional expires_in; its PNG decodes back to its
// qr_url; a payment that shows no QR code has no PNG.
func TestQRSourceAndPNG(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	svc := &payments{created: starter.Created[models.Payment]{Object: models.Payment{ID: "pay_1", Status: models.PaymentProcessing}}}
	h := &Handler{Payments: svc, Channels: []string{"banksim"}, DefaultChannel: "banksim", Log: logrus.NewEntry(log)}
	srv := serve(t, h)
	resp, body := post(t, srv, "/v1/payments", `{"amount":1050,"currency":"CNY","source":{"type":"qr","expires_in":300}}`, map[string]string{"Idempotency-Key": "qr"})
	require.Equal(t, 202, resp.StatusCode, "%v", body)
	require.Equal(t, models.SourceQR, svc.got.Source.Type)
	require.Equal(t, 300*time.Second, svc.got.QRExpiresIn)
	require.Empty(t, svc.got.Channel)
	resp, body = post(t, srv, "/v1/payments", `{"amount":1050,"currency":"CNY","channel":"banksim","source":{"type":"qr"}}`, map[string]string{"Idempotency-Key": "qr2"})
	require.Equal(t, 422, resp.StatusCode, "%v", body)

	const id = "pay_01jgk8x9v6m3p2q4r5s6t7u8v9"
	url := "https://pay.example/q/AAECAwQFBgcICQoLDA0ODw"
	svc.stored = models.Payment{ID: id, Status: models.PaymentProcessing,
		NextAction: &models.NextAction{Type: models.NextActionDisplayQR, QRURL: url, ExpiresAt: time.Now().Add(time.Minute)}}
	r, err := http.Get(srv.URL + "/v1/payments/" + id + "/qr.png")
	require.NoError(t, err)
	defer r.Body.Close()
	require.Equal(t, 200, r.StatusCode)
	require.Equal(t, "image/png", r.Header.Get("Content-Type"))
	img, err := png.Decode(r.Body)
	require.NoError(t, err)
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	require.NoError(t, err)
	res, err := qrreader.NewQRCodeReader().Decode(bmp, nil)
	require.NoError(t, err)
	require.Equal(t, url, res.GetText(), "the PNG is the page's URL")

	svc.stored.NextAction = nil
	r2, err := http.Get(srv.URL + "/v1/payments/" + id + "/qr.png")
	require.NoError(t, err)
	r2.Body.Close()
	require.Equal(t, 404, r2.StatusCode)
}
