package server_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/http/merchant"
	"github.com/payflow/payflow/http/ops"
	"github.com/payflow/payflow/http/server"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// The CSV download has every difference of the run, in the order found, across
// more pages than one (the page is 3 here), with both sides' amounts in minor units
// and the resolution; text from the bank that a spreadsheet would run as a formula
// is neutralised; an unknown run is a 404 problem; the ops token is required.
func TestDifferencesCSV(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newOpsAPI(t, b, func(h *ops.Handler) { h.CSVPage = 3 })
		ctx := context.Background()
		rec := a.create(t, `{"channel":"banksim","date":"2026-03-09"}`, 202)
		other := a.create(t, `{"channel":"banksim","date":"2026-03-08"}`, 202)
		var diffs []models.Difference
		for i := range 8 {
			diffs = append(diffs, models.Difference{
				ID: models.NewID(models.PrefixDifference), ReconciliationID: rec.ID, Reference: fmt.Sprintf("pay_%03d", i),
				Kind: models.DiffAmountMismatch, Line: int64(i + 2),
				Ours:   &models.DifferenceSide{Kind: "payment", Amount: 1050, Currency: "CNY", Status: "succeeded"},
				Bank:   &models.DifferenceSide{Kind: "charge", Amount: -1000, Currency: "CNY", Status: "succeeded"},
				Ledger: &models.DifferenceSide{Kind: "journal", Amount: 1050, Currency: "CNY", Status: "booked"},
			})
		}
		diffs = append(diffs, models.Difference{
			ID: models.NewID(models.PrefixDifference), ReconciliationID: rec.ID, Reference: `=HYPERLINK("http://evil","x")`,
			Kind: models.DiffMissingOnOurSide, Line: 11, Since: "2026-03-07",
			Bank: &models.DifferenceSide{Kind: "@charge", Amount: 5, Currency: "+CNY", Status: "-1+1"},
		})
		require.NoError(t, a.store.InsertDifferences(ctx, diffs))
		require.NoError(t, a.store.InsertDifferences(ctx, []models.Difference{{ReconciliationID: other.ID, Reference: "pay_other", Kind: models.DiffMissingAtBank}}))
		_, err := a.store.ResolveDifference(ctx, rec.ID, diffs[4].ID, models.Resolution{Note: "=cmd|' /C calc'!A0", Operator: "ops-token-1"})
		require.NoError(t, err)

		status, h, body := a.do(t, "GET", "/v1/ops/reconciliations/"+rec.ID+"/differences.csv", "")
		require.Equal(t, 200, status, "%s", body)
		require.Equal(t, "text/csv; charset=utf-8", h.Get("Content-Type"))
		rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		require.NoError(t, err)
		require.Equal(t, ops.DifferencesCSVHeader, rows[0])
		require.Equal(t, []string{"id", "reference", "kind", "line", "since", "ours_kind", "ours_amount", "ours_currency", "ours_status",
			"bank_kind", "bank_amount", "bank_currency", "bank_status", "ledger_amount", "ledger_currency", "ledger_status",
			"resolution_action", "resolution_note", "resolution_operator", "resolved_at", "created", "resolution_object_id"}, rows[0])
		require.Len(t, rows, 1+len(diffs), "every difference of the run, none of the other run's")
		for i, d := range diffs {
			require.Equal(t, d.ID, rows[i+1][0], "row %d in the order found", i+1)
		}
		first := rows[1]
		require.Equal(t, []string{"pay_000", "amount_mismatch", "2", "", "payment", "1050", "CNY", "succeeded", "charge", "-1000", "CNY", "succeeded", "1050", "CNY", "booked", "", "", "", ""}, first[1:20])
		_, err = time.Parse(time.RFC3339, first[20])
		require.NoError(t, err)

		resolved := rows[5]
		require.Equal(t, "explained", resolved[16])
		require.Equal(t, "'=cmd|' /C calc'!A0", resolved[17], "an operator's note is neutralised too")
		require.Equal(t, "ops-token-1", resolved[18])
		_, err = time.Parse(time.RFC3339, resolved[19])
		require.NoError(t, err)

		evil := rows[len(rows)-1]
		require.Equal(t, `'=HYPERLINK("http://evil","x")`, evil[1])
		require.Equal(t, "2026-03-07", evil[4])
		require.Equal(t, []string{"", "", "", ""}, evil[5:9], "no object on our side: empty cells")
		require.Equal(t, []string{"'@charge", "5", "'+CNY", "'-1+1"}, evil[9:13])

		// An empty run has the header only.
		status, _, body = a.do(t, "GET", "/v1/ops/reconciliations/"+a.create(t, `{"channel":"banksim","date":"2026-03-07"}`, 202).ID+"/differences.csv", "")
		require.Equal(t, 200, status)
		rows, err = csv.NewReader(bytes.NewReader(body)).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 1)

		for _, p := range []string{"/v1/ops/reconciliations/rec_unknown/differences.csv", "/v1/ops/reconciliations/nope/differences.csv"} {
			status, h, body := a.do(t, "GET", p, "")
			require.Equal(t, 404, status, "%s", body)
			require.Equal(t, "not_found", problemOf(t, h, body).Code)
		}
		req, err := http.NewRequest("GET", a.url+"/v1/ops/reconciliations/"+rec.ID+"/differences.csv", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 401, resp.StatusCode, "the ops token is required")
	})
}

