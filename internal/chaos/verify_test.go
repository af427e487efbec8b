package chaos

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite" // the "sqlite" driver for database/sql
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/client"
)

// world is what a fake payflow answers: objects by path, executions by reference,
// journals by flow id, wallet and settlement balances.
type world struct {
	objects    map[string]Object
	executions map[string]int
	journals   map[string]int
	wallet     int64
	settlement int64
	ledgerOK   bool
}

func greenWorld() world {
	return world{
		objects: map[string]Object{
			"/v1/payments/pay_1":   {ID: "pay_1", Status: "partially_refunded", Amount: 1000},
			"/v1/payments/pay_2":   {ID: "pay_2", Status: "failed", FailureCode: "card_declined", Amount: 2000},
			"/v1/refunds/re_1":     {ID: "re_1", Status: "succeeded", Amount: 300},
			"/v1/topups/top_1":     {ID: "top_1", Status: "succeeded", Amount: 50000},
			"/v1/withdrawals/wd_1": {ID: "wd_1", Status: "succeeded", Amount: 20000},
			"/v1/withdrawals/wd_2": {ID: "wd_2", Status: "failed", FailureCode: "account_closed", Amount: 20000},
		},
		executions: map[string]int{"pay_1": 1, "pay_2": 1, "re_1": 1, "top_1": 1, "wd_1": 1, "wd_2": 1},
		journals:   map[string]int{"pay_1": 1, "re_1": 1, "top_1": 1, "wd_1": 1},
		wallet:     30000, settlement: 700, ledgerOK: true,
	}
}

func (w world) run(t *testing.T) Report {
	t.Helper()
	api := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/accounts/acct_1" {
			_ = json.NewEncoder(rw).Encode(map[string]any{"id": "acct_1", "balance": w.wallet, "available": w.wallet})
			return
		}
		o, ok := w.objects[r.URL.Path]
		if !ok {
			rw.WriteHeader(404)
			return
		}
		_ = json.NewEncoder(rw).Encode(o)
	}))
	defer api.Close()
	answer := func(v any) (*client.Response, error) {
		b, _ := json.Marshal(v)
		return &client.Response{Status: 200, Body: b}, nil
	}
	d := &Driver{
		Clients: []*client.Client{client.New(api.URL, "mch_1", "secret")},
		Bank: func(_ context.Context, _, path, _ string) (*client.Response, error) {
			ref := strings.TrimPrefix(path, "/sim/executions?reference=")
			return answer(map[string]any{"reference": ref, "count": w.executions[ref]})
		},
		Ops: func(_ context.Context, _, path, _ string) (*client.Response, error) {
			if strings.HasPrefix(path, "/v1/ops/flows") {
				return answer(map[string]any{"data": []any{}})
			}
			return answer(map[string]any{"ok": w.ledgerOK, "journals": len(w.journals)})
		},
	}
	db, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`CREATE TABLE journals (id TEXT, flow_id TEXT);
		CREATE TABLE accounts (kind TEXT, merchant_id TEXT, currency TEXT, balance INTEGER)`)
	require.NoError(t, err)
	n := 0
	for id, k := range w.journals {
		for i := 0; i < k; i++ {
			n++
			_, err := db.Exec(`INSERT INTO journals VALUES (?, ?)`, fmt.Sprintf("jnl_%d", n), id)
			require.NoError(t, err)
		}
	}
	_, err = db.Exec(`INSERT INTO accounts VALUES ('merchant_settlement', 'mch_1', 'CNY', ?), ('merchant_settlement', 'mch_other', 'CNY', 99)`, w.settlement)
	require.NoError(t, err)

	tr := &Tracker{}
	for _, f := range []Flow{
		{Kind: "payment", ID: "pay_1", Want: "partially_refunded"},
		{Kind: "payment", ID: "pay_2", Want: "failed", WantCode: "card_declined"},
		{Kind: "refund", ID: "re_1", Want: "succeeded"},
		{Kind: "topup", ID: "top_1", Want: "succeeded", Account: "acct_1"},
		{Kind: "withdrawal", ID: "wd_1", Want: "succeeded", Account: "acct_1"},
		{Kind: "withdrawal", ID: "wd_2", Want: "failed", WantCode: "account_closed", Account: "acct_1"},
	} {
		f.Path, f.BankRef = paths[f.Kind]+f.ID, f.ID
		tr.Add(f)
	}
	tr.AddWallet("acct_1")
	return Verify(context.Background(), d, tr, VerifyOptions{Books: Books{DB: db}, MerchantID: "mch_1", Wait: 5 * time.Second})
}

// Verify passes a run where everything adds up, and names each kind of loss or
// doubling in a run where one thing does not.
func TestVerify(t *testing.T) {
	rep := greenWorld().run(t)
	require.True(t, rep.OK(), "%s", rep)
	assert.Equal(t, 6, rep.Flows)
	assert.Equal(t, 6, rep.BankExecuted)
	assert.Equal(t, 4, rep.Journals)
	assert.Equal(t, int64(700), rep.Settlement)
	assert.Equal(t, map[string]int{"payment": 2, "refund": 1, "topup": 1, "withdrawal": 2}, rep.ByKind)

	for name, tc := range map[string]struct {
		change func(w *world)
		want   string
	}{
		"executed twice":          {func(w *world) { w.executions["wd_1"] = 2 }, "the bank executed withdrawal wd_1 2 times"},
		"succeeded, not executed": {func(w *world) { w.executions["top_1"] = 0 }, "topup top_1 succeeded but the bank executed it 0 times"},
		"journal missing":         {func(w *world) { delete(w.journals, "re_1") }, "refund re_1 succeeded with 0 ledger journals"},
		"journal doubled":         {func(w *world) { w.journals["pay_1"] = 2 }, "payment pay_1 succeeded with 2 ledger journals"},
		"failed flow posted":      {func(w *world) { w.journals["wd_2"] = 1 }, "withdrawal wd_2 ended failed with 1 ledger journals"},
		"journal of no flow":      {func(w *world) { w.journals["pay_9"] = 1 }, `1 ledger journals of "pay_9"`},
		"other outcome": {func(w *world) {
			w.objects["/v1/payments/pay_2"] = Object{ID: "pay_2", Status: "succeeded", Amount: 2000}
		}, "payment pay_2 ended succeeded"},
		"wallet off":     {func(w *world) { w.wallet = 50000 }, "wallet acct_1: balance 50000, available 50000; its flows reported 30000"},
		"settlement off": {func(w *world) { w.settlement = 1000 }, "settlement balance 1000; the payments and refunds reported 700"},
		"ledger check":   {func(w *world) { w.ledgerOK = false }, "ledger check not ok"},
		"never ends":     {func(w *world) { w.objects["/v1/topups/top_1"] = Object{ID: "top_1", Status: "processing"} }, "topup top_1 never ended"},
	} {
		t.Run(name, func(t *testing.T) {
			w := greenWorld()
			tc.change(&w)
			rep := w.run(t)
			require.False(t, rep.OK())
			assert.Contains(t, strings.Join(rep.Problems, "\n"), tc.want)
		})
	}
}
