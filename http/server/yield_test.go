package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/payflow/payflow/http/internal/apitest"
	"github.com/payflow/payflow/http/merchant"
	"github.com/payflow/payflow/http/ops"
	"github.com/payflow/payflow/http/server"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/yield"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// StartYieldRun starts nothing: the tests that run yield use yieldStarter.
func (f *fakeStarter) StartYieldRun(context.Context, models.YieldInput) error { return nil }

// yieldStarter records the yield runs started.
type yieldStarter struct {
	mu   sync.Mutex
	runs []models.YieldInput
}

func (y *yieldStarter) StartYieldRun(_ context.Context, in models.YieldInput) error {
	y.mu.Lock()
	defer y.mu.Unlock()
	y.runs = append(y.runs, in)
	return nil
}

func (y *yieldStarter) started() []models.YieldInput {
	y.mu.Lock()
	defer y.mu.Unlock()
	return append([]models.YieldInput(nil), y.runs...)
}

// yieldNow is the yield service's clock in these tests: 2026-03-10 09:00 in Shanghai.
var yieldNow = time.Date(2026, 3, 10, 1, 0, 0, 0, time.UTC)

// newYieldAPI is the test API with the real yield service.
func newYieldAPI(t *testing.T, b testenv.Backend) (*api, *yieldStarter) {
	var mh *merchant.Handler
	var oh *ops.Handler
	a := newAPI(t, b, func(d *server.Deps) { mh, oh = d.Merchant, d.Ops })
	ys := &yieldStarter{}
	svc := &starter.Yield{Deps: starter.Deps{Store: a.store, Ledger: a.ledger, Log: oh.Log}, Flows: ys, Now: func() time.Time { return yieldNow }}
	mh.Yield, oh.Yield = svc, svc
	return a, ys
}

func (a *api) wallet(t *testing.T, merchantID string, c models.Currency) string {
	t.Helper()
	id := models.NewID(models.PrefixAccount)
	require.NoError(t, a.db.Transaction(func(tx *gorm.DB) error {
		return ledger.InsertWallet(tx, ledger.NewWallet(id, merchantID, c, ""))
	}))
	return id
}

type yieldBody struct {
	Object           string `json:"object"`
	AccountID        string `json:"account_id"`
	Enabled          bool   `json:"enabled"`
	Currency         string `json:"currency"`
	TotalCredited    int64  `json:"total_credited"`
	CarriedRemainder string `json:"carried_remainder"`
	Days             []struct {
		Date    string `json:"date"`
		Balance int64  `json:"balance"`
		Income  int64  `json:"income"`
	} `json:"days"`
}

func (a *api) yieldCall(t *testing.T, method, id, body string) (int, http.Header, []byte) {
	t.Helper()
	resp, b := apitest.Send(t, a.http, a.signed(t, method, "/v1/accounts/"+id+"/yield", []byte(body)))
	return resp.StatusCode, resp.Header, b
}

