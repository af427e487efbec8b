package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// The identity flows do not run in the router's tests: a start is accepted and the
// object stays as the API stored it (a verification and a report processing, a card
// pending_otp); the binding flow is already past validating, so that a binding is
// answered at once.

func (f *fakeStarter) StartIdentity(_ context.Context, s starter.IdentityStart) error {
	return f.start(func() { f.identityStarts = append(f.identityStarts, s.ObjectID) })
}

// ConfirmCard answers as f.confirm says; by default every code is wrong with two
// tries left (the card stays pending_otp in the store).
func (f *fakeStarter) ConfirmCard(context.Context, string, models.ConfirmCard) (models.ConfirmCardResult, error) {
	return models.ConfirmCardResult{Status: models.BoundCardPendingOTP, AttemptsLeft: 2}, nil
}

func (f *fakeStarter) SignalRemoveCard(context.Context, string) error { return nil }

func (f *fakeStarter) State(_ context.Context, workflowID string) (models.FlowState, error) {
	return models.FlowState{Stage: models.StageWaitingCustomer}, nil
}

// identityConfig is the test API's identity configuration: answers do not wait for
// flows that never run.
func identityConfig() starter.IdentityConfig {
	return starter.IdentityConfig{
		HMACKey: starter.IdentityHMACKey([]byte("0123456789abcdef0123456789abcdef")), CacheTTL: time.Hour,
		CreditReuse: 30 * 24 * time.Hour, CreditRetain: 90 * 24 * time.Hour, SyncWait: 20 * time.Millisecond,
	}
}

// The simulator's seeded cardholder 张三, as a merchant sends it.
var zhangSan = map[string]any{"card_number": "6222021000000000017", "name": "张三", "id_number": "110105199003070017", "phone": "13800138000"}

