package chaos

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/client"
)

// fakeIdentity is a merchant API and a bank simulator that answer one binding and one
// verification the way a run under crashes sees them: a creating request first
// refused with 503, the SMS late, a confirm refused while the flow does not wait for
// the code yet, then one lost in a 500.
type fakeIdentity struct {
	mu       sync.Mutex
	calls    map[string]int
	confirms []string // what each confirm answered
	// confirmAnswers are the confirms' answers in turn (status, problem code).
	confirmAnswers []struct {
		status int
		code   string
	}
	cardStatus  string
	holders     []Cardholder
	verifyBody  map[string]any
	topupSource map[string]any
}

func (f *fakeIdentity) count(k string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[k]++
	return f.calls[k]
}

func (f *fakeIdentity) driver(t *testing.T) *Driver {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write := func(status int, v any) {
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(v)
		}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		switch p := r.Method + " " + r.URL.Path; p {
		case "POST /v1/accounts":
			write(201, map[string]any{"id": "acct_1"})
		case "POST /v1/accounts/acct_1/cards":
			if f.count(p) == 1 {
				write(503, map[string]any{"code": "unavailable"})
				return
			}
			write(202, map[string]any{"id": "card_1", "status": "pending_otp"})
		case "POST /v1/accounts/acct_1/cards/card_1/confirm":
			n := f.count(p)
			a := f.confirmAnswers[min(n, len(f.confirmAnswers))-1]
			f.mu.Lock()
			f.confirms = append(f.confirms, body["otp"].(string))
			if a.status == 200 {
				f.cardStatus = "active"
			}
			f.mu.Unlock()
			if a.status == 200 {
				write(200, map[string]any{"id": "card_1", "status": "active"})
				return
			}
			write(a.status, map[string]any{"code": a.code})
		case "GET /v1/accounts/acct_1/cards/card_1":
			f.mu.Lock()
			s := f.cardStatus
			f.mu.Unlock()
			write(200, map[string]any{"id": "card_1", "status": s})
		case "POST /v1/topups":
			f.mu.Lock()
			f.topupSource, _ = body["source"].(map[string]any)
			f.mu.Unlock()
			write(202, map[string]any{"id": "top_1", "status": "processing", "amount": body["amount"]})
		case "GET /v1/topups/top_1":
			write(200, map[string]any{"id": "top_1", "status": "succeeded", "amount": 30000})
		case "POST /v1/verifications":
			f.mu.Lock()
			f.verifyBody = body
			f.mu.Unlock()
			write(202, map[string]any{"id": "ver_1", "status": "processing"})
		case "GET /v1/verifications/ver_1":
			status := "processing"
			if f.count(p) > 2 {
				status = "succeeded"
			}
			write(200, map[string]any{"id": "ver_1", "status": status})
		default:
			write(404, map[string]any{"code": "no_route " + p})
		}
	}))
	t.Cleanup(api.Close)
	sent := time.Now().UTC()
	bank := func(_ context.Context, method, path, body string) (*client.Response, error) {
		answer := func(status int, v any) (*client.Response, error) {
			b, _ := json.Marshal(v)
			return &client.Response{Status: status, Body: b}, nil
		}
		switch {
		case method == "POST" && path == "/sim/cardholders":
			var c Cardholder
			_ = json.Unmarshal([]byte(body), &c)
			f.mu.Lock()
			f.holders = append(f.holders, c)
			f.mu.Unlock()
			return answer(201, c)
		case strings.HasPrefix(path, "/sim/sms?phone="):
			switch f.count("sms") {
			case 1:
				return answer(404, map[string]any{"error": "not_found"})
			case 2:
				// A code of an earlier binding of the phone.
				return answer(200, map[string]any{"otp": "111111", "sent_at": sent.Add(-time.Hour)})
			}
			return answer(200, map[string]any{"otp": "123456", "sent_at": sent})
		}
		return answer(404, map[string]any{"error": "no_route"})
	}
	return &Driver{Clients: []*client.Client{client.New(api.URL, "mch_1", "secret")}, Bank: bank}
}

