package stripe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/harness/devstack"
)

// stripeMockURL is the stripe-mock (./bin/stripe-mock, started once for the
// package) that the tests talk to: the same API as Stripe's, answered from fixtures.
var stripeMockURL string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	binDir := os.Getenv("PAYFLOW_TEST_BIN_DIR")
	if binDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		root, err := devstack.RepoRoot(wd)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		binDir = filepath.Join(root, "bin")
	}
	port, err := devstack.FreePort()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// Never a skip: these tests are the proof that the adapter speaks Stripe's API.
	p, err := devstack.StartStripeMock(context.Background(), filepath.Join(binDir, "stripe-mock"), addr, io.Discard)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stripe adapter tests need stripe-mock:", err)
		return 1
	}
	defer p.Stop(5 * time.Second)
	stripeMockURL = "http://" + addr
	return m.Run()
}

// newChannel returns an adapter of the Stripe API at baseURL.
func newChannel(t *testing.T, baseURL string, o Options) *Channel {
	t.Helper()
	o.BaseURL = baseURL
	if o.APIKey == "" {
		o.APIKey = "sk_test_123"
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	c, err := New(o)
	require.NoError(t, err)
	return c
}

// recorded is one request a test server received.
type recorded struct {
	Method string
	Path   string
	Header http.Header
	// Form holds the query of a GET and the form body of a POST.
	Form url.Values
}

// recorder records every request before handing it to next.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
	next http.Handler
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if err := req.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Form: req.Form})
	r.mu.Unlock()
	// ParseForm consumed the body: hand the next handler a fresh one.
	if req.Method == http.MethodPost {
		body := req.PostForm.Encode()
		req.Body = io.NopCloser(strings.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	r.next.ServeHTTP(w, req)
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

// posts are the POST requests among requests: those that ask Stripe to act.
func (r *recorder) posts() []recorded {
	var posts []recorded
	for _, req := range r.requests() {
		if req.Method == http.MethodPost {
			posts = append(posts, req)
		}
	}
	return posts
}

// requireCreated checks that reqs is one request of route ("POST /v1/charges")
// that carries ref as its Idempotency-Key and as the object's metadata reference,
// and returns it.
func requireCreated(t *testing.T, reqs []recorded, route, ref string) recorded {
	t.Helper()
	require.Len(t, reqs, 1)
	r := reqs[0]
	require.Equal(t, route, r.Method+" "+r.Path)
	require.Equal(t, ref, r.Header.Get("Idempotency-Key"))
	require.Equal(t, ref, r.Form.Get("metadata[reference]"))
	return r
}

// toStripeMock is a reverse proxy to the package's stripe-mock.
func toStripeMock(t *testing.T) http.Handler {
	t.Helper()
	u, err := url.Parse(stripeMockURL)
	require.NoError(t, err)
	return httputil.NewSingleHostReverseProxy(u)
}

// recordedStripeMock is stripe-mock behind a recorder: the answers are stripe-mock's,
// and the test sees exactly what the adapter sent.
func recordedStripeMock(t *testing.T) (*recorder, string) {
	t.Helper()
	rec := &recorder{next: toStripeMock(t)}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv.URL
}
