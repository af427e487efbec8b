package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/merchants"
	"github.com/payflow/payflow/internal/safehttp"
	"github.com/payflow/payflow/internal/secretbox"
	"github.com/payflow/payflow/internal/signing"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// The demo merchant's API secret and its webhook signing secret.
const (
	demoSecret        = "demo_secret_change_me"
	demoWebhookSecret = "whsec_demo_change_me"
)

type webhookFixture struct {
	st   *store.Store
	acts *activities.Webhooks
	// clock is what the activities read as now; each read moves it one second on,
	// so that two attempts sign with different timestamps.
	mu    sync.Mutex
	clock time.Time
}

func newWebhookFixture(t *testing.T, b testenv.Backend, allowPrivate bool) *webhookFixture {
	t.Helper()
	db := testenv.Open(t, b)
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	st := store.New(db, box)
	svc := &merchants.Service{Store: st, Ledger: ledger.New(db)}
	_, err = svc.SeedDemo(context.Background(), merchants.Demo{ID: "mch_demo", Secret: demoSecret, WebhookSecret: demoWebhookSecret})
	require.NoError(t, err)
	// mch_other has no webhook secret, as a merchant created before them.
	require.NoError(t, svc.Create(context.Background(), models.Merchant{ID: "mch_other", Name: "Other", DefaultCurrency: "CNY"}, "other_secret", ""))
	log := logrus.New()
	log.SetOutput(io.Discard)
	f := &webhookFixture{st: st, clock: time.Now().UTC().Truncate(time.Second)}
	f.acts = &activities.Webhooks{
		Store: st, Log: logrus.NewEntry(log),
		HTTP: safehttp.NewClient(safehttp.Options{AllowPrivate: allowPrivate, Timeout: 2 * time.Second}),
		Now: func() time.Time {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.clock = f.clock.Add(time.Second)
			return f.clock
		},
	}
	return f
}

func (f *webhookFixture) payment(t *testing.T, merchant, notifyURL string) models.Payment {
	t.Helper()
	now := time.Now().UTC()
	p := models.Payment{
		ID: models.NewID(models.PrefixPayment), Object: "payment", MerchantID: merchant, Amount: 1050, Currency: "CNY",
		Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"}, Channel: "banksim",
		Status: models.PaymentSucceeded, NotifyURL: notifyURL, Metadata: map[string]string{"order": "42"},
		CreatedAt: now, UpdatedAt: now,
	}
	require.NoError(t, f.st.DB().Transaction(func(tx *gorm.DB) error { return store.InsertPayment(tx, p) }))
	got, err := f.st.Payment(context.Background(), merchant, p.ID)
	require.NoError(t, err)
	return got
}

func forEachBackend(t *testing.T, fn func(t *testing.T, b testenv.Backend)) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) { fn(t, b) })
	}
}

func errType(err error) (string, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return "", false
	}
	return appErr.Type(), appErr.NonRetryable()
}

// CreateEvent stores the object as the merchant API shows it, once: a second call
// (a replayed flow) returns the first event.
func TestCreateEvent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newWebhookFixture(t, b, true)
		ctx := context.Background()
		p := f.payment(t, "mch_demo", "https://merchant.example/hooks")
		in := models.CreateEventInput{MerchantID: "mch_demo", ObjectID: p.ID, Type: models.EventPaymentSucceeded, NotifyURL: p.NotifyURL}
		res, err := f.acts.CreateEvent(ctx, in)
		require.NoError(t, err)
		require.True(t, res.Created)
		require.True(t, models.ValidID(models.PrefixEvent, res.EventID))

		again, err := f.acts.CreateEvent(ctx, in)
		require.NoError(t, err)
		require.Equal(t, models.CreateEventResult{EventID: res.EventID, Created: false}, again)

		ev, err := f.st.Event(ctx, "mch_demo", res.EventID)
		require.NoError(t, err)
		want, err := json.Marshal(p) // what GET /v1/payments/{id} answers
		require.NoError(t, err)
		require.JSONEq(t, string(want), string(ev.Data))
		require.Equal(t, p.ID, ev.ObjectID)

		now := time.Now().UTC()
		top := models.Topup{ID: models.NewID(models.PrefixTopup), Object: "topup", MerchantID: "mch_demo", AccountID: "acct_x",
			Amount: 500, Currency: "CNY", Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_decline"},
			Channel: "banksim", Status: models.TopupFailed, FailureCode: models.FailureCardDeclined,
			NotifyURL: "https://merchant.example/hooks", CreatedAt: now, UpdatedAt: now}
		require.NoError(t, f.st.DB().Transaction(func(tx *gorm.DB) error { return store.InsertTopup(tx, top) }))
		tres, err := f.acts.CreateEvent(ctx, models.CreateEventInput{MerchantID: "mch_demo", ObjectID: top.ID, Type: models.EventTopupFailed, NotifyURL: top.NotifyURL})
		require.NoError(t, err)
		tev, err := f.st.Event(ctx, "mch_demo", tres.EventID)
		require.NoError(t, err)
		var data models.Topup
		require.NoError(t, json.Unmarshal(tev.Data, &data))
		require.Equal(t, models.FailureCardDeclined, data.FailureCode)
	})
}

