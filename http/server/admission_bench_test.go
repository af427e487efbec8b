package server_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/payflow/payflow/http/server"
	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/testenv"
)

// BenchmarkSignedRequest measures a signed merchant GET through the whole router
// (signature, nonce, budget, handler), in process, with the rate limit off and on:
// the difference is the rate limit's cost per request.
func BenchmarkSignedRequest(b *testing.B) {
	for _, backend := range testenv.Backends {
		for _, limit := range []struct {
			name string
			opts []func(*server.Deps)
		}{{"no_limit", nil}, {"rate_limit", []func(*server.Deps){withRateLimit(1_000_000, 1_000_000)}}} {
			b.Run(string(backend)+"/"+limit.name, func(b *testing.B) {
				a := newAPI(b, backend, limit.opts...)
				c := client.New("http://payflow.invalid", "mch_demo", secret)
				c.HTTP = &http.Client{Transport: inProcess{a.router}}
				ctx := context.Background()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						r, err := c.Get(ctx, "/v1/payments/pay_doesnotexist")
						if err != nil || r.Status != 404 {
							b.Error(err, r)
							return
						}
					}
				})
			})
		}
	}
}
