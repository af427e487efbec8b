package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

func (f *fakeStarter) RedeliverEvent(_ context.Context, in models.WebhookDeliveryInput) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.fail:
		return fmt.Errorf("temporal down")
	case f.deliveryRunning:
		return fmt.Errorf("redeliver: %w", starter.ErrFlowRunning)
	}
	f.redeliveries = append(f.redeliveries, in)
	return nil
}

func (f *fakeStarter) redelivered() []models.WebhookDeliveryInput {
	return recorded(f, &f.redeliveries)
}

// eventJSON is an event as the API shows it.
type eventJSON struct {
	ID       string          `json:"id"`
	Object   string          `json:"object"`
	Type     string          `json:"type"`
	ObjectID string          `json:"object_id"`
	Created  time.Time       `json:"created"`
	Data     json.RawMessage `json:"data"`
	Delivery struct {
		Status         string     `json:"status"`
		Attempts       int        `json:"attempts"`
		LastAttemptAt  *time.Time `json:"last_attempt_at"`
		LastStatusCode *int       `json:"last_status_code"`
	} `json:"delivery"`
}

func (a *api) storeEvent(t *testing.T, merchant, object string) models.Event {
	t.Helper()
	ev, _, err := a.store.CreateEvent(context.Background(), models.Event{
		ID: models.NewID(models.PrefixEvent), MerchantID: merchant, Type: models.EventPaymentSucceeded, ObjectID: object,
		NotifyURL: "https://merchant.example/hooks", Data: json.RawMessage(`{"id":"` + object + `","status":"succeeded"}`), CreatedAt: time.Now(),
	})
	require.NoError(t, err)
	return ev
}

func (a *api) attempt(t *testing.T, eventID string, code int) {
	t.Helper()
	_, err := a.store.RecordWebhookAttempt(context.Background(), models.WebhookAttempt{
		EventID: eventID, DeliveryID: "run-1", At: time.Now(), StatusCode: code, Duration: time.Millisecond,
	})
	require.NoError(t, err)
}

func TestListAndGetEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		ctx := context.Background()
		e1 := a.storeEvent(t, "mch_demo", "pay_1")
		e2 := a.storeEvent(t, "mch_demo", "pay_2")
		e3 := a.storeEvent(t, "mch_demo", "pay_3")
		theirs := a.storeEvent(t, "mch_other", "pay_4")
		a.attempt(t, e1.ID, 500)
		a.attempt(t, e1.ID, 200)
		a.attempt(t, e2.ID, 503)

		r, err := a.c.Get(ctx, "/v1/events?limit=2")
		require.NoError(t, err)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var page struct {
			Data    []eventJSON `json:"data"`
			HasMore bool        `json:"has_more"`
		}
		require.NoError(t, r.JSON(&page))
		require.True(t, page.HasMore)
		require.Len(t, page.Data, 2)
		require.Equal(t, e3.ID, page.Data[0].ID, "newest first")
		require.Equal(t, "pending", page.Data[0].Delivery.Status)
		require.Zero(t, page.Data[0].Delivery.Attempts)
		require.Nil(t, page.Data[0].Delivery.LastAttemptAt)
		require.Equal(t, e2.ID, page.Data[1].ID)
		require.Equal(t, "pending", page.Data[1].Delivery.Status)
		require.Equal(t, 1, page.Data[1].Delivery.Attempts)
		require.Equal(t, 503, *page.Data[1].Delivery.LastStatusCode)

		r, err = a.c.Get(ctx, "/v1/events?limit=2&starting_after="+e2.ID)
		require.NoError(t, err)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		require.NoError(t, r.JSON(&page))
		require.False(t, page.HasMore)
		require.Len(t, page.Data, 1, "another merchant's event is never listed")
		got := page.Data[0]
		require.Equal(t, e1.ID, got.ID)
		require.Equal(t, "event", got.Object)
		require.Equal(t, "payment.succeeded", got.Type)
		require.Equal(t, "pay_1", got.ObjectID)
		require.JSONEq(t, `{"id":"pay_1","status":"succeeded"}`, string(got.Data))
		require.Equal(t, "delivered", got.Delivery.Status)
		require.Equal(t, 2, got.Delivery.Attempts)
		require.Equal(t, 200, *got.Delivery.LastStatusCode)
		require.NotNil(t, got.Delivery.LastAttemptAt)

		r, err = a.c.Get(ctx, "/v1/events/"+e1.ID)
		require.NoError(t, err)
		require.Equal(t, 200, r.Status, "%s", r.Body)
		var one eventJSON
		require.NoError(t, r.JSON(&one))
		require.Equal(t, got, one)

		tests := []struct {
			name, target string
			status       int
			code         string
		}{
			{"another merchant's event", "/v1/events/" + theirs.ID, 404, "not_found"},
			{"unknown event", "/v1/events/evt_nope", 404, "not_found"},
			{"not an event id", "/v1/events/pay_1", 404, "not_found"},
			{"limit zero", "/v1/events?limit=0", 400, "invalid_request"},
			{"limit too big", "/v1/events?limit=101", 400, "invalid_request"},
			{"starting_after of another merchant", "/v1/events?starting_after=" + theirs.ID, 400, "invalid_request"},
			{"starting_after not an event", "/v1/events?starting_after=pay_1", 400, "invalid_request"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r, err := a.c.Get(ctx, tc.target)
				require.NoError(t, err)
				require.Equal(t, tc.status, r.Status, "%s", r.Body)
				require.Equal(t, tc.code, decodeProblem(t, r).Code)
			})
		}
	})
}

