package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/signing"
	"github.com/payflow/payflow/models"
)

// received is one webhook request as the merchant's endpoint saw it.
type received struct {
	at        time.Time
	eventID   string
	signature string
	body      []byte
	answered  int
}

// webhookReceiver is a merchant's endpoint in the test process. Under /flaky/ it
// answers the first two deliveries of each event 500 and accepts the later ones; under
// /down/ it always answers 500; under /ok/ it accepts every one.
type webhookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string][]received // by path
}

func newWebhookReceiver(t *testing.T) *webhookReceiver {
	r := &webhookReceiver{got: map[string][]received{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		eventID := req.Header.Get("X-Payflow-Event-Id")
		r.mu.Lock()
		seen := 0
		for _, g := range r.got[req.URL.Path] {
			if g.eventID == eventID {
				seen++
			}
		}
		code := http.StatusOK
		if strings.HasPrefix(req.URL.Path, "/down/") || seen < 2 && !strings.HasPrefix(req.URL.Path, "/ok/") {
			code = http.StatusInternalServerError
		}
		r.got[req.URL.Path] = append(r.got[req.URL.Path], received{
			at: time.Now(), eventID: eventID, signature: req.Header.Get("X-Payflow-Signature"), body: body, answered: code,
		})
		r.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *webhookReceiver) requests(path string) []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got[path]...)
}

type eventView struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	ObjectID string          `json:"object_id"`
	Data     json.RawMessage `json:"data"`
	Delivery struct {
		Status         string `json:"status"`
		Attempts       int    `json:"attempts"`
		LastStatusCode *int   `json:"last_status_code"`
	} `json:"delivery"`
}

// eventOf finds the event of an object in the merchant's newest events.
func eventOf(c *assert.CollectT, s *Stack, objectID string) (eventView, bool) {
	r, err := s.Client(0).Get(context.Background(), "/v1/events?limit=100")
	if !assert.NoError(c, err) || !assert.Equal(c, 200, r.Status, "%s", r.Body) {
		return eventView{}, false
	}
	var page struct{ Data []eventView }
	if !assert.NoError(c, r.JSON(&page)) {
		return eventView{}, false
	}
	for _, e := range page.Data {
		if e.ObjectID == objectID {
			return e, true
		}
	}
	assert.Fail(c, "no event of "+objectID+" yet")
	return eventView{}, false
}

// A payment with a notify_url is POSTed there as one event: refused twice (500), the
// endpoint accepts the third attempt; every attempt carries the same event id and
// body with a signature that verifies with the demo merchant's webhook secret
// (whsec_demo_change_me), not with its API secret, after waits that grow (5 s, then
// 10 s). The event lists
// as delivered after 3 attempts, and a redelivery sends it once more.
func TestWebhookDeliveredAfterTwoFailures(t *testing.T) {
	rcv := newWebhookReceiver(t)
	eachStack(t, func(t *testing.T, s *Stack) {
		t.Parallel()
		tc := temporalClient(t, s)
		ctx := context.Background()
		path := "/flaky/" + s.Opts.Name
		body := card(1050, "tok_success")
		body["notify_url"] = rcv.srv.URL + path
		p := createPayment(t, s, body)
		require.Equal(t, models.PaymentSucceeded, waitPayment(t, s, p.ID, 60*time.Second).Status)

		var ev eventView
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			e, ok := eventOf(c, s, p.ID)
			if ok && assert.Equal(c, "delivered", e.Delivery.Status) {
				ev = e
			}
		}, 45*time.Second, 250*time.Millisecond)
		require.Equal(t, "payment.succeeded", ev.Type)
		require.Equal(t, 3, ev.Delivery.Attempts)
		require.Equal(t, 200, *ev.Delivery.LastStatusCode)

		got := rcv.requests(path)
		require.Len(t, got, 3)
		for i, g := range got {
			require.Equal(t, ev.ID, g.eventID, "attempt %d", i+1)
			require.Equal(t, got[0].body, g.body, "attempt %d sent other bytes", i+1)
			require.NoError(t, signing.VerifyWebhook(DemoWebhookSecret, g.signature, g.body, g.at, 5*time.Minute), "attempt %d", i+1)
			require.ErrorIs(t, signing.VerifyWebhook(DemoSecret, g.signature, g.body, g.at, 5*time.Minute), signing.ErrBadSignature,
				"attempt %d: the API secret must not verify a webhook", i+1)
		}
		require.Equal(t, []int{500, 500, 200}, []int{got[0].answered, got[1].answered, got[2].answered})
		first, second := got[1].at.Sub(got[0].at), got[2].at.Sub(got[1].at)
		require.GreaterOrEqual(t, first, 5*time.Second, "first retry came too early")
		require.GreaterOrEqual(t, second, 10*time.Second, "second retry came too early")
		require.Less(t, first, 10*time.Second, "first retry is about 5 s after the failure")
		require.Greater(t, second, first, "the wait grows")

		var sent struct {
			ID      string         `json:"id"`
			Type    string         `json:"type"`
			Created time.Time      `json:"created"`
			Data    models.Payment `json:"data"`
		}
		require.NoError(t, json.Unmarshal(got[0].body, &sent))
		require.Equal(t, ev.ID, sent.ID)
		require.Equal(t, "payment.succeeded", sent.Type)
		require.Equal(t, p.ID, sent.Data.ID)
		require.Equal(t, models.PaymentSucceeded, sent.Data.Status)
		require.False(t, sent.Created.IsZero())

		d, err := tc.DescribeWorkflowExecution(ctx, "webhook/mch_demo/"+ev.ID, "")
		require.NoError(t, err)
		require.Contains(t, string(d.WorkflowExecutionInfo.SearchAttributes.IndexedFields["PayflowFlow"].GetData()), "webhook")

		// Redeliver: once the first delivery has closed, the same event goes again.
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			r, err := s.Client(0).Post(ctx, "/v1/events/"+ev.ID+"/redeliver", map[string]any{}, "")
			if assert.NoError(c, err) {
				assert.Equal(c, 202, r.Status, "%s", r.Body)
			}
		}, 15*time.Second, 250*time.Millisecond)
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			e, ok := eventOf(c, s, p.ID)
			if ok {
				assert.Equal(c, 4, e.Delivery.Attempts)
				assert.Equal(c, "delivered", e.Delivery.Status)
			}
		}, 15*time.Second, 250*time.Millisecond)
		got = rcv.requests(path)
		require.Len(t, got, 4)
		require.Equal(t, ev.ID, got[3].eventID)
		require.Equal(t, got[0].body, got[3].body, "a redelivery sends the same event")
		require.NoError(t, signing.VerifyWebhook(DemoWebhookSecret, got[3].signature, got[3].body, got[3].at, 5*time.Minute))
	})
}