// TimeoutHandler passes a streamed download through as it is written (it would
// otherwise hold the whole response until the handler returned), and still bounds
// every other request.
func TestTimeoutHandlerStreamsCSV(t *testing.T) {
	release := make(chan struct{})
	h := server.TimeoutHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("id\n"))
		_ = http.NewResponseController(w).Flush()
		<-release
		_, _ = w.Write([]byte("dif_1\n"))
	}), time.Second)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/v1/ops/reconciliations/rec_1/differences.csv")
	require.NoError(t, err)
	defer resp.Body.Close()
	first := make([]byte, 3)
	_, err = resp.Body.Read(first)
	require.NoError(t, err)
	require.Equal(t, "id\n", string(first), "the first rows arrive before the handler has finished")
	close(release)

	slow := server.TimeoutHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}), 50*time.Millisecond)
	rec := httptest.NewRecorder()
	slow.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/ops/reconciliations/rec_1/differences", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.False(t, server.Streamed(httptest.NewRequest("POST", "/v1/ops/x.csv", nil)))
	require.False(t, server.Streamed(httptest.NewRequest("GET", "/v1/payments/x.csv", nil)))
}

// slowRecs answers pages of differences, each after a pause: a long download.
type slowRecs struct {
	ops.Reconciliations
	pages int
	pause time.Duration
}

func (s slowRecs) ListDifferences(_ context.Context, q starter.DifferenceQuery) ([]models.Difference, bool, error) {
	time.Sleep(s.pause)
	page := 0
	if q.StartingAfter != "" {
		_, _ = fmt.Sscanf(q.StartingAfter, "dif_%d", &page)
	}
	page++
	return []models.Difference{{ID: fmt.Sprintf("dif_%d", page), Reference: "pay_1", Kind: models.DiffMissingAtBank}}, page < s.pages, nil
}

// On the real server a download may last longer than the handler timeout and the
// write timeout: it keeps going as long as every page is read and written in time.
func TestDifferencesCSVOutlastsTheServerTimeouts(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	entry := logrus.NewEntry(log)
	r := server.NewRouter(server.Deps{
		Merchant:  &merchant.Handler{},
		Ops:       &ops.Handler{Log: entry, Store: &store.Store{}, Reconciliations: slowRecs{pages: 6, pause: 100 * time.Millisecond}, CSVPage: 1},
		OpsTokens: []string{"ops-demo-token"}, Log: entry,
	})
	l := server.DefaultLimits
	l.HandlerTimeout, l.WriteTimeout = 200*time.Millisecond, 300*time.Millisecond
	addr := startServer(t, r, l)
	status, _, body := sendOps(t, http.DefaultClient, "http://"+addr+"/v1/ops/reconciliations/rec_1/differences.csv", "GET", "", "")
	require.Equal(t, 200, status)
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 7, "the header and six pages of one row, over 600ms")
	require.Equal(t, "dif_6", rows[6][0])
}
