package stripe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeStripe is a small stateful stand-in for the parts of Stripe's API that
// stripe-mock cannot answer, because stripe-mock is stateless: objects that carry
// our metadata, lists that page, a search index that lags. It answers in Stripe's
// JSON shapes; everything else goes to next (stripe-mock), so that the requests it
// does not model are still validated against Stripe's OpenAPI spec.
type fakeStripe struct {
	mu      sync.Mutex
	objects map[string][]map[string]any // by list path: /v1/charges, /v1/refunds, ...
	byID    map[string]map[string]any
	// searchLags makes the search index miss every object, as it does for up to a
	// minute after a write.
	searchLags bool
	// fail, when it returns a status, answers the request with that error.
	fail func(r *http.Request) int
	// payoutMovesTo, when set, is the status a payout reaches at Stripe between
	// our reading it and our cancel arriving.
	payoutMovesTo string
	next          http.Handler
	seq           int
}

func newFakeStripe(t *testing.T, next http.Handler) (*fakeStripe, *recorder, string) {
	t.Helper()
	f := &fakeStripe{objects: map[string][]map[string]any{}, byID: map[string]map[string]any{}, next: next}
	rec := &recorder{next: f}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return f, rec, srv.URL
}

// add stores an object under a list path and returns it.
func (f *fakeStripe) add(path, prefix string, created time.Time, fields map[string]any) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	o := map[string]any{"id": fmt.Sprintf("%s_%04d", prefix, f.seq), "created": created.Unix(), "livemode": false, "metadata": map[string]any{}}
	for k, v := range fields {
		o[k] = v
	}
	f.objects[path] = append(f.objects[path], o)
	f.byID[o["id"].(string)] = o
	return o
}

func (f *fakeStripe) addCharge(ref, status string, amount int64, currency string, created time.Time) map[string]any {
	return f.add("/v1/charges", "ch", created, map[string]any{
		"object": "charge", "status": status, "amount": amount, "currency": currency, "metadata": meta(ref), "paid": status == "succeeded",
	})
}

func meta(ref string) map[string]any {
	if ref == "" {
		return map[string]any{}
	}
	return map[string]any{"reference": ref}
}

var searchRE = regexp.MustCompile(`^metadata\['reference'\]:'(.*)'$`)

func (f *fakeStripe) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.fail != nil {
		if code := f.fail(r); code != 0 {
			writeJSON(w, code, map[string]any{"error": map[string]any{"type": "api_error", "message": "injected"}})
			return
		}
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/charges/search":
		f.search(w, r)
	case r.Method == http.MethodGet && listPaths[r.URL.Path]:
		f.list(w, r)
	case r.Method == http.MethodPost && payoutCancelRE.MatchString(r.URL.Path):
		f.cancelPayout(w, r, payoutCancelRE.FindStringSubmatch(r.URL.Path)[1])
	case r.Method == http.MethodGet && retrieveRE.MatchString(r.URL.Path):
		f.retrieve(w, r, retrieveRE.FindStringSubmatch(r.URL.Path)[1])
	case f.next != nil:
		f.next.ServeHTTP(w, r)
	default:
		writeJSON(w, 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "message": "not modelled"}})
	}
}

var (
	payoutCancelRE = regexp.MustCompile(`^/v1/payouts/([^/]+)/cancel$`)
	retrieveRE     = regexp.MustCompile(`^/v1/(?:charges|refunds|payouts)/([^/]+)$`)
)

// cancelPayout cancels a pending payout, as Stripe does; any other status is
// refused with a 400. The request is first shown to next (stripe-mock), so that it
// is validated against Stripe's OpenAPI spec.
func (f *fakeStripe) cancelPayout(w http.ResponseWriter, r *http.Request, id string) {
	if f.next != nil {
		v := httptest.NewRecorder()
		f.next.ServeHTTP(v, r)
		if v.Code != http.StatusOK {
			copyAnswer(w, v)
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	o, ok := f.byID[id]
	if !ok || o["object"] != "payout" {
		writeJSON(w, 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing", "message": "No such payout"}})
		return
	}
	if f.payoutMovesTo != "" {
		o["status"] = f.payoutMovesTo
	}
	if o["status"] != "pending" {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"type": "invalid_request_error", "message": "Payouts can only be canceled while they are pending."}})
		return
	}
	o["status"] = "canceled"
	writeJSON(w, 200, o)
}

