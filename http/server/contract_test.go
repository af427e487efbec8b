package server_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/testenv"
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
