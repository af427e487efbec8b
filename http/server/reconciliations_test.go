package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/http/merchant"
	"github.com/payflow/payflow/http/ops"
	"github.com/payflow/payflow/http/server"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/secretbox"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

func (f *fakeStarter) StartReconciliation(_ context.Context, _ models.ReconciliationInput, fresh bool) error {
	return f.start(func() { f.reconciliations = append(f.reconciliations, fresh) })
}

// reconciliationStarts returns whether each reconciliation started so far was fresh.
func (f *fakeStarter) reconciliationStarts() []bool { return recorded(f, &f.reconciliations) }

type opsAPI struct {
	url   string
	store *store.Store
	rec   *fakeStarter
}

// today is the API's clock in these tests.
var today = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

func newOpsAPI(t *testing.T, b testenv.Backend, opts ...func(*ops.Handler)) *opsAPI {
	t.Helper()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	st := store.New(testenv.Open(t, b), box)
	log := logrus.New()
	log.SetOutput(io.Discard)
	entry := logrus.NewEntry(log)
	fr := &fakeStarter{}
	h := &ops.Handler{
		Log: entry, Store: st, Reconciliations: &starter.Reconciliations{Deps: starter.Deps{Store: st, Log: entry}, Flows: fr}, Channels: []string{"banksim"},
		Now: func() time.Time { return today },
	}
	for _, o := range opts {
		o(h)
	}
	r := server.NewRouter(server.Deps{
		Merchant:  &merchant.Handler{},
		Ops:       h,
		OpsTokens: []string{"ops-demo-token"}, Log: entry,
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return &opsAPI{url: srv.URL, store: st, rec: fr}
}

func (a *opsAPI) do(t *testing.T, method, path, body string) (int, http.Header, []byte) {
	t.Helper()
	return sendOps(t, http.DefaultClient, a.url+path, method, body, "application/json")
}

type recBody struct {
	models.Reconciliation
	OpenDifferences    int64               `json:"open_differences"`
	Differences        []models.Difference `json:"differences"`
	HasMoreDifferences bool                `json:"has_more_differences"`
}

func (a *opsAPI) create(t *testing.T, body string, wantStatus int) recBody {
	t.Helper()
	status, _, b := a.do(t, "POST", "/v1/ops/reconciliations", body)
	require.Equal(t, wantStatus, status, "%s", b)
	var r recBody
	require.NoError(t, json.Unmarshal(b, &r))
	return r
}

func (a *opsAPI) count(t *testing.T) int64 {
	t.Helper()
	var n int64
	require.NoError(t, a.store.DB().Table("reconciliations").Count(&n).Error)
	return n
}

func problemOf(t *testing.T, h http.Header, b []byte) problemBody {
	t.Helper()
	require.Equal(t, "application/problem+json", h.Get("Content-Type"), "%s", b)
	var p problemBody
	require.NoError(t, json.Unmarshal(b, &p))
	return p
}

// A second request for a channel and day returns the same run; rerun makes a new one
// only once the latest has finished.
func TestCreateReconciliation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newOpsAPI(t, b)
		first := a.create(t, `{"channel":"banksim","date":"2026-03-09"}`, 202)
		require.True(t, models.ValidID(models.PrefixReconciliation, first.ID))
		require.Equal(t, "reconciliation", first.Object)
		require.Equal(t, models.ReconciliationRunning, first.Status)
		require.Equal(t, "reconciliation/banksim/2026-03-09", first.WorkflowID)
		require.Equal(t, 1, first.Attempt)

		again := a.create(t, `{"channel":"banksim","date":"2026-03-09"}`, 200)
		require.Equal(t, first.ID, again.ID)
		again = a.create(t, `{"channel":"banksim","date":"2026-03-09","rerun":true}`, 200)
		require.Equal(t, first.ID, again.ID, "a running reconciliation is not rerun")
		require.Equal(t, []bool{true, false, false}, a.rec.reconciliationStarts())

		_, err := a.store.FinishReconciliation(context.Background(), models.FinishReconciliationInput{
			ReconciliationID: first.ID, Status: models.ReconciliationCompleted, Counts: models.ReconciliationCounts{Matched: 5},
		})
		require.NoError(t, err)
		done := a.create(t, `{"channel":"banksim","date":"2026-03-09"}`, 200)
		require.Equal(t, first.ID, done.ID)
		require.Equal(t, models.ReconciliationCompleted, done.Status)
		require.Equal(t, int64(5), done.Counts.Matched)
		require.Len(t, a.rec.reconciliationStarts(), 3, "a finished run is not started again")

		rerun := a.create(t, `{"channel":"banksim","date":"2026-03-09","rerun":true}`, 202)
		require.NotEqual(t, first.ID, rerun.ID)
		require.Equal(t, 2, rerun.Attempt)
		require.Equal(t, first.WorkflowID, rerun.WorkflowID, "a rerun is a new run of the day's workflow id")
		require.Equal(t, []bool{true, false, false, true}, a.rec.reconciliationStarts())
		latest := a.create(t, `{"channel":"banksim","date":"2026-03-09"}`, 200)
		require.Equal(t, rerun.ID, latest.ID)

		today := a.create(t, `{"channel":"banksim","date":"2026-03-10"}`, 202)
		require.NotEqual(t, first.ID, today.ID)
	})
}

