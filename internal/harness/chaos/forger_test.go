package chaos

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/payflow/payflow/banksim"
)

// callbackRoutes answers bank callbacks the way payflow's routes must: each route
// verifies its own channel's signature (401 otherwise), a reference of another
// channel's object is 404, and an event id is delivered once. It verifies with the
// banks' own code (banksim.VerifyCallback, stripe-go's webhook), so that a false
// callback the forger signs wrongly would show here, not pass for a refusal.
type callbackRoutes struct {
	banksimSecret, stripeSecret string
	stripeRefs                  map[string]bool
	mu                          sync.Mutex
	events                      map[string]int
	lenient                     bool
}

func (c *callbackRoutes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if c.lenient {
		w.WriteHeader(http.StatusOK)
		return
	}
	var ref, event string
	switch r.URL.Path {
	case "/v1/callbacks/banksim":
		if banksim.VerifyCallback(c.banksimSecret, r.Header.Get(banksim.SignatureHeader), body, time.Now(), 0) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var cb struct {
			Reference string `json:"reference"`
			EventID   string `json:"event_id"`
		}
		_ = json.Unmarshal(body, &cb)
		ref, event = cb.Reference, "banksim/"+cb.EventID
		if c.stripeRefs[ref] {
			w.WriteHeader(http.StatusNotFound)
			return
		}
	case "/v1/callbacks/stripe":
		if webhook.ValidatePayload(body, r.Header.Get("Stripe-Signature"), c.stripeSecret) != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev struct {
			ID   string
			Data struct {
				Object struct{ Metadata map[string]string }
			}
		}
		_ = json.Unmarshal(body, &ev)
		ref, event = ev.Data.Object.Metadata["reference"], "stripe/"+ev.ID
		if !c.stripeRefs[ref] {
			w.WriteHeader(http.StatusNotFound)
			return
		}
	default:
		w.WriteHeader(http.StatusNotFound)
		return
	}
	c.mu.Lock()
	c.events[event]++
	c.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func forgeAll(t *testing.T, routes *callbackRoutes) *Forger {
	t.Helper()
	api := httptest.NewServer(routes)
	t.Cleanup(api.Close)
	f := &Forger{APIURL: api.URL, BanksimSecret: routes.banksimSecret, StripeSecret: routes.stripeSecret}
	f.HTTP = api.Client()
	flows := []Flow{
		{Kind: "payment", ID: "pay_1", BankRef: "pay_1", Amount: 1000},
		{Kind: "withdrawal", ID: "wd_1", BankRef: "wd_1", Amount: 20000},
		{Kind: "payment", ID: "pay_2", BankRef: "pay_2", Amount: 3000, Channel: "stripe"},
	}
	for i := 0; i < 4*len(ForgedKinds); i++ {
		if c := f.next(flows, ForgedKinds[i%len(ForgedKinds)]); c != nil {
			f.send(context.Background(), c)
		}
	}
	return f
}

// The forger's false callbacks are signed as the banks sign theirs, and each kind
// gets the answer payflow's routes must give: no problem against routes that keep
// the rules; replays carry an event id already delivered.
func TestForgerSendsEveryKindSigned(t *testing.T) {
	routes := &callbackRoutes{banksimSecret: "bsecret", stripeSecret: "whsec_s", stripeRefs: map[string]bool{"pay_2": true}, events: map[string]int{}}
	f := forgeAll(t, routes)
	require.Empty(t, f.Problems())
	for _, k := range ForgedKinds {
		assert.Equal(t, 4, f.sent[k], k)
	}
	replayed := 0
	for _, n := range routes.events {
		if n > 1 {
			replayed++
		}
	}
	assert.Equal(t, 4, replayed, "every replay repeats a lie's event id")
	assert.Contains(t, f.Summary(), "24 answered")
}

// Routes that take any callback (a Stripe-signed event about a banksim transfer, a
// banksim signature on the Stripe route) are named, kind by kind.
func TestForgerNamesAWrongAnswer(t *testing.T) {
	routes := &callbackRoutes{banksimSecret: "bsecret", stripeSecret: "whsec_s", lenient: true}
	f := forgeAll(t, routes)
	problems := strings.Join(f.Problems(), "\n")
	// The forger picks one of the recent banksim flows at random (pay_1 or wd_1).
	assert.Regexp(t, `false callback \(stripe-signed about banksim\) about (pay_1|wd_1) on /v1/callbacks/stripe answered HTTP 200, want 404`, problems)
	assert.Contains(t, problems, "(banksim-signed on the stripe route)")
	assert.Contains(t, problems, "answered HTTP 200, want 401")
	assert.Contains(t, problems, "(banksim-signed about stripe) about pay_2 on /v1/callbacks/banksim answered HTTP 200, want 404")
	assert.NotContains(t, problems, "(banksim lie)")
}