func TestRedeliverEvent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		ctx := context.Background()
		ev := a.storeEvent(t, "mch_demo", "pay_1")
		a.attempt(t, ev.ID, 200)
		theirs := a.storeEvent(t, "mch_other", "pay_2")
		redeliver := func(id, body string) *client.Response {
			t.Helper()
			r, err := a.c.Do(ctx, client.Request{Method: "POST", Target: "/v1/events/" + id + "/redeliver", Body: []byte(body)})
			require.NoError(t, err)
			return r
		}

		r := redeliver(ev.ID, "")
		require.Equal(t, 202, r.Status, "%s", r.Body)
		var got eventJSON
		require.NoError(t, r.JSON(&got))
		require.Equal(t, ev.ID, got.ID)
		require.Equal(t, "pending", got.Delivery.Status, "a new delivery has started")
		require.Equal(t, 1, got.Delivery.Attempts)
		require.Equal(t, []models.WebhookDeliveryInput{{EventID: ev.ID, MerchantID: "mch_demo"}}, a.starter.redelivered())

		require.Equal(t, 202, redeliver(ev.ID, "{}").Status, "an empty JSON object is an empty body")

		refusals := []struct {
			name, id, body string
			running, fail  bool
			status         int
			code           string
		}{
			{"another merchant's event", theirs.ID, "", false, false, 404, "not_found"},
			{"unknown event", "evt_nope", "", false, false, 404, "not_found"},
			{"unknown field", ev.ID, `{"url":"https://elsewhere.example"}`, false, false, 400, "invalid_request"},
			{"delivery running", ev.ID, "", true, false, 409, "conflict"},
			{"temporal down", ev.ID, "", false, true, 503, "service_unavailable"},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				a.starter.mu.Lock()
				a.starter.deliveryRunning, a.starter.fail = tc.running, tc.fail
				a.starter.mu.Unlock()
				defer func() {
					a.starter.mu.Lock()
					a.starter.deliveryRunning, a.starter.fail = false, false
					a.starter.mu.Unlock()
				}()
				r := redeliver(tc.id, tc.body)
				require.Equal(t, tc.status, r.Status, "%s", r.Body)
				require.Equal(t, tc.code, decodeProblem(t, r).Code)
			})
		}
		require.Len(t, a.starter.redelivered(), 2, "a refused redelivery started nothing")
	})
}
