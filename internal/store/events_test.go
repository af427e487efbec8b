package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/secretbox"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

func newStore(t testing.TB, b testenv.Backend) *store.Store {
	t.Helper()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	return store.New(testenv.Open(t, b), box)
}

// eachBackend runs fn once per database backend, as a subtest.
func eachBackend(t *testing.T, fn func(t *testing.T, b testenv.Backend)) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) { fn(t, b) })
	}
}

// forEachBackend runs fn once per database backend with a store on a fresh database.
func forEachBackend(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) { fn(t, newStore(t, b)) })
}

func event(merchant, object string, typ models.EventType, data string) models.Event {
	return models.Event{
		ID: models.NewID(models.PrefixEvent), MerchantID: merchant, Type: typ, ObjectID: object,
		NotifyURL: "https://merchant.example/hooks", Data: json.RawMessage(data), CreatedAt: time.Now(),
	}
}

// One event per (object, type): a second store of it (a replayed flow, with a fresh
// id and a later snapshot) finds the first, unchanged.
func TestCreateEventOncePerObjectAndType(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		first, created, err := st.CreateEvent(ctx, event("mch_a", "pay_1", models.EventPaymentSucceeded, `{"id":"pay_1","status":"succeeded"}`))
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, "event", first.Object)

		again, created, err := st.CreateEvent(ctx, event("mch_a", "pay_1", models.EventPaymentSucceeded, `{"id":"pay_1","status":"partially_refunded"}`))
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, first.ID, again.ID)
		require.JSONEq(t, `{"id":"pay_1","status":"succeeded"}`, string(again.Data))
		require.True(t, first.CreatedAt.Equal(again.CreatedAt), "%s != %s", first.CreatedAt, again.CreatedAt)

		stored, err := st.Event(ctx, "mch_a", first.ID)
		require.NoError(t, err)
		require.Equal(t, first.ID, stored.ID)
		require.True(t, first.CreatedAt.Equal(stored.CreatedAt), "the event read back is not the one returned")
		require.Equal(t, first.Data, stored.Data)

		other, created, err := st.CreateEvent(ctx, event("mch_a", "pay_1", models.EventPaymentFailed, `{}`))
		require.NoError(t, err)
		require.True(t, created, "another type of the same object is another event")
		require.NotEqual(t, first.ID, other.ID)

		_, _, err = st.CreateEvent(ctx, event("mch_b", "pay_1", models.EventPaymentSucceeded, `{}`))
		require.Error(t, err, "another merchant's object must not yield this merchant's event")
	})
}

func TestListEventsNewestFirstAndOwnOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		var ids []string
		for i := 0; i < 5; i++ {
			e, _, err := st.CreateEvent(ctx, event("mch_a", fmt.Sprintf("pay_%d", i), models.EventPaymentSucceeded, `{}`))
			require.NoError(t, err)
			ids = append(ids, e.ID)
		}
		theirs, _, err := st.CreateEvent(ctx, event("mch_b", "pay_b", models.EventPaymentSucceeded, `{}`))
		require.NoError(t, err)

		page, more, err := st.ListEvents(ctx, store.ListQuery{MerchantID: "mch_a", Limit: 3})
		require.NoError(t, err)
		require.True(t, more)
		require.Equal(t, []string{ids[4], ids[3], ids[2]}, eventIDs(page))
		page, more, err = st.ListEvents(ctx, store.ListQuery{MerchantID: "mch_a", Limit: 3, StartingAfter: ids[2]})
		require.NoError(t, err)
		require.False(t, more)
		require.Equal(t, []string{ids[1], ids[0]}, eventIDs(page))

		_, err = st.Event(ctx, "mch_a", theirs.ID)
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}

