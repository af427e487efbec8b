package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/harness/devstack"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/store"
)

// The operators' listener on the real process: with PAYFLOW_OPS_ADDR, the API serves
// the ops API, /codec and /metrics there and answers 404 for them on the merchant
// listener; failed ops-token attempts from one address are refused with 429 after
// PAYFLOW_OPS_AUTH_FAILURES, a good token included, and each refused attempt is in
// the audit log with the address and without the token.
func TestOpsListenerEndToEnd(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(workDir, "opsedge")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	port, err := devstack.FreePort()
	require.NoError(t, err)
	opsURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	s, err := StartStack(ctx, StackOptions{
		Name: "opsedge", Bin: payflowBin, Temporal: temporal.Addr, Backend: testenv.SQLite, WorkDir: dir, Out: logFile,
		StripeMockBin: stripeMockBin, Validator: apiContract,
		Env: map[string]string{
			"PAYFLOW_OPS_ADDR": strings.TrimPrefix(opsURL, "http://"), "PAYFLOW_OPS_AUTH_FAILURES": "3", "PAYFLOW_OPS_AUTH_WINDOW": "1h",
		},
	})
	require.NoError(t, err)
	extraStacks.Lock()
	extraStacks.list = append(extraStacks.list, s)
	extraStacks.Unlock()
	t.Cleanup(s.Stop)

	// The ops listener's exchanges are checked against the description; the merchant
	// listener's 404 for a route it does not serve is no operation's answer.
	merchantURL := s.APIURLs[0]
	checked := &http.Client{Transport: apiContract.RoundTripper(nil)}
	send := func(base, method, path, token string) (int, []byte) {
		t.Helper()
		var body *strings.Reader
		if method == "POST" {
			body = strings.NewReader(`{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"MQ=="}]}`)
		} else {
			body = strings.NewReader("")
		}
		req, err := http.NewRequest(method, base+path, body)
		require.NoError(t, err)
		if method == "POST" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		hc := checked
		if base == merchantURL {
			hc = http.DefaultClient
		}
		resp, err := hc.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1/ops/ledger/check"}, {"POST", "/codec/decode"}, {"GET", "/metrics"},
	} {
		code, _ := send(merchantURL, tc.method, tc.path, OpsToken)
		require.Equal(t, 404, code, "merchant listener %s", tc.path)
		code, body := send(opsURL, tc.method, tc.path, OpsToken)
		require.Equal(t, 200, code, "ops listener %s: %s", tc.path, body)
	}
	code, _ := send(opsURL, "GET", "/healthz", "")
	require.Equal(t, 200, code)
	code, _ = send(merchantURL, "GET", "/healthz", "")
	require.Equal(t, 200, code)

	const wrong = "e2e-wrong-ops-token-not-to-be-stored"
	for i := 0; i < 3; i++ {
		code, _ := send(opsURL, "GET", "/v1/ops/ledger/check", wrong)
		require.Equal(t, 401, code)
	}
	code, _ = send(opsURL, "POST", "/codec/decode", wrong)
	require.Equal(t, 429, code)
	code, _ = send(opsURL, "GET", "/v1/ops/ledger/check", OpsToken)
	require.Equal(t, 429, code, "the address is locked out, a good token included")

	// Read the audit log through the database: the locked-out address cannot.
	db, err := store.Open(s.DSN, 2)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	var rows []struct{ Operator, Action, Target, Result, Detail string }
	require.NoError(t, db.Table("audit_log").Where("action = ?", "ops.auth_refused").Find(&rows).Error)
	require.Len(t, rows, 5)
	for _, r := range rows {
		require.Equal(t, "127.0.0.1", r.Target)
		b, _ := json.Marshal(r)
		require.NotContains(t, string(b), wrong)
	}
}