// A merchant opts a wallet in and out, and reads what the daily runs credited it: the
// income of each day and the remainder carried, exactly.
func TestAccountYield(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a, _ := newYieldAPI(t, b)
		id := a.wallet(t, "mch_demo", "CNY")

		status, _, body := a.yieldCall(t, "GET", id, "")
		require.Equal(t, 200, status, "%s", body)
		var y yieldBody
		require.NoError(t, json.Unmarshal(body, &y))
		require.Equal(t, yieldBody{Object: "account_yield", AccountID: id, Currency: "CNY", CarriedRemainder: "0.0000000000", Days: y.Days}, y)
		require.Empty(t, y.Days)

		status, _, body = a.yieldCall(t, "POST", id, `{"enabled":true}`)
		require.Equal(t, 200, status, "%s", body)
		require.NoError(t, json.Unmarshal(body, &y))
		require.True(t, y.Enabled)

		// Two days' runs: 1,000,000.00 CNY (10^8 fen) at 0.5123 and 0.4871 per 10,000.
		ctx := context.Background()
		clearing, err := a.ledger.EnsureAccount(ctx, ledger.ClearingSpec("banksim", "CNY"))
		require.NoError(t, err)
		require.NoError(t, a.ledger.Run(ctx, func(tx *ledger.Tx) error {
			_, err := tx.Post(ledger.Posting{Key: "topup/yt/credit", Flow: models.FlowTopup, FlowID: "top_yt", Currency: "CNY",
				Legs: []ledger.Leg{{AccountID: clearing, Amount: -100_000_001}, {AccountID: id, Amount: 100_000_001}}})
			return err
		}))
		end1, _ := models.YieldDayEnd("2026-03-01")
		require.NoError(t, testenv.DateEntries(a.db, end1.Add(-time.Hour), ""))
		require.NoError(t, a.db.Exec("UPDATE yield_wallets SET enabled_at = ?", end1.Add(-2*time.Hour)).Error)
		eng := &yield.Engine{DB: a.db, Ledger: a.ledger}
		_, err = eng.Credit(ctx, yield.Job{RunID: "yr_a", Day: "2026-03-01", IncomePer10k: 512300})
		require.NoError(t, err)
		require.NoError(t, testenv.DateEntries(a.db, end1.Add(time.Hour), "created_at > ?", end1))
		_, err = eng.Credit(ctx, yield.Job{RunID: "yr_b", Day: "2026-03-02", IncomePer10k: 487100})
		require.NoError(t, err)

		status, _, body = a.yieldCall(t, "GET", id, "")
		require.Equal(t, 200, status, "%s", body)
		require.NoError(t, json.Unmarshal(body, &y))
		// Day 1: 100000001 × 512300 = 51230000512300: 5123 fen, 0.0000512300 carried.
		// Day 2: 100005124 × 487100 + 512300 = 48712496412700: 4871 fen, the rest carried.
		require.Len(t, y.Days, 2)
		require.Equal(t, "2026-03-02", y.Days[0].Date)
		require.Equal(t, int64(100_005_124), y.Days[0].Balance)
		require.Equal(t, int64(5123), y.Days[1].Income)
		require.Equal(t, int64(4871), y.Days[0].Income)
		require.Equal(t, int64(5123+4871), y.TotalCredited)
		require.Equal(t, "0.2496412700", y.CarriedRemainder)

		status, _, body = a.yieldCall(t, "POST", id, `{"enabled":false}`)
		require.Equal(t, 200, status, "%s", body)
		require.NoError(t, json.Unmarshal(body, &y))
		require.False(t, y.Enabled)
		require.Equal(t, int64(5123+4871), y.TotalCredited, "opting out keeps what was credited")
	})
}

func TestAccountYieldRefusals(t *testing.T) {
	a, _ := newYieldAPI(t, testenv.SQLite)
	cny := a.wallet(t, "mch_demo", "CNY")
	usd := a.wallet(t, "mch_demo", "USD")
	other := a.wallet(t, "mch_other", "CNY")
	for _, tc := range []struct {
		name, method, id, body string
		status                 int
		code                   string
	}{
		{"another merchant's wallet", "POST", other, `{"enabled":true}`, 404, "not_found"},
		{"another merchant's wallet, read", "GET", other, ``, 404, "not_found"},
		{"no such wallet", "GET", "acct_nope", ``, 404, "not_found"},
		{"a USD wallet", "POST", usd, `{"enabled":true}`, 422, "unsupported_currency"},
		{"no enabled", "POST", cny, `{}`, 400, "invalid_request"},
		{"enabled not a boolean", "POST", cny, `{"enabled":"yes"}`, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := a.yieldCall(t, tc.method, tc.id, tc.body)
			require.Equal(t, tc.status, status, "%s", body)
			require.Equal(t, tc.code, problemOf(t, h, body).Code)
		})
	}
	var n int64
	require.NoError(t, a.db.Table("yield_wallets").Count(&n).Error)
	require.Zero(t, n, "a refused request writes nothing")
}

type yieldRunBody struct {
	ID            string `json:"id"`
	ProductID     string `json:"product_id"`
	Date          string `json:"date"`
	Status        string `json:"status"`
	Wallets       int64  `json:"wallets"`
	TotalCredited int64  `json:"total_credited"`
	CarriedTotal  string `json:"carried_total"`
	WorkflowID    string `json:"workflow_id"`
}

