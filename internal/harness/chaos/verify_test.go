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

// world is what a fake payflow and bank simulator answer: objects by path,
// executions and the bank's own transfers by reference, the bank's statement,
// journals and clearing entries by flow id, wallet and settlement balances, and what
// the run saw of flows needing attention.
type world struct {
	objects    map[string]Object
	executions map[string]int
	transfers  map[string]BankTransfer
	statement  []Movement
	journals   map[string]int
	clearing   map[ClearingKey]int64
	wallet     int64
	settlement map[string]int64
	ledgerOK   bool
	attention  map[string]bool // flow id -> hold kept
	// unread are flows listed in needs_attention only after they ended.
	unread []string
	flows  []Flow
	// The identity services: verifications and cards by path, the verifications'
	// fee journals, the flows the ops API lists open, and the cache's outages.
	identity      map[string]any
	verifications []Verification
	bindings      []Binding
	feeJournals   map[string][]FeeJournal
	open          []map[string]string
	outages       []Outage
}

// greenWorld is a run where everything adds up: card payments (one refunded, one
// declined), a top-up and withdrawals, an operator's cancel the bank carried out
// (pay_3) and one it refused, whose charge was then given back (pay_4), a payment
// through auto that went to stripe (pay_5), a payout canceled at its deadline (wd_3) and one the bank
// would not cancel, which needed attention and then succeeded (wd_4), and a
// disabled merchant's payment whose charge went back (pay_6) beside one it kept
// (pay_7).
func greenWorld() world {
	return world{
		objects: map[string]Object{
			"/v1/payments/pay_1":   {ID: "pay_1", Status: "partially_refunded", Amount: 1000, Channel: "banksim"},
			"/v1/payments/pay_2":   {ID: "pay_2", Status: "failed", FailureCode: "card_declined", Amount: 2000, Channel: "banksim"},
			"/v1/payments/pay_3":   {ID: "pay_3", Status: "failed", FailureCode: "canceled", Amount: 3000, Channel: "banksim"},
			"/v1/payments/pay_4":   {ID: "pay_4", Status: "failed", FailureCode: "canceled", Amount: 4000, Channel: "banksim"},
			"/v1/payments/pay_5":   {ID: "pay_5", Status: "succeeded", Amount: 5000, Channel: "stripe"},
			"/v1/payments/pay_6":   {ID: "pay_6", Status: "failed", FailureCode: "merchant_disabled", Amount: 6000, Channel: "banksim"},
			"/v1/payments/pay_7":   {ID: "pay_7", Status: "succeeded", Amount: 700, Channel: "banksim"},
			"/v1/refunds/re_1":     {ID: "re_1", Status: "succeeded", Amount: 300},
			"/v1/topups/top_1":     {ID: "top_1", Status: "succeeded", Amount: 50000},
			"/v1/withdrawals/wd_1": {ID: "wd_1", Status: "succeeded", Amount: 20000},
			"/v1/withdrawals/wd_2": {ID: "wd_2", Status: "failed", FailureCode: "account_closed", Amount: 20000},
			"/v1/withdrawals/wd_3": {ID: "wd_3", Status: "failed", FailureCode: "expired", Amount: 20000},
			"/v1/withdrawals/wd_4": {ID: "wd_4", Status: "succeeded", Amount: 20000},
		},
		executions: map[string]int{
			"pay_1": 1, "pay_2": 1, "pay_3": 1, "pay_4": 1, "rev_pay_4": 1, "pay_6": 1, "rev_pay_6": 1, "pay_7": 1,
			"re_1": 1, "top_1": 1, "wd_1": 1, "wd_2": 1, "wd_3": 1, "wd_4": 1,
			"ver_1": 1, "ver_3": 1, "ver_4": 1, "card_1": 1,
		},
		transfers: map[string]BankTransfer{
			"pay_2":     {Found: true, Status: "failed", Kind: "charge", Amount: 2000},
			"pay_3":     {Found: true, Status: "canceled", Kind: "charge", Amount: 3000},
			"pay_4":     {Found: true, Status: "succeeded", Kind: "charge", Amount: 4000},
			"rev_pay_4": {Found: true, Status: "succeeded", Kind: "refund", Amount: 4000},
			"pay_6":     {Found: true, Status: "succeeded", Kind: "charge", Amount: 6000},
			"rev_pay_6": {Found: true, Status: "succeeded", Kind: "refund", Amount: 6000},
			"wd_2":      {Found: true, Status: "failed", Kind: "payout", Amount: 20000},
			"wd_3":      {Found: true, Status: "canceled", Kind: "payout", Amount: 20000},
		},
		statement: []Movement{
			{"pay_1", "charge", "CNY", "succeeded", 1000},
			{"pay_2", "charge", "CNY", "failed", 2000},
			{"pay_4", "charge", "CNY", "succeeded", 4000},
			{"rev_pay_4", "refund", "CNY", "succeeded", 4000},
			{"pay_6", "charge", "CNY", "succeeded", 6000},
			{"rev_pay_6", "refund", "CNY", "succeeded", 6000},
			{"pay_7", "charge", "CNY", "succeeded", 700},
			{"re_1", "refund", "CNY", "succeeded", 300},
			{"top_1", "charge", "CNY", "succeeded", 50000},
			{"wd_1", "payout", "CNY", "succeeded", 20000},
			{"wd_2", "payout", "CNY", "failed", 20000},
			{"wd_4", "payout", "CNY", "succeeded", 20000},
		},
		journals: map[string]int{"pay_1": 1, "pay_5": 1, "pay_7": 1, "re_1": 1, "top_1": 1, "wd_1": 1, "wd_4": 1},
		clearing: map[ClearingKey]int64{
			{"banksim", "CNY", "pay_1"}: -1000, {"stripe", "CNY", "pay_5"}: -5000, {"banksim", "CNY", "pay_7"}: -700,
			{"banksim", "CNY", "re_1"}: 300, {"banksim", "CNY", "top_1"}: -50000,
			{"banksim", "CNY", "wd_1"}: 20000, {"banksim", "CNY", "wd_4"}: 20000,
		},
		wallet: 10000, settlement: map[string]int64{"mch_1": 5700 - 50 - 10 - 50, "mch_2": 700}, ledgerOK: true,
		attention: map[string]bool{"wd_4": true},
		flows: []Flow{
			{Kind: "payment", ID: "pay_1", Want: "partially_refunded"},
			{Kind: "payment", ID: "pay_2", Want: "failed", WantCode: "card_declined"},
			{Kind: "payment", ID: "pay_3", Want: "failed", WantCode: "canceled"},
			{Kind: "payment", ID: "pay_4", Want: "failed", WantCode: "canceled"},
			{Kind: "payment", ID: "pay_5", Want: "succeeded", Channel: "auto"},
			{Kind: "payment", ID: "pay_6", Want: "failed", WantCode: "merchant_disabled", Also: []Outcome{{"succeeded", ""}}, Merchant: "mch_2"},
			{Kind: "payment", ID: "pay_7", Want: "failed", WantCode: "merchant_disabled", Also: []Outcome{{"succeeded", ""}}, Merchant: "mch_2"},
			{Kind: "refund", ID: "re_1", Want: "succeeded"},
			{Kind: "topup", ID: "top_1", Want: "succeeded", Account: "acct_1"},
			{Kind: "withdrawal", ID: "wd_1", Want: "succeeded", Account: "acct_1"},
			{Kind: "withdrawal", ID: "wd_2", Want: "failed", WantCode: "account_closed", Account: "acct_1"},
			{Kind: "withdrawal", ID: "wd_3", Want: "failed", WantCode: "expired", Also: []Outcome{{"succeeded", ""}}, Account: "acct_1"},
			{Kind: "withdrawal", ID: "wd_4", Want: "succeeded", Account: "acct_1", Attention: true},
		},
		// Verifications: one the bank answered (ver_1), its repeat answered from
		// the cache (ver_2), one the bank executed but never answered in time
		// (ver_3, nothing billed), and one asked while the cache was down
		// (ver_4); and a card bound to a wallet, active, its flow open.
		identity: map[string]any{
			"/v1/verifications/ver_1":          verificationObject{ID: "ver_1", Status: "succeeded", Result: "match", Fee: 50},
			"/v1/verifications/ver_2":          verificationObject{ID: "ver_2", Status: "succeeded", Result: "match", Cached: true, Fee: 10},
			"/v1/verifications/ver_3":          verificationObject{ID: "ver_3", Status: "failed", FailureCode: "bank_unavailable"},
			"/v1/verifications/ver_4":          verificationObject{ID: "ver_4", Status: "succeeded", Result: "mismatch", Fee: 50},
			"/v1/accounts/acct_2/cards/card_1": Object{ID: "card_1", Status: "active"},
		},
		verifications: []Verification{
			{ID: "ver_1", Case: "match", Want: "match"},
			{ID: "ver_2", Case: "repeat", Want: "match", Repeat: true},
			{ID: "ver_3", Case: "timeout", Want: "match"},
			{ID: "ver_4", Case: "mismatch", Want: "mismatch", Started: outageStart.Add(time.Second), Ended: outageStart.Add(2 * time.Second)},
		},
		bindings: []Binding{{CardID: "card_1", AccountID: "acct_2"}},
		feeJournals: map[string][]FeeJournal{
			"ver_1": {{"verification/ver_1/fee", 50}}, "ver_2": {{"verification/ver_2/fee", 10}}, "ver_4": {{"verification/ver_4/fee", 50}},
		},
		open:    []map[string]string{{"id": "card_1", "flow": "card_binding", "stage": "active"}},
		outages: []Outage{{From: outageStart, To: outageStart.Add(5 * time.Second)}},
	}
}

