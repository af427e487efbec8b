package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/testenv"
)

// inProcess serves a client's requests with a handler, without a network.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	in := req.Clone(req.Context())
	in.RequestURI = req.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, in)
	return rec.Result(), nil
}

// FuzzCreatePayment feeds arbitrary bodies, correctly signed, to POST /v1/payments
// through the real router and its strict decoding and validation: no body makes it
// fail with a 5xx (or panic), a refused body stores nothing and starts no flow, an
// accepted one stores exactly one payment and starts its flow, and every exchange
// agrees with the OpenAPI description. Seeds: testdata/fuzz/FuzzCreatePayment.
func FuzzCreatePayment(f *testing.F) {
	f.Add([]byte(`{"amount":1050,"currency":"CNY","source":{"type":"card","token":"tok_success"}}`))
	f.Add([]byte(`{"amount":500,"currency":"CNY","source":{"type":"account","account_id":"acct_x"},"metadata":{"k":"v"}}`))
	a := newAPI(f, testenv.SQLite)
	v := a.v
	c := client.New("http://payflow.invalid", "mch_demo", secret)
	c.HTTP = &http.Client{Transport: v.RoundTripper(inProcess{a.router})}
	var seq atomic.Int64
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte) {
		before := a.rows(t)
		starts := len(a.starter.starts)
		failures := len(v.Failures())
		r, err := c.Do(ctx, client.Request{Method: "POST", Target: "/v1/payments", Body: body, IdempotencyKey: fmt.Sprintf("fuzz-%d", seq.Add(1))})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status >= 500 {
			t.Fatalf("HTTP %d for %q: %s", r.Status, body, r.Body)
		}
		after := a.rows(t)
		switch {
		case r.Status >= 400:
			if after != before || len(a.starter.starts) != starts {
				t.Fatalf("HTTP %d for %q, but it stored rows (%v -> %v) or started a flow", r.Status, body, before, after)
			}
		case r.Status == http.StatusAccepted:
			if after.payments != before.payments+1 || after.keys != before.keys+1 || len(a.starter.starts) != starts+1 {
				t.Fatalf("HTTP 202 for %q stored %v -> %v and started %d flows", body, before, after, len(a.starter.starts)-starts)
			}
		default:
			t.Fatalf("HTTP %d for %q", r.Status, body)
		}
		if f := v.Failures(); len(f) > failures {
			t.Fatalf("the exchange disagrees with the OpenAPI description: %s", f[len(f)-1])
		}
	})
}

type rowCounts struct{ payments, keys int64 }

// rows counts what a payment request may write: payments and idempotency keys.
func (a *api) rows(t testing.TB) rowCounts {
	t.Helper()
	var c rowCounts
	if err := a.db.Table("payments").Count(&c.payments).Error; err != nil {
		t.Fatal(err)
	}
	if err := a.db.Table("idempotency_keys").Count(&c.keys).Error; err != nil {
		t.Fatal(err)
	}
	return c
}