// Events that cannot be stored as asked are refused without retries.
func TestCreateEventRefusals(t *testing.T) {
	f := newWebhookFixture(t, testenv.SQLite, true)
	p := f.payment(t, "mch_demo", "https://merchant.example/hooks")
	theirs := f.payment(t, "mch_other", "https://other.example/hooks")
	tests := []struct {
		name string
		in   models.CreateEventInput
	}{
		{"unknown type", models.CreateEventInput{MerchantID: "mch_demo", ObjectID: p.ID, Type: "payment.processing", NotifyURL: p.NotifyURL}},
		{"type of another kind of object", models.CreateEventInput{MerchantID: "mch_demo", ObjectID: p.ID, Type: models.EventTopupSucceeded, NotifyURL: p.NotifyURL}},
		{"kind not supported yet", models.CreateEventInput{MerchantID: "mch_demo", ObjectID: "re_1", Type: models.EventRefundSucceeded, NotifyURL: p.NotifyURL}},
		{"object of another merchant", models.CreateEventInput{MerchantID: "mch_demo", ObjectID: theirs.ID, Type: models.EventPaymentSucceeded, NotifyURL: p.NotifyURL}},
		{"missing object", models.CreateEventInput{MerchantID: "mch_demo", ObjectID: "pay_nope", Type: models.EventPaymentSucceeded, NotifyURL: p.NotifyURL}},
		{"not an http url", models.CreateEventInput{MerchantID: "mch_demo", ObjectID: p.ID, Type: models.EventPaymentSucceeded, NotifyURL: "ftp://x/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.acts.CreateEvent(context.Background(), tc.in)
			typ, nonRetryable := errType(err)
			require.Equal(t, models.ErrTypeInvalidEvent, typ, "%v", err)
			require.True(t, nonRetryable)
		})
	}
	events, _, err := f.st.ListEvents(context.Background(), store.ListQuery{MerchantID: "mch_demo", Limit: 10})
	require.NoError(t, err)
	require.Empty(t, events)
}

// receiver is a merchant's endpoint that answers from a script and keeps what it got.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	got      []*http.Request
	bodies   [][]byte
	srv      *httptest.Server
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	r := &receiver{statuses: statuses}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		code := http.StatusOK
		if len(r.got) < len(r.statuses) {
			code = r.statuses[len(r.got)]
		}
		r.got = append(r.got, req)
		r.bodies = append(r.bodies, body)
		r.mu.Unlock()
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (f *webhookFixture) storedEvent(t *testing.T, url string) models.Event {
	t.Helper()
	return f.storedEventOf(t, "mch_demo", url)
}

func (f *webhookFixture) storedEventOf(t *testing.T, merchant, url string) models.Event {
	t.Helper()
	p := f.payment(t, merchant, url)
	res, err := f.acts.CreateEvent(context.Background(), models.CreateEventInput{MerchantID: merchant, ObjectID: p.ID, Type: models.EventPaymentSucceeded, NotifyURL: url})
	require.NoError(t, err)
	ev, err := f.st.Event(context.Background(), merchant, res.EventID)
	require.NoError(t, err)
	return ev
}

func (f *webhookFixture) attempts(t *testing.T, eventID string) []models.WebhookAttempt {
	t.Helper()
	all, err := f.st.WebhookAttempts(context.Background(), []string{eventID})
	require.NoError(t, err)
	return all[eventID]
}