var outageStart = time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC)

func (w world) run(t *testing.T) Report {
	t.Helper()
	api := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/accounts/acct_1" {
			_ = json.NewEncoder(rw).Encode(map[string]any{"id": "acct_1", "balance": w.wallet, "available": w.wallet})
			return
		}
		if v, ok := w.identity[r.URL.Path]; ok {
			_ = json.NewEncoder(rw).Encode(v)
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
	answer := func(status int, v any) (*client.Response, error) {
		b, ok := v.([]byte)
		if !ok {
			b, _ = json.Marshal(v)
		}
		return &client.Response{Status: status, Body: b}, nil
	}
	bank := func(_ context.Context, _, path, _ string) (*client.Response, error) {
		switch {
		case strings.HasPrefix(path, "/sim/executions?reference="):
			ref := strings.TrimPrefix(path, "/sim/executions?reference=")
			return answer(200, map[string]any{"reference": ref, "count": w.executions[ref]})
		case strings.HasPrefix(path, "/v1/transfers/"):
			t, ok := w.transfers[strings.TrimPrefix(path, "/v1/transfers/")]
			if !ok {
				return answer(404, map[string]any{"error": "not_found"})
			}
			return answer(200, map[string]any{"status": t.Status, "kind": t.Kind, "amount": t.Amount, "currency": "CNY"})
		case strings.HasPrefix(path, "/sim/statements/banksim-"):
			// One day's file holds every line; the others are empty.
			csv := "reference,kind,amount,currency,status,time\n"
			if strings.HasSuffix(path, time.Now().UTC().Format("2006-01-02")+".csv") {
				for _, m := range w.statement {
					csv += fmt.Sprintf("%s,%s,%d,%s,%s,2026-01-01T00:00:00Z\n", m.Reference, m.Kind, m.Amount, m.Currency, m.Status)
				}
			}
			return answer(200, []byte(csv))
		}
		return answer(404, map[string]any{"error": "no_route"})
	}
	ops := func(_ context.Context, _, path, _ string) (*client.Response, error) {
		if strings.HasPrefix(path, "/v1/ops/flows") {
			return answer(200, map[string]any{"data": w.open})
		}
		return answer(200, map[string]any{"ok": w.ledgerOK, "journals": len(w.journals)})
	}
	d := &Driver{Clients: []*client.Client{client.New(api.URL, "mch_1", "secret")}, Bank: bank, Ops: ops}
	other := &Driver{Clients: []*client.Client{client.New(api.URL, "mch_2", "secret2")}, Bank: bank, Ops: ops, Merchant: "mch_2"}

	db, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	_, err = db.Exec(`CREATE TABLE journals (id TEXT, idempotency_key TEXT, flow TEXT, flow_id TEXT);
		CREATE TABLE accounts (id TEXT, kind TEXT, merchant_id TEXT, currency TEXT, channel TEXT, balance INTEGER);
		CREATE TABLE entries (id TEXT, journal_id TEXT, account_id TEXT, amount INTEGER, currency TEXT)`)
	require.NoError(t, err)
	n := 0
	first := map[string]string{}
	for id, k := range w.journals {
		for i := 0; i < k; i++ {
			n++
			jid := fmt.Sprintf("jnl_%d", n)
			if first[id] == "" {
				first[id] = jid
			}
			_, err := db.Exec(`INSERT INTO journals (id, idempotency_key, flow, flow_id) VALUES (?, ?, 'payment', ?)`, jid, jid, id)
			require.NoError(t, err)
		}
	}
	// Each fee journal takes its amount from the merchant's settlement account into
	// the fees account.
	for id, js := range w.feeJournals {
		for _, j := range js {
			n++
			jid := fmt.Sprintf("jnl_%d", n)
			_, err := db.Exec(`INSERT INTO journals (id, idempotency_key, flow, flow_id) VALUES (?, ?, 'verification', ?)`, jid, j.Key, id)
			require.NoError(t, err)
			_, err = db.Exec(`INSERT INTO entries VALUES (?, ?, 'set_mch_1', ?, 'CNY'), (?, ?, 'fees_CNY', ?, 'CNY')`,
				"ent_s"+jid, jid, -j.Amount, "ent_f"+jid, jid, j.Amount)
			require.NoError(t, err)
		}
	}
	for k, amount := range w.clearing {
		jid := first[k.FlowID]
		if jid == "" {
			n++
			jid = fmt.Sprintf("jnl_%d", n)
			_, err := db.Exec(`INSERT INTO journals (id, idempotency_key, flow, flow_id) VALUES (?, ?, 'payment', ?)`, jid, jid, k.FlowID)
			require.NoError(t, err)
		}
		acct := "clr_" + k.Channel + "_" + k.Currency
		_, err := db.Exec(`INSERT INTO accounts SELECT ?, 'bank_clearing', '', ?, ?, 0 WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE id = ?)`,
			acct, k.Currency, k.Channel, acct)
		require.NoError(t, err)
		_, err = db.Exec(`INSERT INTO entries VALUES (?, ?, ?, ?, ?)`, "ent_"+k.FlowID+k.Channel, jid, acct, amount, k.Currency)
		require.NoError(t, err)
	}
	for m, bal := range w.settlement {
		_, err = db.Exec(`INSERT INTO accounts VALUES (?, 'merchant_settlement', ?, 'CNY', '', ?)`, "set_"+m, m, bal)
		require.NoError(t, err)
	}
	_, err = db.Exec(`INSERT INTO accounts VALUES ('set_x', 'merchant_settlement', 'mch_other', 'CNY', '', 99), ('fees_CNY', 'fees', '', 'CNY', '', 0)`)
	require.NoError(t, err)

	tr := &Tracker{}
	for _, f := range w.flows {
		f.Path, f.BankRef = paths[f.Kind]+f.ID, f.ID
		tr.Add(f)
	}
	for id, kept := range w.attention {
		tr.SawAttention(id, false, false) // listed after it ended: not a check
		tr.SawAttention(id, true, kept)
	}
	for _, id := range w.unread {
		tr.SawAttention(id, false, false)
	}
	tr.AddWallet("acct_1")
	for _, v := range w.verifications {
		tr.AddVerification(v)
	}
	for _, b := range w.bindings {
		tr.AddBinding(b)
	}
	return Verify(context.Background(), d, tr, VerifyOptions{
		Books: Books{DB: db}, MerchantID: "mch_1", Wait: 5 * time.Second,
		Others:       map[string]Party{"mch_2": {Driver: other}},
		CacheOutages: w.outages,
	})
}