func creditReportRequest() map[string]any {
	return map[string]any{
		"subject": map[string]any{"name": "张三", "id_number": "110105199003070017"}, "purpose": "loan_review",
		"consent": map[string]any{"reference": "consent-1", "granted_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)},
	}
}

// Every identity route answers as api/openapi.yaml describes it (the validator of
// newAPI fails the test on any exchange that disagrees): what the merchant gets back
// is masked, refusals carry their codes, a wrong code carries attempts_left.
func TestIdentityContract(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	ctx := context.Background()
	post := func(target string, body map[string]any, status int) map[string]any {
		t.Helper()
		r, err := a.c.Post(ctx, target, body, "id-"+models.NewID(""))
		require.NoError(t, err)
		require.Equal(t, status, r.Status, "%s: %s", target, r.Body)
		var out map[string]any
		require.NoError(t, r.JSON(&out))
		return out
	}
	get := func(target string, status int) map[string]any {
		t.Helper()
		r, err := a.c.Get(ctx, target)
		require.NoError(t, err)
		require.Equal(t, status, r.Status, "%s: %s", target, r.Body)
		var out map[string]any
		require.NoError(t, r.JSON(&out))
		return out
	}

	v := map[string]any{"type": "bank_card"}
	for k, e := range zhangSan {
		v[k] = e
	}
	ver := post("/v1/verifications", v, 202)
	require.Equal(t, "processing", ver["status"])
	require.Equal(t, map[string]any{"card_number": "6222 **** **** 0017", "name": "张*", "id_number": "1101**********0017", "phone": "138****8000"}, ver["elements"])
	get("/v1/verifications/"+ver["id"].(string), 200)
	// The bank's answer, as the flow records it: the answer then shows it.
	require.NoError(t, store.NewTx(a.db.DB).SetVerificationOutcome(ver["id"].(string), models.VerificationOutcome{
		Status: models.VerificationSucceeded, Fee: 50, Answer: &models.VerificationAnswer{
			Result: models.VerificationMismatch, MismatchedFields: []string{models.FieldPhone},
			Card: models.CardInfo{Bank: "Industrial and Commercial Bank of China", CardType: "debit", Last4: "0017"},
		},
	}))
	ver = get("/v1/verifications/"+ver["id"].(string), 200)
	require.Equal(t, "mismatch", ver["result"])
	require.Equal(t, []any{"phone"}, ver["mismatched_fields"])
	require.EqualValues(t, 50, ver["fee"])
	require.Len(t, get("/v1/verifications", 200)["data"], 1)
	for _, c := range []struct {
		field, value, code string
	}{
		{"card_number", "6222021000000000018", "invalid_card_number"},
		{"id_number", "110105199003070018", "invalid_id_number"},
		{"phone", "23800138000", "invalid_phone"},
		{"name", "", "invalid_name"},
	} {
		bad := map[string]any{}
		for k, e := range v {
			bad[k] = e
		}
		bad[c.field] = c.value
		require.Equal(t, c.code, post("/v1/verifications", bad, 422)["code"], c.field)
	}

	acct := post("/v1/accounts", map[string]any{"currency": "CNY"}, 201)["id"].(string)
	card := post("/v1/accounts/"+acct+"/cards", zhangSan, 202)
	require.Equal(t, "pending_otp", card["status"])
	require.Equal(t, "6222 **** **** 0017", card["card_number"])
	cardPath := "/v1/accounts/" + acct + "/cards/" + card["id"].(string)
	get(cardPath, 200)
	require.Len(t, get("/v1/accounts/"+acct+"/cards", 200)["data"], 1)
	p := post(cardPath+"/confirm", map[string]any{"otp": "000000"}, 422)
	require.Equal(t, "otp_incorrect", p["code"])
	require.EqualValues(t, 2, p["attempts_left"])
	r, err := a.c.Do(ctx, client.Request{Method: "DELETE", Target: cardPath})
	require.NoError(t, err)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	require.Equal(t, "card_not_active", post(cardPath+"/confirm", map[string]any{"otp": "000000"}, 422)["code"])
	require.Equal(t, "invalid_source", post("/v1/payments", map[string]any{"amount": 100, "currency": "CNY",
		"source": map[string]any{"type": "bound_card", "card_id": card["id"]}}, 422)["code"])
	require.Equal(t, "invalid_source", post("/v1/withdrawals", map[string]any{"account_id": acct, "amount": 100, "currency": "CNY",
		"destination": map[string]any{"bound_card": card["id"]}}, 422)["code"])

	cr := post("/v1/credit_reports", creditReportRequest(), 202)
	require.Equal(t, map[string]any{"name": "张*", "id_number": "1101**********0017"}, cr["subject"])
	require.Nil(t, cr["report"])
	get("/v1/credit_reports/"+cr["id"].(string), 200)
	// The bureau's report, as the flow records it (the simulator's 张三).
	content := `{"score":720,"summary":{"credit_accounts":2,"overdue_accounts":0,"max_overdue_months":0,"inquiries_last_6m":2},` +
		`"accounts":[{"institution":"Industrial and Commercial Bank of China","type":"credit_card","opened":"2015-06","limit":5000000,"balance":320000,"status":"normal","overdue_months":0}]}`
	sealed, err := a.store.Seal(content, cr["id"].(string), "report")
	require.NoError(t, err)
	now := time.Now().UTC()
	require.NoError(t, store.NewTx(a.db.DB).SetCreditReportOutcome(cr["id"].(string), store.ReportOutcome{
		Status: models.CreditReportReady, Fee: 300, ReportSealed: sealed, ReadyAt: now, ExpiresAt: now.Add(90 * 24 * time.Hour),
	}))
	ready := get("/v1/credit_reports/"+cr["id"].(string), 200)
	require.Equal(t, "ready", ready["status"])
	require.EqualValues(t, 720, ready["report"].(map[string]any)["score"])
	reads := get("/v1/credit_reports/"+cr["id"].(string)+"/reads", 200)["data"].([]any)
	require.Len(t, reads, 2)
	require.Equal(t, "merchant:mch_demo", reads[0].(map[string]any)["reader"])
	require.Len(t, get("/v1/credit_reports", 200)["data"], 1)
	old := creditReportRequest()
	old["consent"].(map[string]any)["granted_at"] = time.Now().Add(-31 * 24 * time.Hour).UTC().Format(time.RFC3339)
	require.Equal(t, "consent_invalid", post("/v1/credit_reports", old, 422)["code"])
	bad := creditReportRequest()
	bad["purpose"] = "marketing"
	require.Equal(t, "invalid_purpose", post("/v1/credit_reports", bad, 422)["code"])
}
