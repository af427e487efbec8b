package server_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/signing"
	"github.com/payflow/payflow/models"
)

var ginParam = regexp.MustCompile(`:[^/]+`)
var specParam = regexp.MustCompile(`\{[^/}]+\}`)

// Every route the router serves is an operation of the OpenAPI description (the
// reverse, described operations served by branches not merged yet, is logged).
func TestEveryRouteIsDescribed(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	doc := a.v.Doc()
	described := map[string]bool{}
	for _, path := range doc.Paths.InMatchingOrder() {
		for method := range doc.Paths.Value(path).Operations() {
			described[method+" "+specParam.ReplaceAllString(path, "{}")] = true
		}
	}
	served := map[string]bool{}
	for _, r := range a.router.Routes() {
		key := r.Method + " " + ginParam.ReplaceAllString(r.Path, "{}")
		served[key] = true
		require.True(t, described[key], "%s %s is served but not described in api/openapi.yaml", r.Method, r.Path)
	}
	for key := range described {
		if !served[key] {
			t.Logf("described, not served by this router: %s", key)
		}
	}
}

// GET /openapi.yaml serves the description, as YAML.
func TestServesOpenAPI(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	resp, err := a.http.Get(a.srv.URL + "/openapi.yaml")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/yaml", resp.Header.Get("Content-Type"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(b), "openapi: 3.1.0\n"))
	require.Contains(t, string(b), "/v1/ops/merchants/{id}/rotate-secret:")
}

// A bank callback is checked against its description too: refused unsigned (401),
// acknowledged for a known transfer, 404 for a reference payflow does not have, 400
// without the event id it is deduplicated by.
func TestBankCallbackContract(t *testing.T) {
	a := newAPI(t, testenv.SQLite)
	r, err := a.c.Post(context.Background(), "/v1/payments", map[string]any{"amount": 1050, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"}}, "cb-1")
	require.NoError(t, err)
	require.Equal(t, 202, r.Status)
	var p models.Payment
	require.NoError(t, r.JSON(&p))
	send := func(body, sig string) int {
		req, err := http.NewRequest("POST", a.srv.URL+"/v1/callbacks/banksim", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if sig != "" {
			req.Header.Set("X-Banksim-Signature", sig)
		}
		resp, err := a.http.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	body := `{"reference":"` + p.ID + `","kind":"charge","status":"succeeded","event_id":"cbe_1"}`
	require.Equal(t, 401, send(body, ""))
	require.Equal(t, 401, send(body, signing.SignWebhook("not-the-secret", time.Now().Unix(), []byte(body))))
	require.Equal(t, 200, send(body, signing.SignWebhook("cbsecret", time.Now().Unix(), []byte(body))))
	unknown := `{"reference":"pay_unknown","kind":"charge","status":"succeeded","event_id":"cbe_2"}`
	require.Equal(t, 404, send(unknown, signing.SignWebhook("cbsecret", time.Now().Unix(), []byte(unknown))))
	noEvent := `{"reference":"` + p.ID + `","kind":"charge","status":"succeeded"}`
	require.Equal(t, 400, send(noEvent, signing.SignWebhook("cbsecret", time.Now().Unix(), []byte(noEvent))))
}