// A binding goes through a refused creation, a late SMS, a confirm refused while the
// flow does not wait for the code and one lost in a 500, and ends recorded with its
// top-up from the card.
func TestBindingChain(t *testing.T) {
	f := &fakeIdentity{calls: map[string]int{}, cardStatus: "pending_otp", confirmAnswers: []struct {
		status int
		code   string
	}{{422, "otp_expired"}, {500, ""}, {200, ""}}}
	d := f.driver(t)
	tr := &Tracker{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	holder := Cardholder{CardNumber: "6222020000000000018", Name: "赵一", IDNumber: "11010519900307001X", Phone: "15000000000"}
	require.NoError(t, bindingChain(ctx, d, tr, holder, "chaos-card-0", true, 30000))

	assert.Equal(t, []Cardholder{holder}, f.holders, "the identity is added to the bank first")
	assert.Equal(t, []string{"123456", "123456", "123456"}, f.confirms, "the fresh code, typed until the card is active")
	assert.Equal(t, []Binding{{CardID: "card_1", AccountID: "acct_1", Topup: "top_1"}}, tr.Bindings())
	assert.Equal(t, []string{"acct_1"}, tr.Wallets())
	assert.Equal(t, map[string]any{"type": "bound_card", "card_id": "card_1"}, f.topupSource)
	flows := tr.Flows()
	require.Len(t, flows, 1)
	assert.Equal(t, Flow{Kind: "topup", ID: "top_1", Path: "/v1/topups/top_1", Want: "succeeded", Amount: 30000, Account: "acct_1", BankRef: "top_1"}, flows[0])
	assert.Empty(t, tr.Errs())

	// The slow SMS card is seeded: it is not added again.
	f = &fakeIdentity{calls: map[string]int{}, cardStatus: "pending_otp", confirmAnswers: []struct {
		status int
		code   string
	}{{200, ""}}}
	tr = &Tracker{}
	require.NoError(t, bindingChain(ctx, f.driver(t), tr, HolderSlowSMS, "chaos-card-1", false, 0))
	assert.Empty(t, f.holders)
	assert.Equal(t, []Binding{{CardID: "card_1", AccountID: "acct_1"}}, tr.Bindings())
	assert.Empty(t, tr.Flows())
}

// A confirm that the card refuses for good (a wrong code, or a binding that ended) is
// an error of the chain, not retried.
func TestBindingChainRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		status     int
		code, card string
		want       string
	}{
		"wrong code":     {422, "otp_incorrect", "pending_otp", "confirm: HTTP 422"},
		"binding failed": {422, "otp_expired", "failed", "the binding ended failed"},
	} {
		t.Run(name, func(t *testing.T) {
			f := &fakeIdentity{calls: map[string]int{}, cardStatus: tc.card, confirmAnswers: []struct {
				status int
				code   string
			}{{tc.status, tc.code}}}
			tr := &Tracker{}
			err := bindingChain(context.Background(), f.driver(t), tr, HolderSlowSMS, "chaos-card-0", true, 30000)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, tr.Bindings(), "a binding not confirmed is not recorded")
		})
	}
}

// A verification adds its identity to the bank, sends only the elements it has, and
// is recorded with when it started and ended.
func TestVerificationChain(t *testing.T) {
	f := &fakeIdentity{calls: map[string]int{}}
	d := f.driver(t)
	tr := &Tracker{}
	h := Cardholder{CardNumber: "6222020000000000018", Name: "赵一", IDNumber: "11010519900307001X", Phone: "15000000000"}
	it := verifyItem{Case: "match", Elements: Cardholder{CardNumber: h.CardNumber, Name: h.Name, IDNumber: h.IDNumber}, Want: "match", Register: &h, Of: 3}
	before := time.Now()
	require.NoError(t, verificationChain(context.Background(), d, tr, it))
	assert.Equal(t, []Cardholder{h}, f.holders)
	assert.Equal(t, map[string]any{"type": "bank_card", "card_number": h.CardNumber, "name": h.Name, "id_number": h.IDNumber}, f.verifyBody)
	vs := tr.Verifications()
	require.Len(t, vs, 1)
	v := vs[0]
	assert.Equal(t, "ver_1", v.ID)
	assert.True(t, v.Repeat)
	assert.Equal(t, "match", v.Want)
	assert.False(t, v.Started.Before(before))
	assert.True(t, v.Ended.After(v.Started))
	assert.Equal(t, 1, tr.VerificationsEndedSince(before))
	assert.Equal(t, 0, tr.VerificationsEndedSince(time.Now().Add(time.Second)))
}