// retrieve answers GET of one object by id.
func (f *fakeStripe) retrieve(w http.ResponseWriter, r *http.Request, id string) {
	f.mu.Lock()
	o, ok := f.byID[id]
	var body json.RawMessage
	if ok {
		body, _ = json.Marshal(o) // under the lock: a cancel may change o
	}
	f.mu.Unlock()
	switch {
	case ok:
		writeJSON(w, 200, body)
	case f.next != nil:
		f.next.ServeHTTP(w, r)
	default:
		writeJSON(w, 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing"}})
	}
}

func copyAnswer(w http.ResponseWriter, v *httptest.ResponseRecorder) {
	for k, vs := range v.Header() {
		w.Header()[k] = vs
	}
	w.WriteHeader(v.Code)
	_, _ = w.Write(v.Body.Bytes())
}

// listPaths are the lists the fake answers from its objects.
var listPaths = map[string]bool{"/v1/charges": true, "/v1/refunds": true, "/v1/payouts": true, "/v1/balance_transactions": true}

func (f *fakeStripe) search(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := searchRE.FindStringSubmatch(r.Form.Get("query"))
	if m == nil {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"type": "invalid_request_error", "message": "bad query"}})
		return
	}
	data := []map[string]any{}
	if !f.searchLags {
		for _, o := range f.objects["/v1/charges"] {
			if o["metadata"].(map[string]any)["reference"] == m[1] {
				data = append(data, o)
			}
		}
	}
	writeJSON(w, 200, map[string]any{"object": "search_result", "data": data, "has_more": false, "next_page": nil, "url": r.URL.Path})
}

// list answers a list call: newest first, created[gte]/[lt], limit, starting_after,
// and expand of data.source for balance transactions.
func (f *fakeStripe) list(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := append([]map[string]any(nil), f.objects[r.URL.Path]...)
	sort.SliceStable(all, func(i, j int) bool {
		ci, cj := all[i]["created"].(int64), all[j]["created"].(int64)
		if ci != cj {
			return ci > cj
		}
		return all[i]["id"].(string) > all[j]["id"].(string)
	})
	gte, _ := strconv.ParseInt(r.Form.Get("created[gte]"), 10, 64)
	lt, _ := strconv.ParseInt(r.Form.Get("created[lt]"), 10, 64)
	limit, _ := strconv.Atoi(r.Form.Get("limit"))
	if limit <= 0 {
		limit = 10
	}
	after := r.Form.Get("starting_after")
	expand := false
	for k, v := range r.Form {
		if strings.HasPrefix(k, "expand") && len(v) > 0 && v[0] == "data.source" {
			expand = true
		}
	}
	var page []map[string]any
	seenAfter := after == ""
	hasMore := false
	for _, o := range all {
		c := o["created"].(int64)
		if c < gte || lt != 0 && c >= lt {
			continue
		}
		if !seenAfter {
			seenAfter = o["id"] == after
			continue
		}
		if len(page) == limit {
			hasMore = true
			break
		}
		if expand {
			cp := map[string]any{}
			for k, v := range o {
				cp[k] = v
			}
			if src, ok := f.byID[fmt.Sprint(o["source"])]; ok {
				cp["source"] = src
			}
			o = cp
		}
		page = append(page, o)
	}
	if page == nil {
		page = []map[string]any{}
	}
	writeJSON(w, 200, map[string]any{"object": "list", "data": page, "has_more": hasMore, "url": r.URL.Path})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_fake")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