// An operator opens a day's run (202, its workflow started), gets the same run again
// (200), reads its totals once recorded; a day not ended and bad input are refused.
func TestOpsYieldRuns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a, ys := newYieldAPI(t, b)
		status, _, body := a.ops(t, "POST", "/v1/ops/yield_runs", `{"product_id":"prd_mmf","date":"2026-03-09"}`)
		require.Equal(t, 202, status, "%s", body)
		var run yieldRunBody
		require.NoError(t, json.Unmarshal(body, &run))
		require.True(t, models.ValidID(models.PrefixYieldRun, run.ID))
		require.Equal(t, yieldRunBody{ID: run.ID, ProductID: "prd_mmf", Date: "2026-03-09", Status: "running", CarriedTotal: "0.0000000000",
			WorkflowID: "yield/prd_mmf/2026-03-09"}, run)
		require.Equal(t, []models.YieldInput{{RunID: run.ID, ProductID: "prd_mmf", Date: "2026-03-09"}}, ys.started())

		status, _, body = a.ops(t, "POST", "/v1/ops/yield_runs", `{"product_id":"prd_mmf","date":"2026-03-09"}`)
		require.Equal(t, 200, status, "%s", body)
		var again yieldRunBody
		require.NoError(t, json.Unmarshal(body, &again))
		require.Equal(t, run.ID, again.ID)

		_, err := a.store.FinishYieldRun(context.Background(), models.FinishYieldRunInput{RunID: run.ID, Status: models.YieldRunCompleted,
			IncomePer10k: 512300, Totals: models.YieldTotals{Wallets: 3, Credited: 1234, Carried: 25_000_000_001}})
		require.NoError(t, err)
		status, _, body = a.ops(t, "GET", "/v1/ops/yield_runs/"+run.ID, "")
		require.Equal(t, 200, status, "%s", body)
		require.NoError(t, json.Unmarshal(body, &run))
		require.Equal(t, "completed", run.Status)
		require.Equal(t, int64(3), run.Wallets)
		require.Equal(t, int64(1234), run.TotalCredited)
		require.Equal(t, "2.5000000001", run.CarriedTotal)
		require.Len(t, ys.started(), 2, "the second request made sure the running run's flow was going")

		// A completed run is answered as it is, its flow not started again.
		status, _, _ = a.ops(t, "POST", "/v1/ops/yield_runs", `{"product_id":"prd_mmf","date":"2026-03-09"}`)
		require.Equal(t, 200, status)
		require.Len(t, ys.started(), 2)
	})
}

func TestOpsYieldRunRefusals(t *testing.T) {
	a, ys := newYieldAPI(t, testenv.SQLite)
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		// 09:00 on March 10th in Shanghai: March 10th has not ended.
		{"today", `{"product_id":"prd_mmf","date":"2026-03-10"}`, 422, "date_not_closed"},
		{"a future day", `{"product_id":"prd_mmf","date":"2027-01-01"}`, 422, "date_not_closed"},
		{"not a day", `{"product_id":"prd_mmf","date":"2026-3-9"}`, 422, "invalid_date"},
		{"another product", `{"product_id":"prd_bond","date":"2026-03-09"}`, 422, "unsupported_product"},
		{"no date", `{"product_id":"prd_mmf"}`, 400, "invalid_request"},
		{"unknown field", `{"product_id":"prd_mmf","date":"2026-03-09","x":1}`, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := a.ops(t, "POST", "/v1/ops/yield_runs", tc.body)
			require.Equal(t, tc.status, status, "%s", body)
			require.Equal(t, tc.code, problemOf(t, h, body).Code)
		})
	}
	require.Empty(t, ys.started())
	status, h, body := a.ops(t, "GET", "/v1/ops/yield_runs/yr_nope", "")
	require.Equal(t, 404, status)
	require.Equal(t, "not_found", problemOf(t, h, body).Code)
}
