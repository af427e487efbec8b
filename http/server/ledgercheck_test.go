package server

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/metrics"
)

// The background ledger check sets payflow_ledger_check_ok at start, with no
// operator asking.
func TestLedgerCheckLoopSetsTheGauge(t *testing.T) {
	l := ledger.New(testenv.Open(t, testenv.SQLite))
	m := metrics.New()
	log := logrus.New()
	log.SetOutput(io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ledgerCheckLoop(ctx, checkedLedger{l, m}, time.Hour, logrus.NewEntry(log))
	}()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		rec := httptest.NewRecorder()
		m.Handler(nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		assert.Contains(c, rec.Body.String(), "payflow_ledger_check_ok 1")
		assert.Contains(c, rec.Body.String(), "payflow_ledger_check_last_run_timestamp_seconds")
	}, 10*time.Second, 20*time.Millisecond)
	cancel()
	<-done
}