// Verify passes a run where everything adds up, and names each kind of loss or
// doubling in a run where one thing does not.
func TestVerify(t *testing.T) {
	rep := greenWorld().run(t)
	require.True(t, rep.OK(), "%s", rep)
	assert.Equal(t, 13, rep.Flows)
	assert.Equal(t, 12, rep.BankExecuted, "the flows' references (reversals are not flows)")
	assert.Equal(t, 7, rep.Journals)
	assert.Equal(t, int64(5700-110), rep.Settlement, "the payments less the refund and the verifications' fees")
	assert.Equal(t, map[string]int64{"mch_2": 700}, rep.Settlements)
	assert.Equal(t, map[string]int{"payment": 7, "refund": 1, "topup": 1, "withdrawal": 4}, rep.ByKind)
	assert.Equal(t, map[string]int{"banksim": 12, "stripe": 1}, rep.Channels)
	assert.Equal(t, map[string]int{"stripe": 1}, rep.Auto, "auto records the real channel")
	assert.Equal(t, 2, rep.CanceledAtBank)
	assert.Equal(t, 2, rep.Reversed)
	assert.Equal(t, 1, rep.Attention)
	assert.Equal(t, 12, rep.Movements)
	assert.Equal(t, map[string]int64{"CNY": 1000 + 700 - 300 + 50000 - 20000 - 20000}, rep.BankNet)
	assert.Equal(t, rep.BankNet, rep.ClearingNet)

	for name, tc := range map[string]struct {
		change func(w *world)
		want   string
	}{
		"executed twice":          {func(w *world) { w.executions["wd_1"] = 2 }, "the bank executed withdrawal wd_1 2 times"},
		"succeeded, not executed": {func(w *world) { w.executions["top_1"] = 0 }, "topup top_1 succeeded but the bank executed it 0 times"},
		"journal missing":         {func(w *world) { delete(w.journals, "re_1"); delete(w.clearing, ClearingKey{"banksim", "CNY", "re_1"}) }, "refund re_1 succeeded with 0 ledger journals"},
		"journal doubled":         {func(w *world) { w.journals["pay_1"] = 2 }, "payment pay_1 succeeded with 2 ledger journals"},
		"failed flow posted":      {func(w *world) { w.journals["wd_2"] = 1 }, "withdrawal wd_2 ended failed with 1 ledger journals"},
		"journal of no flow":      {func(w *world) { w.journals["pay_9"] = 1 }, `1 ledger journals of "pay_9"`},
		"other outcome": {func(w *world) {
			w.objects["/v1/payments/pay_2"] = Object{ID: "pay_2", Status: "succeeded", Amount: 2000}
		}, "payment pay_2 ended succeeded"},
		"wallet off":     {func(w *world) { w.wallet = 50000 }, "wallet acct_1: balance 50000, available 50000; its flows reported 10000"},
		"settlement off": {func(w *world) { w.settlement["mch_1"] = 1000 }, "settlement balance 1000; the payments and refunds (less the verifications' fees) reported 5590"},
		"ledger check":   {func(w *world) { w.ledgerOK = false }, "ledger check not ok"},
		"never ends":     {func(w *world) { w.objects["/v1/topups/top_1"] = Object{ID: "top_1", Status: "processing"} }, "topup top_1 never ended"},

		// An operator's cancel and a deadline: only the outcomes the bank's record
		// allows.
		"canceled payment succeeded": {func(w *world) {
			w.objects["/v1/payments/pay_3"] = Object{ID: "pay_3", Status: "succeeded", Amount: 3000, Channel: "banksim"}
		}, `payment pay_3 ended succeeded "", it may only end failed canceled`},
		"canceled, but the bank charged and kept it": {func(w *world) {
			w.transfers["pay_3"] = BankTransfer{Found: true, Status: "succeeded", Kind: "charge", Amount: 3000}
		}, `payment pay_3 ended failed "canceled" but the bank executed its charge and did not give it back`},
		"canceled, the reversal never executed": {func(w *world) { w.executions["rev_pay_4"] = 0; delete(w.transfers, "rev_pay_4") },
			"payment pay_4 ended failed \"canceled\" but the bank executed its charge and did not give it back (reversal rev_pay_4 executed 0 times, never seen by the bank)"},
		"canceled, a partial reversal": {func(w *world) {
			w.transfers["rev_pay_4"] = BankTransfer{Found: true, Status: "succeeded", Kind: "refund", Amount: 400}
		}, "did not give it back (reversal rev_pay_4 executed 1 times, succeeded 400 of 4000)"},
		"expired, but the payout executed": {func(w *world) {
			w.transfers["wd_3"] = BankTransfer{Found: true, Status: "succeeded", Kind: "payout", Amount: 20000}
		}, `withdrawal wd_3 ended failed "expired" but the bank executed its payout: money moved for a flow that did not succeed`},
		"ended while the bank still processes": {func(w *world) {
			w.transfers["wd_3"] = BankTransfer{Found: true, Status: "processing", Kind: "payout", Amount: 20000}
		}, `withdrawal wd_3 ended failed "expired" while the bank's transfer is "processing"`},
		"succeeded charge also reversed": {func(w *world) { w.executions["rev_pay_1"] = 1 }, "payment pay_1 succeeded but the bank also executed its reversal rev_pay_1"},
		"needs attention never seen":     {func(w *world) { delete(w.attention, "wd_4") }, "withdrawal wd_4 was never seen in stage needs_attention"},
		"needs attention, hold never read": {func(w *world) { delete(w.attention, "wd_4"); w.unread = []string{"wd_4"} },
			"withdrawal wd_4 was seen needing attention, but its hold was never read while it was open"},
		"needs attention, hold released": {func(w *world) { w.attention["wd_4"] = false }, "withdrawal wd_4 needed attention but its wallet did not hold its amount (1 of 1 times read)"},

		// Stripe: one real channel at a time, booked where the money moved.
		"stripe payment also at banksim": {func(w *world) { w.executions["pay_5"] = 1 }, "payment pay_5 went to stripe but the bank simulator executed it 1 times too"},
		"booked to the wrong channel": {func(w *world) {
			delete(w.clearing, ClearingKey{"stripe", "CNY", "pay_5"})
			w.clearing[ClearingKey{"banksim", "CNY", "pay_5"}] = -5000
		}, "pay_5 booked -5000 on bank_clearing/banksim/CNY; its outcome moved 0 there"},
		"a clearing account named auto": {func(w *world) {
			delete(w.clearing, ClearingKey{"stripe", "CNY", "pay_5"})
			w.clearing[ClearingKey{"auto", "CNY", "pay_5"}] = -5000
		}, `-5000 booked on a clearing account of channel "auto" by pay_5`},

		// The bank's statements against the ledger's clearing entries.
		"the bank moved money the ledger never booked": {func(w *world) {
			w.statement = append(w.statement, Movement{"pay_9", "charge", "CNY", "succeeded", 900})
		}, "the bank's statements say it moved 900 CNY for pay_9; the ledger's banksim clearing entries of it say 0"},
		"the ledger booked money the bank never moved": {func(w *world) {
			w.statement = w.statement[1:]
		}, "the bank's statements say it moved 0 CNY for pay_1; the ledger's banksim clearing entries of it say 1000"},
		"the bank moved another amount": {func(w *world) {
			w.statement[len(w.statement)-1].Amount = 20001
		}, "CNY: the bank moved 11399 in all, the ledger's banksim clearing account says 11400"},
		"a disabled merchant's charge kept": {func(w *world) {
			w.statement = w.statement[:5] // rev_pay_6 and what follows are gone
			w.statement = append(w.statement, Movement{"pay_7", "charge", "CNY", "succeeded", 700}, Movement{"re_1", "refund", "CNY", "succeeded", 300},
				Movement{"top_1", "charge", "CNY", "succeeded", 50000}, Movement{"wd_1", "payout", "CNY", "succeeded", 20000}, Movement{"wd_4", "payout", "CNY", "succeeded", 20000})
		}, "the bank's statements say it moved 6000 CNY for pay_6; the ledger's banksim clearing entries of it say 0"},
		"another merchant's settlement off": {func(w *world) { w.settlement["mch_2"] = 6700 }, "merchant mch_2: settlement balance 6700; its payments and refunds reported 700"},
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
