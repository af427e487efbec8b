package contract_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/payflow/payflow/api"
	"github.com/payflow/payflow/internal/harness/contract"
)

func BenchmarkValidatorCheck(b *testing.B) {
	v, err := contract.NewValidator(api.OpenAPI)
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/v1/payments/pay_01jgk8x9v6m3p2q4r5s6t7u8v9", nil)
	for _, h := range []string{"X-Payflow-Merchant", "X-Payflow-Timestamp", "X-Payflow-Nonce", "X-Payflow-Signature"} {
		req.Header.Set(h, "x")
	}
	hdr := http.Header{"Content-Type": []string{"application/json"}}
	body := []byte(payment)
	for b.Loop() {
		if err := v.Check(req, nil, 200, hdr, bytes.Clone(body)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewValidator(b *testing.B) {
	for b.Loop() {
		if _, err := contract.NewValidator(api.OpenAPI); err != nil {
			b.Fatal(err)
		}
	}
}
