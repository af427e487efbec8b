// Package apitest holds what the tests of the HTTP packages do alike: serve a
// handler's routes as the router mounts them, and send a request and read its whole
// answer.
package apitest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/http/middleware"
)

// Serve serves the routes register mounts on a group at path, with the request bodies
// read as the router reads them and the context key set to value (the merchant or
// the operator that authentication would have set).
func Serve(t testing.TB, path string, register func(*gin.RouterGroup), key, value string) *httptest.Server {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	register(r.Group(path, middleware.ReadBody(), func(c *gin.Context) { c.Set(key, value) }))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

// Send sends req with client and returns the response with its whole body, read and
// closed; a failure to send or to read fails t.
func Send(t testing.TB, client *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// Call sends a JSON body to srv with the headers of header and returns the response
// with its body, which must be a JSON object.
func Call(t testing.TB, srv *httptest.Server, method, path, body string, header map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, b := Send(t, http.DefaultClient, req)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), string(b))
	return resp, out
}
