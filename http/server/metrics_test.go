package server_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/http/codec"
	"github.com/payflow/payflow/http/internal/apitest"
	"github.com/payflow/payflow/http/merchant"
	"github.com/payflow/payflow/http/server"
	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/metrics"
	"github.com/payflow/payflow/internal/temporalx"
)

// /metrics is served on the API's router without authentication, counting requests
// by route pattern; /codec is mounted with its preflight and its token check.
func TestMetricsAndCodecRoutes(t *testing.T) {
	l := logrus.New()
	l.SetOutput(io.Discard)
	log := logrus.NewEntry(l)
	m := metrics.New()
	srv := httptest.NewServer(server.NewRouter(server.Deps{
		Merchant: &merchant.Handler{}, Log: log, OpsTokens: []string{"ops-demo-token"},
		Metrics: m.Handler(log), Requests: m,
		Codec: &codec.Handler{Codec: testCodec(t), OpsTokens: []string{"ops-demo-token"}, AllowedOrigins: []string{"http://127.0.0.1:8233"}, Log: log},
	}))
	defer srv.Close()

	do := func(method, path string, body []byte, headers map[string]string) (*http.Response, string) {
		req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
		require.NoError(t, err)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, b := apitest.Send(t, http.DefaultClient, req)
		return resp, string(b)
	}
	resp, _ := do("GET", "/healthz", nil, nil)
	require.Equal(t, 200, resp.StatusCode)
	resp, _ = do("GET", "/v1/payments/pay_unknown", nil, nil)
	require.Equal(t, 401, resp.StatusCode)

	resp, _ = do("OPTIONS", "/codec/decode", nil, map[string]string{"Origin": "http://127.0.0.1:8233", "Access-Control-Request-Method": "POST"})
	require.Equal(t, 204, resp.StatusCode)
	require.Equal(t, "http://127.0.0.1:8233", resp.Header.Get("Access-Control-Allow-Origin"))
	resp, _ = do("POST", "/codec/decode", []byte(`{"payloads":[]}`), map[string]string{"Origin": "http://127.0.0.1:8233"})
	require.Equal(t, 401, resp.StatusCode, "no local UI trust configured")
	resp, body := do("POST", "/codec/decode", []byte(`{"payloads":[]}`), map[string]string{"Authorization": "Bearer ops-demo-token"})
	require.Equal(t, 200, resp.StatusCode, body)

	resp, body = do("GET", "/metrics", nil, nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Content-Type"), "text/plain")
	for _, line := range []string{
		`payflow_http_requests_total{method="GET",route="/healthz",status="200"} 1`,
		`payflow_http_requests_total{method="GET",route="/v1/payments/:id",status="401"} 1`,
		`payflow_http_requests_total{method="POST",route="/codec/decode",status="401"} 1`,
		`payflow_http_requests_total{method="POST",route="/codec/decode",status="200"} 1`,
	} {
		require.Contains(t, body, line)
	}
}

// testCodec is a payload codec with a test key.
func testCodec(t testing.TB) *temporalx.Codec {
	t.Helper()
	c, err := temporalx.NewCodec([]config.PayloadKey{{ID: "k1", Key: bytes.Repeat([]byte{1}, 32)}})
	require.NoError(t, err)
	return c
}