// Each attempt POSTs the same bytes with the event id, signed with the merchant's
// webhook secret (not its API secret) at its own time; a receiver verifies it as
// docs/api.md says, and every attempt is recorded.
func TestDeliverWebhookBodyAndSignature(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newWebhookFixture(t, b, true)
		rcv := newReceiver(t, http.StatusInternalServerError)
		ev := f.storedEvent(t, rcv.srv.URL+"/hooks?src=payflow")
		in := models.DeliverWebhookInput{EventID: ev.ID, MerchantID: "mch_demo", DeliveryID: "run-1"}

		_, err := f.acts.DeliverWebhook(context.Background(), in)
		typ, nonRetryable := errType(err)
		require.Equal(t, models.ErrTypeWebhookFailed, typ)
		require.False(t, nonRetryable, "a 500 is retried")
		res, err := f.acts.DeliverWebhook(context.Background(), in)
		require.NoError(t, err)
		require.Equal(t, models.DeliverWebhookResult{StatusCode: 200, Attempt: 2}, res)

		require.Len(t, rcv.got, 2)
		require.Equal(t, rcv.bodies[0], rcv.bodies[1], "attempts must send byte-identical bodies")
		var sigs []string
		for i, req := range rcv.got {
			require.Equal(t, http.MethodPost, req.Method)
			require.Equal(t, "/hooks", req.URL.Path)
			require.Equal(t, "application/json", req.Header.Get("Content-Type"))
			require.Equal(t, "payflow-webhooks/1", req.Header.Get("User-Agent"))
			require.Equal(t, ev.ID, req.Header.Get("X-Payflow-Event-Id"))
			sig := req.Header.Get("X-Payflow-Signature")
			require.NoError(t, signing.VerifyWebhook(demoWebhookSecret, sig, rcv.bodies[i], f.clock, 5*time.Minute))
			require.ErrorIs(t, signing.VerifyWebhook(demoSecret, sig, rcv.bodies[i], f.clock, 5*time.Minute), signing.ErrBadSignature,
				"the API secret must not verify a webhook")
			require.ErrorIs(t, signing.VerifyWebhook("other_secret", sig, rcv.bodies[i], f.clock, 5*time.Minute), signing.ErrBadSignature)
			sigs = append(sigs, sig)
		}
		require.NotEqual(t, sigs[0], sigs[1], "each attempt signs at its own time")

		var env struct {
			ID      string          `json:"id"`
			Type    string          `json:"type"`
			Created time.Time       `json:"created"`
			Data    json.RawMessage `json:"data"`
		}
		require.NoError(t, json.Unmarshal(rcv.bodies[0], &env))
		require.Equal(t, ev.ID, env.ID)
		require.Equal(t, "payment.succeeded", env.Type)
		require.True(t, ev.CreatedAt.Equal(env.Created))
		require.JSONEq(t, string(ev.Data), string(env.Data))
		body, err := ev.WebhookBody()
		require.NoError(t, err)
		require.Equal(t, body, rcv.bodies[0])

		att := f.attempts(t, ev.ID)
		require.Len(t, att, 2)
		require.Equal(t, 500, att[0].StatusCode)
		require.Equal(t, "the endpoint answered HTTP 500", att[0].Error)
		require.Equal(t, 200, att[1].StatusCode)
		require.Equal(t, "run-1", att[1].DeliveryID)
		require.Empty(t, att[1].Error)
	})
}

// A webhook secret rotation: during the overlap each delivery carries two v1= pairs,
// the new secret's first, and a receiver holding either secret verifies it; after it,
// only the new one. A merchant without a webhook secret signs with its API secret
// until its first rotation, whose overlap keeps the API secret's signature.
func TestDeliverWebhookSecretRotation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newWebhookFixture(t, b, true)
		ctx := context.Background()
		rcv := newReceiver(t)
		deliver := func(merchant string) (string, []byte) {
			t.Helper()
			ev := f.storedEventOf(t, merchant, rcv.srv.URL+"/hooks")
			_, err := f.acts.DeliverWebhook(ctx, models.DeliverWebhookInput{EventID: ev.ID, MerchantID: merchant, DeliveryID: "run-1"})
			require.NoError(t, err)
			n := len(rcv.got)
			return rcv.got[n-1].Header.Get("X-Payflow-Signature"), rcv.bodies[n-1]
		}
		verifies := func(secret, sig string, body []byte) bool {
			return signing.VerifyWebhook(secret, sig, body, f.clock, 5*time.Minute) == nil
		}
		pairs := func(sig string) int { return strings.Count(sig, "v1=") }

		// The demo merchant: overlap, then no overlap.
		expires, err := f.st.RotateWebhookSecret(ctx, "mch_demo", "whsec_new", time.Hour, time.Now())
		require.NoError(t, err)
		require.WithinDuration(t, time.Now().Add(time.Hour), expires, 5*time.Second)
		sig, body := deliver("mch_demo")
		require.Equal(t, 2, pairs(sig), sig)
		ts := strings.TrimPrefix(strings.Split(sig, ",")[0], "t=")
		at, err := strconv.ParseInt(ts, 10, 64)
		require.NoError(t, err)
		require.Equal(t, signing.SignWebhookAll([]string{"whsec_new", demoWebhookSecret}, at, body), sig, "newest first")
		require.True(t, verifies("whsec_new", sig, body))
		require.True(t, verifies(demoWebhookSecret, sig, body))
		require.False(t, verifies(demoSecret, sig, body))

		_, err = f.st.RotateWebhookSecret(ctx, "mch_demo", "whsec_newer", 0, time.Now())
		require.NoError(t, err)
		sig, body = deliver("mch_demo")
		require.Equal(t, 1, pairs(sig), sig)
		require.True(t, verifies("whsec_newer", sig, body))
		require.False(t, verifies("whsec_new", sig, body), "the overlap ended")

		// A merchant created before webhook secrets.
		sig, body = deliver("mch_other")
		require.Equal(t, 1, pairs(sig), sig)
		require.True(t, verifies("other_secret", sig, body), "signed with its API secret until a webhook rotation")
		_, err = f.st.RotateWebhookSecret(ctx, "mch_other", "whsec_other", time.Hour, time.Now())
		require.NoError(t, err)
		sig, body = deliver("mch_other")
		require.Equal(t, 2, pairs(sig), sig)
		require.True(t, verifies("whsec_other", sig, body))
		require.True(t, verifies("other_secret", sig, body), "receivers with the API secret keep working through the overlap")
		_, err = f.st.RotateWebhookSecret(ctx, "mch_other", "whsec_other2", 0, time.Now())
		require.NoError(t, err)
		sig, body = deliver("mch_other")
		require.True(t, verifies("whsec_other2", sig, body))
		require.False(t, verifies("other_secret", sig, body))
		require.False(t, verifies("whsec_other", sig, body))

		// Expired previous webhook secrets are purged.
		n, err := f.st.PurgeExpiredSecrets(ctx, time.Now().Add(time.Second))
		require.NoError(t, err)
		require.Equal(t, int64(2), n)
	})
}