// Every bad request gets its problem, stores nothing and starts nothing.
func TestCreateReconciliationRefusesBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newOpsAPI(t, b)
		tests := []struct {
			name, body string
			status     int
			code       string
		}{
			{"empty body", ``, 400, "invalid_request"},
			{"malformed json", `{"channel":`, 400, "invalid_request"},
			{"array", `[]`, 400, "invalid_request"},
			{"missing channel", `{"date":"2026-03-09"}`, 400, "invalid_request"},
			{"missing date", `{"channel":"banksim"}`, 400, "invalid_request"},
			{"unknown field", `{"channel":"banksim","date":"2026-03-09","force":true}`, 400, "invalid_request"},
			{"rerun not a boolean", `{"channel":"banksim","date":"2026-03-09","rerun":"yes"}`, 400, "invalid_request"},
			{"date not a string", `{"channel":"banksim","date":20260309}`, 400, "invalid_request"},
			{"two objects", `{"channel":"banksim","date":"2026-03-09"}{}`, 400, "invalid_request"},
			{"unknown channel", `{"channel":"paypal","date":"2026-03-09"}`, 422, "unsupported_channel"},
			{"date not a day", `{"channel":"banksim","date":"2026-02-30"}`, 422, "invalid_date"},
			{"date spelled otherwise", `{"channel":"banksim","date":"2026-3-9"}`, 422, "invalid_date"},
			{"date with a time", `{"channel":"banksim","date":"2026-03-09T00:00:00Z"}`, 422, "invalid_date"},
			{"tomorrow", `{"channel":"banksim","date":"2026-03-11"}`, 422, "invalid_date"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				status, h, body := a.do(t, "POST", "/v1/ops/reconciliations", tc.body)
				require.Equal(t, tc.status, status, "%s", body)
				require.Equal(t, tc.code, problemOf(t, h, body).Code)
			})
		}
		require.Zero(t, a.count(t), "a refused request stored a reconciliation")
		require.Empty(t, a.rec.reconciliationStarts(), "a refused request started a flow")

		// Without an ops token: 401, nothing stored.
		req, _ := http.NewRequest("POST", a.url+"/v1/ops/reconciliations", strings.NewReader(`{"channel":"banksim","date":"2026-03-09"}`))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 401, resp.StatusCode)
		require.Zero(t, a.count(t))
	})
}

// A run whose flow could not start answers 503; the same request again starts it,
// and the run was created once.
func TestCreateReconciliationRetriesTheStart(t *testing.T) {
	a := newOpsAPI(t, testenv.SQLite)
	a.rec.fail = true
	status, h, body := a.do(t, "POST", "/v1/ops/reconciliations", `{"channel":"banksim","date":"2026-03-09"}`)
	require.Equal(t, 503, status, "%s", body)
	require.Equal(t, "service_unavailable", problemOf(t, h, body).Code)
	require.NotEmpty(t, h.Get("Retry-After"))
	a.rec.fail = false
	a.create(t, `{"channel":"banksim","date":"2026-03-09"}`, 200)
	require.Equal(t, []bool{false}, a.rec.reconciliationStarts())
	require.Equal(t, int64(1), a.count(t))
}

