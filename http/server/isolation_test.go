package server_test

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// idPrefix reads the prefix an id schema's pattern requires (^pay_[a-z0-9_]{1,64}$
// -> pay_).
var idPrefix = regexp.MustCompile(`^\^([a-z]+_)\[`)

// anyID finds the ids of a request body.
var anyID = regexp.MustCompile(`^[a-z]+_[a-z0-9_]+$`)

// victimObjects creates one object of every kind for mch_other, through the API, and
// returns their ids by prefix.
func victimObjects(t *testing.T, a *api) map[string]string {
	t.Helper()
	ctx := context.Background()
	v := a.merchantClient("mch_other", "other_secret")
	post := func(target string, body map[string]any) map[string]any {
		t.Helper()
		r, err := v.Post(ctx, target, body, "victim-"+models.NewID(""))
		require.NoError(t, err)
		require.Less(t, r.Status, 300, "%s: %s", target, r.Body)
		var out map[string]any
		require.NoError(t, r.JSON(&out))
		return out
	}
	ids := map[string]string{"mch_": "mch_other"}
	ids["acct_"] = post("/v1/accounts", map[string]any{"currency": "CNY"})["id"].(string)
	ids["top_"] = post("/v1/topups", map[string]any{"account_id": ids["acct_"], "amount": 5000, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"}})["id"].(string)
	ids["pay_"] = post("/v1/payments", map[string]any{"amount": 1050, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"}})["id"].(string)
	require.NoError(t, store.NewTx(a.db.DB).SetPaymentOutcome(ids["pay_"], store.PaymentOutcome{Status: models.PaymentSucceeded}))
	ids["re_"] = post("/v1/payments/"+ids["pay_"]+"/refunds", map[string]any{"amount": 100})["id"].(string)
	ev, _, err := a.store.CreateEvent(ctx, models.Event{
		ID: models.NewID(models.PrefixEvent), MerchantID: "mch_other", Type: models.EventPaymentSucceeded,
		ObjectID: ids["pay_"], NotifyURL: "https://merchant.example/hooks", Data: []byte(`{}`), CreatedAt: time.Now().UTC(),
	})
	require.NoError(t, err)
	ids["evt_"] = ev.ID
	ids["wd_"] = post("/v1/withdrawals", map[string]any{"account_id": ids["acct_"], "amount": 100, "currency": "CNY", "destination": map[string]any{"bank_account": "ba_success"}})["id"].(string)
	verification := map[string]any{"type": "bank_card"}
	for k, e := range zhangSan {
		verification[k] = e
	}
	ids["ver_"] = post("/v1/verifications", verification)["id"].(string)
	ids["card_"] = post("/v1/accounts/"+ids["acct_"]+"/cards", zhangSan)["id"].(string)
	ids["cr_"] = post("/v1/credit_reports", creditReportRequest())["id"].(string)
	r, err := v.Get(ctx, "/v1/credit_reports/"+ids["cr_"]) // a read, recorded
	require.NoError(t, err)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	r, err = v.Get(ctx, "/v1/credit_reports/"+ids["cr_"]+"/reads")
	require.NoError(t, err)
	var reads struct {
		Data []models.ReportRead `json:"data"`
	}
	require.NoError(t, r.JSON(&reads))
	require.Len(t, reads.Data, 1)
	ids["crr_"] = reads.Data[0].ID
	victimFundOrders(t, a, ids["acct_"], ids)
	return ids
}

// A merchant sees and touches only its own objects. The test walks every operation
// of the OpenAPI description that a merchant signs (so that a new endpoint is covered
// as soon as it is described) and calls it as mch_demo with mch_other's ids: in the
// path (404), in the body (404 or 422, nothing created) and as a list's
// starting_after (nothing of mch_other's listed). A list without ids must not show
// mch_other's objects either.
func TestMerchantIsolation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		ctx := context.Background()
		victim := victimObjects(t, a)
		var victimIDs []string
		for _, id := range victim {
			victimIDs = append(victimIDs, id)
		}
		// leaks lists the victim's ids in an answer that the request did not carry
		// itself (a problem's instance echoes the path it was given).
		leaks := func(sent string, body []byte) []string {
			var found []string
			for _, id := range victimIDs {
				if id != "mch_other" && strings.Contains(string(body), id) && !strings.Contains(sent, id) {
					found = append(found, id)
				}
			}
			return found
		}
		served := map[string]bool{}
		for _, r := range a.router.Routes() {
			served[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{}")] = true
		}
		doc := a.v.Doc()
		walked := 0
		for _, path := range doc.Paths.InMatchingOrder() {
			for method, op := range doc.Paths.Value(path).Operations() {
				if !signedByMerchant(op) {
					continue
				}
				name := method + " " + path
				if !served[method+" "+specParam.ReplaceAllString(path, "{}")] {
					t.Logf("%s: described, not served by this router; nothing to walk", name)
					continue
				}
				walked++
				target, inPath := path, false
				for _, p := range op.Parameters {
					if p.Value.In != "path" {
						continue
					}
					prefix := schemaPrefix(p.Value.Schema)
					id, ok := victim[prefix]
					require.True(t, ok, "%s: path parameter %s takes %q ids; create one for mch_other in victimObjects", name, p.Value.Name, prefix)
					target = strings.ReplaceAll(target, "{"+p.Value.Name+"}", id)
					inPath = true
				}
				var bodies [][]byte
				inBody := false
				if op.RequestBody != nil {
					examples := requestExamples(op)
					require.NotEmpty(t, examples, "%s: give its request body an example, so that this test can fill it with another merchant's ids", name)
					for _, ex := range examples {
						replaced, n := replaceIDs(t, ex, victim)
						if n == 0 && !inPath {
							continue // nothing of another merchant's in it
						}
						inBody = inBody || n > 0
						bodies = append(bodies, replaced)
					}
				} else {
					bodies = append(bodies, nil)
				}
				switch {
				case inPath || inBody:
					for _, body := range bodies {
						r, err := a.c.Do(ctx, client.Request{Method: method, Target: target, Body: body, IdempotencyKey: "idor-" + models.NewID("")})
						require.NoError(t, err)
						p := decodeProblem(t, r)
						if inPath {
							require.Equal(t, 404, r.Status, "%s %s with %s: %s", method, target, body, r.Body)
						} else {
							require.Contains(t, []int{404, 422}, r.Status, "%s %s with %s: %s", method, target, body, r.Body)
							require.NotEqual(t, "idempotency_key_reused", p.Code)
						}
						require.Empty(t, leaks(target+string(body), r.Body), "%s %s answered with another merchant's objects", method, target)
					}
				case method == "GET":
					r, err := a.c.Get(ctx, target)
					require.NoError(t, err)
					require.Equal(t, 200, r.Status, "%s: %s", name, r.Body)
					require.Empty(t, leaks(target, r.Body), "%s lists another merchant's objects", name)
					for _, p := range op.Parameters {
						if p.Value.In != "query" || p.Value.Name != "starting_after" {
							continue
						}
						id, ok := victim[schemaPrefix(p.Value.Schema)]
						require.True(t, ok, "%s: starting_after takes %q ids; create one for mch_other in victimObjects", name, schemaPrefix(p.Value.Schema))
						r, err := a.c.Get(ctx, target+"?starting_after="+url.QueryEscape(id))
						require.NoError(t, err)
						require.Empty(t, leaks(id, r.Body), "%s?starting_after= pages into another merchant's objects", name)
						require.NotEqual(t, 200, r.Status, "%s?starting_after= accepted another merchant's id", name)
					}
				default:
					t.Logf("%s: takes no id; nothing of another merchant's to reach", name)
				}
			}
		}
		require.GreaterOrEqual(t, walked, 12, "the walk missed the merchant API")
		// mch_demo created nothing with mch_other's ids.
		for _, table := range []string{"payments", "refunds", "topups", "withdrawals", "verifications", "bound_cards", "credit_reports"} {
			var n int64
			require.NoError(t, a.db.Table(table).Where("merchant_id = ?", "mch_demo").Count(&n).Error)
			require.Zero(t, n, "mch_demo created %s with another merchant's ids", table)
		}
		require.Empty(t, slices.DeleteFunc(a.starter.starts, func(p models.PaymentInput) bool { return p.MerchantID != "mch_demo" }))
	})
}

func signedByMerchant(op *openapi3.Operation) bool {
	if op.Security == nil {
		return false
	}
	for _, req := range *op.Security {
		if _, ok := req["merchantSignature"]; ok {
			return true
		}
	}
	return false
}

func schemaPrefix(s *openapi3.SchemaRef) string {
	if s == nil || s.Value == nil {
		return ""
	}
	if m := idPrefix.FindStringSubmatch(s.Value.Pattern); m != nil {
		return m[1]
	}
	return ""
}

// requestExamples returns the JSON examples of an operation's request body.
func requestExamples(op *openapi3.Operation) [][]byte {
	mt := op.RequestBody.Value.Content.Get("application/json")
	if mt == nil {
		return nil
	}
	var out [][]byte
	if mt.Example != nil {
		b, _ := json.Marshal(mt.Example)
		out = append(out, b)
	}
	for _, ex := range mt.Examples {
		if ex.Value != nil && ex.Value.Value != nil {
			b, _ := json.Marshal(ex.Value.Value)
			out = append(out, b)
		}
	}
	return out
}

// replaceIDs puts the victim's id of the same prefix in place of every id of a
// JSON body, and counts them.
func replaceIDs(t *testing.T, body []byte, victim map[string]string) ([]byte, int) {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal(body, &v))
	n := 0
	var walk func(any) any
	walk = func(x any) any {
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case string:
			if anyID.MatchString(x) {
				prefix := x[:strings.Index(x, "_")+1]
				if id, ok := victim[prefix]; ok {
					n++
					return id
				}
			}
		}
		return x
	}
	out, err := json.Marshal(walk(v))
	require.NoError(t, err)
	return out, n
}
