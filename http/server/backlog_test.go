package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/payflow/payflow/http/server"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/metrics"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// A scrape of the API's /metrics reads no table that grows with the traffic: it
// shows the webhook backlog the worker's measure schedule stored, read by its key,
// and issues no query over the events (which it counted at every scrape before).
func TestMetricsScrapeQueriesNoEvents(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			ctx := context.Background()
			st := store.New(testenv.Open(t, b), nil)
			// Events waiting for their delivery: what a count would find.
			for _, obj := range []string{"pay_1", "pay_2"} {
				_, _, err := st.CreateEvent(ctx, models.Event{
					ID: models.NewID(models.PrefixEvent), MerchantID: "mch_a", Type: models.EventPaymentSucceeded, ObjectID: obj,
					NotifyURL: "https://merchant.example/hooks", Data: json.RawMessage(`{}`), CreatedAt: time.Now(),
				})
				require.NoError(t, err)
			}
			require.NoError(t, st.RecordWebhookBacklog(ctx, 7, time.Now()))

			queries := captureSQL(t, st.DB().DB)
			l := logrus.New()
			l.SetOutput(io.Discard)
			m := metrics.New()
			require.NoError(t, server.ExportWebhookBacklog(m, st, logrus.NewEntry(l)))
			rec := httptest.NewRecorder()
			m.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			got := queries()
			require.NotEmpty(t, got, "the scrape reads the stored count")
			for _, q := range got {
				require.NotContains(t, strings.ToLower(q), "events", "a scrape queried the events: %s", q)
			}
			var line string
			for _, l := range strings.Split(rec.Body.String(), "\n") {
				if strings.HasPrefix(l, metrics.NameWebhookBacklog+" ") {
					line = l
				}
			}
			require.Equal(t, metrics.NameWebhookBacklog+" 7", line, "the stored count")
		})
	}
}

// captureSQL records every statement db runs from now on.
func captureSQL(t *testing.T, db *gorm.DB) func() []string {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	record := func(tx *gorm.DB) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, tx.Statement.SQL.String())
	}
	cb := db.Callback()
	for name, p := range map[string]interface {
		Register(string, func(*gorm.DB)) error
	}{"query": cb.Query(), "row": cb.Row(), "raw": cb.Raw(), "create": cb.Create(), "update": cb.Update(), "delete": cb.Delete()} {
		require.NoError(t, p.Register("test:capture_"+name, record))
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}