// Attempts are numbered across deliveries; the delivery state is derived from them.
func TestWebhookAttemptsAndDeliveryState(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e, _, err := st.CreateEvent(ctx, event("mch_a", "pay_1", models.EventPaymentSucceeded, `{}`))
		require.NoError(t, err)
		t0 := time.Now().UTC().Truncate(time.Millisecond)
		state := func(now time.Time) models.EventDelivery {
			t.Helper()
			d, err := st.EventDeliveries(ctx, []string{e.ID}, now)
			require.NoError(t, err)
			return d[e.ID]
		}
		record := func(delivery string, at time.Time, code int, errText string, gaveUp bool) int {
			t.Helper()
			n, err := st.RecordWebhookAttempt(ctx, models.WebhookAttempt{
				EventID: e.ID, DeliveryID: delivery, At: at, StatusCode: code, Error: errText,
				Duration: 120 * time.Millisecond, GaveUp: gaveUp,
			})
			require.NoError(t, err)
			return n
		}

		require.Equal(t, models.EventDelivery{Status: models.DeliveryPending}, state(t0))

		require.Equal(t, 1, record("run1", t0, 500, "the endpoint answered HTTP 500", false))
		require.Equal(t, 2, record("run1", t0.Add(5*time.Second), 0, strings.Repeat("é", 2000), false))
		d := state(t0.Add(time.Minute))
		require.Equal(t, models.DeliveryPending, d.Status)
		require.Equal(t, 2, d.Attempts)
		require.Nil(t, d.LastStatusCode, "no answer came to the last attempt")
		require.True(t, t0.Add(5*time.Second).Equal(*d.LastAttemptAt))
		// 24 hours after the delivery's first attempt, without a 2xx, it has failed.
		require.Equal(t, models.DeliveryFailed, state(t0.Add(models.WebhookDeliveryWindow)).Status)

		require.Equal(t, 3, record("run1", t0.Add(20*time.Second), 204, "", false))
		d = state(t0.Add(48 * time.Hour))
		require.Equal(t, models.DeliveryDelivered, d.Status)
		require.Equal(t, 3, d.Attempts)
		require.Equal(t, 204, *d.LastStatusCode)

		// A redelivery is a new delivery: its own state, the attempts counted on.
		require.Equal(t, 4, record("run2", t0.Add(time.Hour), 410, "the endpoint answered 410 Gone", true))
		d = state(t0.Add(time.Hour))
		require.Equal(t, models.DeliveryFailed, d.Status, "410 ends the delivery")
		require.Equal(t, 4, d.Attempts)
		require.Equal(t, 5, record("run3", t0.Add(2*time.Hour), 200, "", false))
		require.Equal(t, models.DeliveryDelivered, state(t0.Add(2*time.Hour)).Status)

		all, err := st.WebhookAttempts(ctx, []string{e.ID})
		require.NoError(t, err)
		require.Len(t, all[e.ID], 5)
		long := all[e.ID][1].Error
		require.LessOrEqual(t, len(long), 1000, "error text is truncated to its column")
		require.True(t, strings.HasPrefix(strings.Repeat("é", 2000), long), "truncated on a character boundary")
		require.Equal(t, 120*time.Millisecond, all[e.ID][0].Duration)
	})
}

// Concurrent attempts of one event (an attempt outliving its timeout beside its
// retry) are all recorded, each under its own number.
func TestRecordWebhookAttemptConcurrently(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		e, _, err := st.CreateEvent(ctx, event("mch_a", "pay_1", models.EventPaymentSucceeded, `{}`))
		require.NoError(t, err)
		const n = 4
		var wg sync.WaitGroup
		nums := make(chan int, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				num, err := st.RecordWebhookAttempt(ctx, models.WebhookAttempt{EventID: e.ID, DeliveryID: "run1", At: time.Now(), StatusCode: 500})
				if err != nil {
					t.Error(err)
					return
				}
				nums <- num
			}()
		}
		wg.Wait()
		close(nums)
		seen := map[int]bool{}
		for num := range nums {
			require.False(t, seen[num], "attempt number %d given twice", num)
			seen[num] = true
		}
		require.Len(t, seen, n)
	})
}

func eventIDs(es []models.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}
