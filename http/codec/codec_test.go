package codec_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/payflow/payflow/http/codec"
	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/temporalx"
	"github.com/payflow/payflow/models"
)

const (
	opsToken = "ops-demo-token"
	webUI    = "http://127.0.0.1:8233"
)

var input = models.PaymentInput{
	PaymentID: "pay_01", MerchantID: "mch_demo", Amount: 864209731, Currency: "CNY",
	Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"},
}

type env struct {
	router *gin.Engine
	codec  *temporalx.Codec
}

func newEnv(t *testing.T, trustLocalUI bool) env {
	t.Helper()
	c, err := temporalx.NewCodec([]config.PayloadKey{{ID: "k1", Key: bytes.Repeat([]byte{7}, 32)}})
	require.NoError(t, err)
	l := logrus.New()
	l.SetOutput(io.Discard)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(middleware.RequestID())
	(&codec.Handler{
		Codec: c, OpsTokens: []string{opsToken}, AllowedOrigins: []string{webUI, "http://localhost:8233"},
		TrustLocalUI: trustLocalUI, Log: logrus.NewEntry(l),
	}).Register(r.Group("/codec"))
	return env{router: r, codec: c}
}

// sealedInput is a payment input as a worker writes it to Temporal, in the JSON
// form Temporal Web sends to the codec endpoint.
func (e env) sealedInput(t *testing.T) []byte {
	t.Helper()
	p, err := temporalx.NewDataConverter(e.codec).ToPayload(input)
	require.NoError(t, err)
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	require.NoError(t, err)
	require.NotContains(t, string(b), "864209731")
	return b
}

type request struct {
	method, path string
	body         []byte
	headers      map[string]string
	remoteAddr   string
}

func (e env) do(r request) *httptest.ResponseRecorder {
	req := httptest.NewRequest(r.method, r.path, bytes.NewReader(r.body))
	req.RemoteAddr = r.remoteAddr
	if req.RemoteAddr == "" {
		req.RemoteAddr = "10.1.2.3:45678"
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, req)
	return rec
}

func decodedInput(t *testing.T, body []byte) models.PaymentInput {
	t.Helper()
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(body, &out))
	require.Len(t, out.Payloads, 1)
	require.Equal(t, "json/plain", string(out.Payloads[0].Metadata["encoding"]))
	var got models.PaymentInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out.Payloads[0], &got))
	return got
}

// With the ops token, /codec/decode opens a payload as the worker sealed it, and
// answers with the CORS headers the Web UI needs to read it.
func TestDecodeWithOpsToken(t *testing.T) {
	e := newEnv(t, false)
	rec := e.do(request{method: "POST", path: "/codec/decode", body: e.sealedInput(t), headers: map[string]string{
		"Authorization": "Bearer " + opsToken, "Content-Type": "application/json", "X-Namespace": "default", "Origin": webUI,
	}})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	require.Equal(t, webUI, rec.Header().Get("Access-Control-Allow-Origin"))
	require.Equal(t, "true", rec.Header().Get("Access-Control-Allow-Credentials"))
	require.Equal(t, input, decodedInput(t, rec.Body.Bytes()))
	require.Contains(t, rec.Body.String(), "payloads")
}

func TestEncodeThenDecode(t *testing.T) {
	e := newEnv(t, false)
	plain, err := converter.GetDefaultDataConverter().ToPayload(input)
	require.NoError(t, err)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{plain}})
	require.NoError(t, err)
	auth := map[string]string{"Authorization": "Bearer " + opsToken}
	rec := e.do(request{method: "POST", path: "/codec/encode", body: body, headers: auth})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.NotContains(t, rec.Body.String(), "tok_success")
	require.Contains(t, rec.Body.String(), "YmluYXJ5L2VuY3J5cHRlZA==", "binary/encrypted, base64 as protobuf JSON writes bytes")
	rec = e.do(request{method: "POST", path: "/codec/decode", body: rec.Body.Bytes(), headers: auth})
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.Equal(t, input, decodedInput(t, rec.Body.Bytes()))
}