// What ends a delivery and what is retried, each attempt recorded.
func TestDeliverWebhookOutcomes(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tests := []struct {
		name         string
		allowPrivate bool
		status       int
		url          string
		wantType     string
		nonRetryable bool
		gaveUp       bool
		reached      bool
	}{
		{"410 gone stops", true, http.StatusGone, "", models.ErrTypeWebhookGone, true, true, true},
		{"404 retries", true, http.StatusNotFound, "", models.ErrTypeWebhookFailed, false, false, true},
		{"redirect is not followed and retries", true, http.StatusFound, "", models.ErrTypeWebhookFailed, false, false, true},
		{"loopback refused in production", false, http.StatusOK, "", models.ErrTypeWebhookRefused, true, true, false},
		{"unreachable retries", true, 0, closedURL + "/hooks", models.ErrTypeWebhookFailed, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newWebhookFixture(t, testenv.SQLite, tc.allowPrivate)
			rcv := newReceiver(t, tc.status)
			url := tc.url
			if url == "" {
				url = rcv.srv.URL + "/hooks"
			}
			ev := f.storedEvent(t, url)
			_, err := f.acts.DeliverWebhook(context.Background(), models.DeliverWebhookInput{EventID: ev.ID, MerchantID: "mch_demo", DeliveryID: "run-1"})
			typ, nonRetryable := errType(err)
			require.Equal(t, tc.wantType, typ, "%v", err)
			require.Equal(t, tc.nonRetryable, nonRetryable)
			require.Equal(t, tc.reached, len(rcv.got) == 1)
			att := f.attempts(t, ev.ID)
			require.Len(t, att, 1, "every attempt is recorded")
			require.Equal(t, tc.gaveUp, att[0].GaveUp)
			require.NotEmpty(t, att[0].Error)
			require.NotContains(t, att[0].Error, "/hooks", "the recorded error must not carry the URL")
			if tc.reached {
				require.Equal(t, tc.status, att[0].StatusCode)
			} else {
				require.Zero(t, att[0].StatusCode)
			}
		})
	}
}

// An event that is not the merchant's is never sent, and nothing is recorded.
func TestDeliverWebhookUnknownEvent(t *testing.T) {
	f := newWebhookFixture(t, testenv.SQLite, true)
	rcv := newReceiver(t)
	ev := f.storedEvent(t, rcv.srv.URL)
	_, err := f.acts.DeliverWebhook(context.Background(), models.DeliverWebhookInput{EventID: ev.ID, MerchantID: "mch_other", DeliveryID: "run-1"})
	typ, nonRetryable := errType(err)
	require.Equal(t, models.ErrTypeEventNotFound, typ)
	require.True(t, nonRetryable)
	require.Empty(t, rcv.got)
	require.Empty(t, f.attempts(t, ev.ID))
}
