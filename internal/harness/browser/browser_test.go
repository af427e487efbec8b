//go:build browser

// Package browser drives headless Chromium (Debian's chromium package) against a real
// payflow stack: an operator finds a payment in Temporal Web by its search attributes
// and reads its decoded input; a customer's wallet app pays a QR code at its
// provider's checkout. It runs in `make test-e2e` (build tag browser).
package browser

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/harness/devstack"
	"github.com/payflow/payflow/internal/harness/e2e"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/models"
)

func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("PAYFLOW_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p != "" {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Fatal("Chromium is not installed: apt-get install chromium (make test-e2e needs it)")
	return ""
}

// browserStack is a payflow stack on SQLite with Temporal's dev server and its Web
// UI, as make run has them.
type browserStack struct {
	root  string
	uiURL string
	stack *e2e.Stack
}

func startBrowserStack(t *testing.T) browserStack {
	t.Helper()
	ctx := context.Background()
	root, err := devstack.RepoRoot(must(os.Getwd()))
	require.NoError(t, err)
	work := t.TempDir()
	logf, err := os.Create(filepath.Join(work, "processes.log"))
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			if len(b) > 200<<10 {
				b = b[len(b)-200<<10:]
			}
			t.Logf("process logs:\n%s", b)
		}
	})
	var out io.Writer = logf
	bin, err := e2e.Build(root, work, false)
	require.NoError(t, err)

	apiPort, err := devstack.FreePort()
	require.NoError(t, err)
	tPort, err := devstack.FreePort()
	require.NoError(t, err)
	uiPort, err := devstack.FreePort()
	require.NoError(t, err)
	apiAddr := fmt.Sprintf("127.0.0.1:%d", apiPort)
	temporal, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{
		Bin: filepath.Join(root, "bin", "temporal"), Port: tPort, UIPort: uiPort,
		CodecEndpoint: "http://" + apiAddr + "/codec", LogLevel: "error",
	}, out)
	require.NoError(t, err)
	t.Cleanup(func() { temporal.Stop(10 * time.Second) })
	uiURL := fmt.Sprintf("http://127.0.0.1:%d", uiPort)
	require.NoError(t, devstack.WaitHTTP(ctx, uiURL+"/", temporal, 60*time.Second))

	stack, err := e2e.StartStack(ctx, e2e.StackOptions{
		Name: "browser", Bin: bin, Temporal: fmt.Sprintf("127.0.0.1:%d", tPort), Backend: testenv.SQLite,
		WorkDir: work, Out: out, APIAddrs: []string{apiAddr},
		Env: map[string]string{
			"PAYFLOW_TASK_QUEUE": "payflow", "PAYFLOW_TEMPORAL_NAMESPACE": "default",
			// As make run does: the local Web UI (no login) may ask the codec endpoint
			// to decode, from its own origin on loopback.
			"PAYFLOW_CODEC_ALLOWED_ORIGINS": uiURL, "PAYFLOW_CODEC_TRUST_LOCAL_UI": "true",
		},
	})
	require.NoError(t, err)
	t.Cleanup(stack.Stop)
	return browserStack{root: root, uiURL: uiURL, stack: stack}
}

// browser is a headless Chromium context (with userAgent, when given) that ends
// with the test.
func browser(t *testing.T, userAgent string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()),
	)
	if userAgent != "" {
		opts = append(opts, chromedp.UserAgent(userAgent))
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelB := chromedp.NewContext(alloc)
	t.Cleanup(cancelB)
	bctx, cancelT := context.WithTimeout(bctx, 120*time.Second)
	t.Cleanup(cancelT)
	return bctx
}

// screenshot keeps the page as a test artifact in .payflow/.
func screenshot(t *testing.T, ctx context.Context, root, name string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(root, ".payflow"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, ".payflow", name), shot, 0o644))
}

func TestOperatorFindsPaymentInTemporalWeb(t *testing.T) {
	ctx := context.Background()
	bs := startBrowserStack(t)
	root, uiURL, stack := bs.root, bs.uiURL, bs.stack

	r, err := stack.Client(0).Post(ctx, "/v1/payments", map[string]any{
		"amount": 73519, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"},
	}, "browser-"+models.NewID(""))
	require.NoError(t, err)
	require.Equal(t, 202, r.Status, "%s", r.Body)
	var p models.Payment
	require.NoError(t, r.JSON(&p))
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	_, _, err = stack.Client(0).WaitStatus(wctx, "/v1/payments/"+p.ID, 200*time.Millisecond, "processing")
	require.NoError(t, err)

	bctx := browser(t, "")

	// The operator's search: this merchant's payments, by search attributes.
	query := `PayflowMerchant="mch_demo" AND PayflowFlow="payment"`
	list := uiURL + "/namespaces/default/workflows?query=" + url.QueryEscape(query)
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(list)))
	waitText(t, bctx, p.WorkflowID)

	// Open it: the history shows the decoded input, amount and token included.
	page := fmt.Sprintf("%s/namespaces/default/workflows/%s", uiURL, url.PathEscape(p.WorkflowID))
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(page)))
	waitText(t, bctx, "73519")
	waitText(t, bctx, "tok_success")
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	_ = os.WriteFile(filepath.Join(root, ".payflow", "browser-test.png"), shot, 0o644)
}

// waitText polls the page's visible text until it contains want.
func waitText(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var text string
	for time.Now().Before(deadline) {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		if err == nil {
			text = v
			if strings.Contains(text, want) {
				return
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	t.Fatalf("the page never showed %q; it shows:\n%s", want, truncate(text, 3000))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