// Without the ops token nothing is decoded, whatever the origin or address, unless
// local Web UI trust is on and every condition of it holds.
func TestRefusedWithoutToken(t *testing.T) {
	tests := []struct {
		name       string
		trust      bool
		headers    map[string]string
		remoteAddr string
		want       int
	}{
		{"no token", false, nil, "", 401},
		{"wrong token", false, map[string]string{"Authorization": "Bearer nope"}, "", 401},
		{"not a bearer", false, map[string]string{"Authorization": "Basic b3BzLWRlbW8tdG9rZW4="}, "", 401},
		{"web UI origin, trust off", false, map[string]string{"Origin": webUI}, "127.0.0.1:50000", 401},
		{"trust on, remote address", true, map[string]string{"Origin": webUI}, "10.1.2.3:50000", 401},
		{"trust on, loopback, no origin (curl)", true, nil, "127.0.0.1:50000", 401},
		{"trust on, loopback, another site", true, map[string]string{"Origin": "https://evil.example"}, "127.0.0.1:50000", 401},
		{"trust on, loopback, forwarded by a proxy", true, map[string]string{"Origin": webUI, "X-Forwarded-For": "203.0.113.9"}, "127.0.0.1:50000", 401},
		{"trust on, loopback, web UI, wrong token", true, map[string]string{"Origin": webUI, "Authorization": "Bearer nope"}, "127.0.0.1:50000", 401},
		{"trust on, loopback, web UI", true, map[string]string{"Origin": webUI}, "127.0.0.1:50000", 200},
		{"trust on, IPv6 loopback, localhost UI", true, map[string]string{"Origin": "http://localhost:8233"}, "[::1]:50000", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.trust)
			rec := e.do(request{method: "POST", path: "/codec/decode", body: e.sealedInput(t), headers: tc.headers, remoteAddr: tc.remoteAddr})
			require.Equal(t, tc.want, rec.Code, rec.Body.String())
			if tc.want != 200 {
				require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
				require.NotContains(t, rec.Body.String(), "864209731")
				return
			}
			require.Equal(t, input, decodedInput(t, rec.Body.Bytes()))
		})
	}
}

// The browser's preflight carries no credentials: it is answered for the Web UI's
// origins only.
func TestPreflight(t *testing.T) {
	e := newEnv(t, false)
	for _, path := range []string{"/codec/decode", "/codec/encode"} {
		rec := e.do(request{method: "OPTIONS", path: path, headers: map[string]string{
			"Origin": webUI, "Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "content-type,x-namespace,authorization",
		}})
		require.Equal(t, 204, rec.Code, rec.Body.String())
		require.Equal(t, webUI, rec.Header().Get("Access-Control-Allow-Origin"))
		require.Contains(t, rec.Header().Get("Access-Control-Allow-Methods"), "POST")
		for _, h := range []string{"Authorization", "Content-Type", "X-Namespace"} {
			require.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), h)
		}
		require.Equal(t, "true", rec.Header().Get("Access-Control-Allow-Credentials"))
		require.Contains(t, rec.Header().Values("Vary"), "Origin")
	}
	rec := e.do(request{method: "OPTIONS", path: "/codec/decode", headers: map[string]string{
		"Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
	}})
	require.Equal(t, 403, rec.Code)
	require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
}

// A payload that does not open is refused with 400, without echoing it or the
// cause.
func TestDecodeRefusals(t *testing.T) {
	e := newEnv(t, false)
	auth := map[string]string{"Authorization": "Bearer " + opsToken}
	other, err := temporalx.NewCodec([]config.PayloadKey{{ID: "k-other", Key: bytes.Repeat([]byte{9}, 32)}})
	require.NoError(t, err)
	p, err := temporalx.NewDataConverter(other).ToPayload(input)
	require.NoError(t, err)
	unknownKey, _ := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})

	var tampered commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(e.sealedInput(t), &tampered))
	tampered.Payloads[0].Data[30] ^= 1
	tamperedBody, _ := protojson.Marshal(&tampered)

	for name, body := range map[string][]byte{
		"unknown key": unknownKey,
		"tampered":    tamperedBody,
		"not JSON":    []byte("{"),
		"not payloads": func() []byte {
			b, _ := json.Marshal(map[string]any{"payloads": "x"})
			return b
		}(),
	} {
		rec := e.do(request{method: "POST", path: "/codec/decode", body: body, headers: auth})
		require.Equal(t, 400, rec.Code, name)
		require.NotContains(t, rec.Body.String(), "cipher", name)
	}
	big := e.do(request{method: "POST", path: "/codec/decode", body: []byte(strings.Repeat(" ", codec.MaxBodyBytes+1)), headers: auth})
	require.Equal(t, 413, big.Code)
}

// The SDK's own remote codec client, the one the temporal CLI uses for
// --codec-endpoint and --codec-auth, speaks to the endpoint.
func TestSDKRemoteCodecClient(t *testing.T) {
	e := newEnv(t, false)
	srv := httptest.NewServer(e.router)
	defer srv.Close()
	remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
		Endpoint: srv.URL + "/codec",
		ModifyRequest: func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+opsToken)
			return nil
		},
	})
	plain, err := converter.GetDefaultDataConverter().ToPayload(input)
	require.NoError(t, err)
	sealed, err := remote.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	require.Equal(t, temporalx.EncodingEncrypted, string(sealed[0].Metadata["encoding"]))
	opened, err := e.codec.Decode(sealed)
	require.NoError(t, err)
	var got models.PaymentInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(opened[0], &got))
	require.Equal(t, input, got)
	back, err := remote.Decode(sealed)
	require.NoError(t, err)
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(back[0], &got))
	require.Equal(t, input, got)
}