// GET shows the counts so far and the first 100 differences; the list pages through
// all of them; a difference is resolved once, with a note.
func TestReconciliationDifferences(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newOpsAPI(t, b)
		rec := a.create(t, `{"channel":"banksim","date":"2026-03-09"}`, 202)
		other := a.create(t, `{"channel":"banksim","date":"2026-03-08"}`, 202)
		var diffs []models.Difference
		for i := 0; i < 150; i++ {
			diffs = append(diffs, models.Difference{
				ReconciliationID: rec.ID, Reference: fmt.Sprintf("pay_%03d", i), Kind: models.DiffMissingOnOurSide, Line: int64(i + 2),
				Bank: &models.DifferenceSide{Kind: "charge", Amount: 100, Currency: "CNY", Status: "succeeded"},
			})
		}
		require.NoError(t, a.store.InsertDifferences(context.Background(), diffs))
		require.NoError(t, a.store.InsertDifferences(context.Background(), []models.Difference{{ReconciliationID: other.ID, Reference: "pay_x", Kind: models.DiffMissingAtBank}}))

		status, _, body := a.do(t, "GET", "/v1/ops/reconciliations/"+rec.ID, "")
		require.Equal(t, 200, status, "%s", body)
		var got recBody
		require.NoError(t, json.Unmarshal(body, &got))
		require.Equal(t, models.ReconciliationRunning, got.Status)
		require.Equal(t, int64(150), got.Counts.MissingOnOurSide, "counts so far while it runs")
		require.Equal(t, int64(150), got.OpenDifferences)
		require.Len(t, got.Differences, 100)
		require.True(t, got.HasMoreDifferences)
		require.Equal(t, "pay_000", got.Differences[0].Reference)
		require.Equal(t, int64(2), got.Differences[0].Line)

		var all []models.Difference
		after := ""
		for {
			path := "/v1/ops/reconciliations/" + rec.ID + "/differences?limit=40"
			if after != "" {
				path += "&starting_after=" + after
			}
			status, _, body := a.do(t, "GET", path, "")
			require.Equal(t, 200, status, "%s", body)
			var page struct {
				Data    []models.Difference `json:"data"`
				HasMore bool                `json:"has_more"`
			}
			require.NoError(t, json.Unmarshal(body, &page))
			all = append(all, page.Data...)
			if !page.HasMore {
				break
			}
			after = page.Data[len(page.Data)-1].ID
		}
		require.Len(t, all, 150)
		require.Equal(t, "pay_149", all[149].Reference)

		dif := all[7]
		path := "/v1/ops/reconciliations/" + rec.ID + "/differences/" + dif.ID + "/resolve"
		for _, bad := range []string{``, `{}`, `{"note":""}`, `{"note":"   "}`, `{"note":7}`, `{"note":"ok","by":"me"}`, `{"note":"` + strings.Repeat("x", 1001) + `"}`} {
			status, h, body := a.do(t, "POST", path, bad)
			require.Equal(t, 400, status, "%s: %s", bad, body)
			require.Equal(t, "invalid_request", problemOf(t, h, body).Code)
		}
		status, _, body = a.do(t, "POST", path, `{"note":"refunded the customer by hand"}`)
		require.Equal(t, 200, status, "%s", body)
		var resolved models.Difference
		require.NoError(t, json.Unmarshal(body, &resolved))
		require.Equal(t, dif.ID, resolved.ID)
		require.Equal(t, "refunded the customer by hand", resolved.Resolution.Note)
		require.True(t, strings.HasPrefix(resolved.Resolution.Operator, "ops-token-"))
		status, h, body := a.do(t, "POST", path, `{"note":"again"}`)
		require.Equal(t, 409, status, "%s", body)
		require.Equal(t, "conflict", problemOf(t, h, body).Code)

		status, _, body = a.do(t, "GET", "/v1/ops/reconciliations/"+rec.ID+"/differences?limit=10", "")
		require.Equal(t, 200, status)
		require.Contains(t, string(body), "refunded the customer by hand")

		// The report counts what is still open: one resolved, and an in_transit
		// item, which is not a difference, left out.
		require.NoError(t, a.store.InsertDifferences(context.Background(), []models.Difference{{ReconciliationID: rec.ID, Reference: "pay_transit", Kind: models.DiffInTransit, Since: "2026-03-09"}}))
		status, _, body = a.do(t, "GET", "/v1/ops/reconciliations/"+rec.ID, "")
		require.Equal(t, 200, status, "%s", body)
		got = recBody{}
		require.NoError(t, json.Unmarshal(body, &got))
		require.Equal(t, int64(149), got.OpenDifferences)

		for _, tc := range []struct {
			method, path string
			status       int
			code         string
		}{
			{"GET", "/v1/ops/reconciliations/rec_unknown", 404, "not_found"},
			{"GET", "/v1/ops/reconciliations/not-an-id", 404, "not_found"},
			{"GET", "/v1/ops/reconciliations/rec_unknown/differences", 404, "not_found"},
			{"GET", "/v1/ops/reconciliations/" + rec.ID + "/differences?limit=0", 400, "invalid_request"},
			{"GET", "/v1/ops/reconciliations/" + rec.ID + "/differences?limit=101", 400, "invalid_request"},
			{"GET", "/v1/ops/reconciliations/" + rec.ID + "/differences?starting_after=pay_1", 400, "invalid_request"},
			{"GET", "/v1/ops/reconciliations/" + rec.ID + "/differences?starting_after=dif_unknown", 400, "invalid_request"},
			{"POST", "/v1/ops/reconciliations/" + other.ID + "/differences/" + dif.ID + "/resolve", 404, "not_found"},
			{"POST", "/v1/ops/reconciliations/" + rec.ID + "/differences/dif_unknown/resolve", 404, "not_found"},
			{"POST", "/v1/ops/reconciliations/" + rec.ID + "/differences/pay_1/resolve", 404, "not_found"},
		} {
			status, h, body := a.do(t, tc.method, tc.path, `{"note":"x"}`)
			require.Equal(t, tc.status, status, "%s %s: %s", tc.method, tc.path, body)
			require.Equal(t, tc.code, problemOf(t, h, body).Code, tc.path)
		}
		// Nothing was resolved by the refused requests.
		_, _, body = a.do(t, "GET", "/v1/ops/reconciliations/"+other.ID, "")
		require.NoError(t, json.Unmarshal(body, &got))
		require.Nil(t, got.Differences[0].Resolution)
	})
}
