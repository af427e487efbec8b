package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Validator checks HTTP exchanges against payflow's OpenAPI description (api/openapi.yaml),
// so that the description cannot drift from the code: every request a test sends and
// every response it gets must agree with it. It is an http.RoundTripper wrapper
// (Validator.RoundTripper) that records what did not validate; the suites fail on
// Failures after their traffic.
//
// The rules:
//   - A request must match an operation of the description (method and path); one that
//     matches none is a failure, unless its context is marked with Probing (a test
//     that probes an endpoint that does not exist), whose answer must then be a 4xx
//     problem.
//   - A request the description refuses (a bad body, a missing header, a malformed id)
//     must be refused by the API too, with a 4xx; accepting it, or failing with a 5xx,
//     is a failure. A request the description accepts may still be refused (the API
//     checks more than a schema can say: an unknown wallet, a spent refund).
//   - Every response must be one the operation describes: its status, its headers and
//     its body against the schema of its content type.
//
// A Validator is safe for concurrent use.
type Validator struct {
	doc    *openapi3.T
	router routers.Router

	mu        sync.Mutex
	exchanges int
	failures  []Failure
	seen      map[string]int
}

// Failure is one exchange that did not validate.
type Failure struct {
	Method string
	Target string
	Status int
	Err    string
}

func (f Failure) String() string {
	return fmt.Sprintf("%s %s -> %d: %s", f.Method, f.Target, f.Status, f.Err)
}

type probingKey struct{}

// Probing marks a request that deliberately targets something the description does
// not have (an unknown path, a method an endpoint does not take): its answer must be a
// 4xx problem instead of a described response.
func Probing(ctx context.Context) context.Context {
	return context.WithValue(ctx, probingKey{}, true)
}

func isProbing(ctx context.Context) bool {
	v, _ := ctx.Value(probingKey{}).(bool)
	return v
}

// NewValidator loads and checks an OpenAPI description.
func NewValidator(spec []byte) (*Validator, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI description: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("OpenAPI description: %w", err)
	}
	// Match any host: the tests' servers listen on free ports, not on the
	// description's example server.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("OpenAPI router: %w", err)
	}
	return &Validator{doc: doc, router: router, seen: map[string]int{}}, nil
}

// Doc returns the loaded description (tests walk its operations).
func (v *Validator) Doc() *openapi3.T { return v.doc }

// RoundTripper returns next (http.DefaultTransport if nil) wrapped so that every
// exchange through it is validated. Requests are sent whatever the verdict: a test
// sees the API's real answer, and the failure is recorded.
func (v *Validator) RoundTripper(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper{v: v, next: next}
}

type roundTripper struct {
	v    *Validator
	next http.RoundTripper
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
	}
	resp, err := rt.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	_ = rt.v.Check(req, body, resp.StatusCode, resp.Header, respBody)
	return resp, nil
}

// Check validates one exchange and records it; it returns the failure, if any.
func (v *Validator) Check(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error {
	err := v.check(req, reqBody, status, header, respBody)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.exchanges++
	if err != nil {
		v.failures = append(v.failures, Failure{Method: req.Method, Target: req.URL.RequestURI(), Status: status, Err: err.Error()})
	}
	return err
}

func (v *Validator) check(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error {
	ctx := req.Context()
	vreq := req.Clone(ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := v.router.FindRoute(vreq)
	if err != nil {
		if !isProbing(ctx) {
			return fmt.Errorf("no operation of the description matches %s %s (%v); describe the endpoint in api/openapi.yaml, or mark a deliberate probe with client.Probing", req.Method, req.URL.Path, err)
		}
		return v.checkProbe(status, header, respBody)
	}
	v.mu.Lock()
	v.seen[req.Method+" "+route.Path]++
	v.mu.Unlock()

	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    authenticate,
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && (status < 400 || status >= 500) {
		return fmt.Errorf("the description refuses this request, but the API answered %d: %v", status, reqErr)
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: opts}
	rin.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, rin); err != nil {
		return fmt.Errorf("response: %v", err)
	}
	return nil
}

// checkProbe accepts the answer to a probe: a 4xx application/problem+json that is a
// Problem of the description.
func (v *Validator) checkProbe(status int, header http.Header, body []byte) error {
	if status < 400 || status >= 500 {
		return fmt.Errorf("a probe of an undescribed endpoint answered %d, not a 4xx", status)
	}
	mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if mt != "application/problem+json" {
		return fmt.Errorf("a probe of an undescribed endpoint answered %q, not application/problem+json", header.Get("Content-Type"))
	}
	problem := v.doc.Components.Schemas["Problem"]
	if problem == nil || problem.Value == nil {
		return errors.New("the description has no Problem schema")
	}
	value, err := openapi3filter.JSONBodyDecoder(bytes.NewReader(body), header, problem, nil)
	if err != nil {
		return fmt.Errorf("probe answer: %v", err)
	}
	if err := problem.Value.VisitJSON(value, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("probe answer is not a Problem: %v", err)
	}
	return nil
}

// authenticate checks that a request carries what a security scheme asks for (the
// API, not the description, checks that it is right).
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	h := in.RequestValidationInput.Request.Header
	switch {
	case s.Type == "apiKey" && s.In == "header":
		if h.Get(s.Name) == "" {
			return fmt.Errorf("header %s is missing", s.Name)
		}
	case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"):
		tok, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			return errors.New("no bearer token")
		}
	default:
		return fmt.Errorf("security scheme %s of type %s is not supported by the validator", in.SecuritySchemeName, s.Type)
	}
	return nil
}

// Failures returns the exchanges that did not validate so far.
func (v *Validator) Failures() []Failure {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.failures)
}

// Exchanges returns how many exchanges were checked.
func (v *Validator) Exchanges() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.exchanges
}

// Unexercised lists the described operations ("GET /v1/payments/{id}") that no
// checked exchange reached.
func (v *Validator) Unexercised() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for _, path := range v.doc.Paths.InMatchingOrder() {
		for method := range v.doc.Paths.Value(path).Operations() {
			if v.seen[method+" "+path] == 0 {
				out = append(out, method+" "+path)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Report summarizes the checks: how many exchanges over how many operations, and
// each failure.
func (v *Validator) Report() string {
	failures := v.Failures()
	var b strings.Builder
	fmt.Fprintf(&b, "OpenAPI contract: %d exchanges checked, %d did not validate", v.Exchanges(), len(failures))
	for _, f := range failures {
		fmt.Fprintf(&b, "\n  %s", f)
	}
	return b.String()
}

// WithValidator makes every request of c go through v.
func (c *Client) WithValidator(v *Validator) *Client {
	c.HTTP.Transport = v.RoundTripper(c.HTTP.Transport)
	return c
}