// An onboarded merchant's webhooks verify with the webhook_secret its creation
// answered, not with its API secret. After rotate-webhook-secret with an overlap, a
// delivery carries two v1= pairs (the new secret's first) and verifies with either
// secret; after a rotation without overlap, only with the newest.
func TestWebhookSecretRotationEndToEnd(t *testing.T) {
	rcv := newWebhookReceiver(t)
	eachStack(t, func(t *testing.T, s *Stack) {
		t.Parallel()
		ctx := context.Background()
		path := "/ok/" + s.Opts.Name
		m := onboard(t, s, `{"name":"Hooked","notify_url":"`+rcv.srv.URL+path+`"}`)
		require.True(t, strings.HasPrefix(m.WebhookSecret, "whsec_"), m.WebhookSecret)
		c := s.ClientFor(0, m.ID, m.Secret)
		deliver := func() received {
			t.Helper()
			r, err := c.Post(ctx, "/v1/payments", card(1050, "tok_success"), "e2e-"+models.NewID(""))
			require.NoError(t, err)
			require.Equal(t, 202, r.Status, "%s", r.Body)
			n := len(rcv.requests(path))
			require.EventuallyWithT(t, func(ct *assert.CollectT) {
				assert.Len(ct, rcv.requests(path), n+1)
			}, 60*time.Second, 250*time.Millisecond)
			got := rcv.requests(path)
			return got[len(got)-1]
		}
		verifies := func(secret string, g received) bool {
			return signing.VerifyWebhook(secret, g.signature, g.body, g.at, 5*time.Minute) == nil
		}
		rotate := func(body string) string {
			t.Helper()
			r, err := s.Ops(ctx, "POST", "/v1/ops/merchants/"+m.ID+"/rotate-webhook-secret", body)
			require.NoError(t, err)
			require.Equal(t, 200, r.Status, "%s", r.Body)
			var rot struct {
				WebhookSecret string `json:"webhook_secret"`
			}
			require.NoError(t, json.Unmarshal(r.Body, &rot))
			rememberSecret(m.ID, rot.WebhookSecret, false)
			return rot.WebhookSecret
		}

		g := deliver()
		require.Equal(t, 1, strings.Count(g.signature, "v1="), g.signature)
		require.True(t, verifies(m.WebhookSecret, g))
		require.False(t, verifies(m.Secret, g), "the API secret must not verify a webhook")

		w2 := rotate(`{"overlap_seconds":600}`)
		g = deliver()
		require.Equal(t, 2, strings.Count(g.signature, "v1="), g.signature)
		require.True(t, verifies(w2, g), "a receiver that switched")
		require.True(t, verifies(m.WebhookSecret, g), "a receiver that has not switched yet")
		tPart, _, _ := strings.Cut(g.signature, ",")
		ts, err := strconv.ParseInt(strings.TrimPrefix(tPart, "t="), 10, 64)
		require.NoError(t, err)
		require.Equal(t, signing.SignWebhookAll([]string{w2, m.WebhookSecret}, ts, g.body), g.signature, "the new secret's pair first")

		w3 := rotate(`{"overlap_seconds":0}`)
		g = deliver()
		require.Equal(t, 1, strings.Count(g.signature, "v1="), g.signature)
		require.True(t, verifies(w3, g))
		require.False(t, verifies(w2, g), "the overlap ended")
		require.False(t, verifies(m.WebhookSecret, g))
	})
}

// While an event's delivery is still retrying, a redelivery is refused with 409.
func TestWebhookRedeliverWhileRetrying(t *testing.T) {
	rcv := newWebhookReceiver(t)
	eachStack(t, func(t *testing.T, s *Stack) {
		t.Parallel()
		path := "/down/" + s.Opts.Name
		body := card(1050, "tok_decline")
		body["notify_url"] = rcv.srv.URL + path
		p := createPayment(t, s, body)
		require.Equal(t, models.PaymentFailed, waitPayment(t, s, p.ID, 60*time.Second).Status)
		var ev eventView
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			e, ok := eventOf(c, s, p.ID)
			if ok && assert.Positive(c, e.Delivery.Attempts) {
				ev = e
			}
		}, 30*time.Second, 250*time.Millisecond)
		require.Equal(t, "payment.failed", ev.Type)
		require.Equal(t, "pending", ev.Delivery.Status)
		require.Equal(t, 500, *ev.Delivery.LastStatusCode)

		r, err := s.Client(0).Post(context.Background(), "/v1/events/"+ev.ID+"/redeliver", map[string]any{}, "")
		require.NoError(t, err)
		require.Equal(t, 409, r.Status, "%s", r.Body)
		var prob struct{ Code string }
		require.NoError(t, r.JSON(&prob))
		require.Equal(t, "conflict", prob.Code)
	})
}
