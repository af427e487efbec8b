package contract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/santhosh-tekuri/jsonschema/v6"
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
	*contract

	mu        sync.Mutex
	exchanges int
	failures  []Failure
	seen      map[string]int
}

// contract is a loaded description: its document, router and compiled body schemas,
// shared by the validators of one process (loading one takes tens of milliseconds).
type contract struct {
	doc    *openapi3.T
	router routers.Router

	// Bodies are validated with the description's JSON Schemas compiled once each
	// (JSON Schema 2020-12, as OpenAPI 3.1 has it), found by their JSON pointer in
	// the document: kin-openapi's own body validation compiles every schema again on
	// every call, milliseconds per exchange.
	compileMu sync.Mutex
	compiler  *jsonschema.Compiler
	schemas   map[string]*jsonschema.Schema
}

const docURL = "payflow:openapi"

var contracts struct {
	sync.Mutex
	loaded map[[32]byte]*contract
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

// NewValidator loads and checks an OpenAPI description (once per process for the
// same bytes) and returns a validator with no exchange recorded yet.
func NewValidator(spec []byte) (*Validator, error) {
	key := sha256.Sum256(spec)
	contracts.Lock()
	defer contracts.Unlock()
	c, ok := contracts.loaded[key]
	if !ok {
		var err error
		if c, err = loadContract(spec); err != nil {
			return nil, err
		}
		if contracts.loaded == nil {
			contracts.loaded = map[[32]byte]*contract{}
		}
		contracts.loaded[key] = c
	}
	return &Validator{contract: c, seen: map[string]int{}}, nil
}

func loadContract(spec []byte) (*contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load OpenAPI description: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("OpenAPI description: %w", err)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("OpenAPI description as JSON: %w", err)
	}
	docJSON, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("OpenAPI description as JSON: %w", err)
	}
	compiler := jsonschema.NewCompiler()
	compiler.DefaultDraft(jsonschema.Draft2020)
	compiler.AssertFormat()
	if err := compiler.AddResource(docURL, docJSON); err != nil {
		return nil, fmt.Errorf("OpenAPI schemas: %w", err)
	}
	// Match any host: the tests' servers listen on free ports, not on the
	// description's example server.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("OpenAPI router: %w", err)
	}
	return &contract{doc: doc, router: router, compiler: compiler, schemas: map[string]*jsonschema.Schema{}}, nil
}

// schema returns the compiled schema at a JSON pointer of the description.
func (c *contract) schema(pointer string) (*jsonschema.Schema, error) {
	c.compileMu.Lock()
	defer c.compileMu.Unlock()
	if s, ok := c.schemas[pointer]; ok {
		return s, nil
	}
	s, err := c.compiler.Compile(docURL + "#" + pointer)
	if err != nil {
		return nil, fmt.Errorf("compile the schema at %s: %w", pointer, err)
	}
	c.schemas[pointer] = s
	return s, nil
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

	// kin-openapi checks the route, parameters, security, status and headers; the
	// bodies are checked below with the compiled schemas.
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true,
		MultiError:            true,
		AuthenticationFunc:    authenticate,
		ExcludeRequestBody:    true,
		ExcludeResponseBody:   true,
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr == nil {
		reqErr = v.checkRequestBody(route, req.Header, reqBody)
	}
	if reqErr != nil && (status < 400 || status >= 500) {
		return fmt.Errorf("the description refuses this request, but the API answered %d: %v", status, reqErr)
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: status, Header: header, Options: opts}
	rin.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, rin); err != nil {
		return fmt.Errorf("response: %v", err)
	}
	if err := v.checkResponseBody(route, status, header, respBody); err != nil {
		return fmt.Errorf("response: %v", err)
	}
	return nil
}

// checkRequestBody checks a request's body against its operation's request body.
func (v *Validator) checkRequestBody(route *routers.Route, header http.Header, body []byte) error {
	rb := route.Operation.RequestBody
	if rb == nil || rb.Value == nil {
		if len(body) > 0 {
			return errors.New("a request body, where the operation takes none")
		}
		return nil
	}
	if len(body) == 0 {
		if rb.Value.Required {
			return errors.New("the request body is required")
		}
		return nil
	}
	base := rb.Ref
	if base == "" {
		base = "#/paths/" + pointerEscape(route.Path) + "/" + strings.ToLower(route.Method) + "/requestBody"
	}
	return v.checkBody(base, rb.Value.Content, header, body)
}

// checkResponseBody checks a response's body against the response its operation
// describes for the status.
func (v *Validator) checkResponseBody(route *routers.Route, status int, header http.Header, body []byte) error {
	responses := route.Operation.Responses
	key := strconv.Itoa(status)
	ref := responses.Value(key)
	if ref == nil {
		key, ref = "default", responses.Default()
	}
	if ref == nil || ref.Value == nil || len(ref.Value.Content) == 0 {
		return nil
	}
	base := ref.Ref
	if base == "" {
		base = "#/paths/" + pointerEscape(route.Path) + "/" + strings.ToLower(route.Method) + "/responses/" + key
	}
	return v.checkBody(base, ref.Value.Content, header, body)
}

// checkBody checks a body against the schema of its content type, found at
// base/content/<media type>/schema.
func (v *Validator) checkBody(base string, content openapi3.Content, header http.Header, body []byte) error {
	ct := header.Get("Content-Type")
	mt := content.Get(ct)
	if mt == nil {
		return fmt.Errorf("content type %q is not described", ct)
	}
	var mtKey string
	for k, m := range content {
		if m == mt {
			mtKey = k
		}
	}
	if mt.Schema == nil {
		return nil
	}
	value, err := decodeBody(mtKey, header, body)
	if err != nil {
		return fmt.Errorf("body (%s): %v", mtKey, err)
	}
	sch, err := v.schema(strings.TrimPrefix(base, "#") + "/content/" + pointerEscape(mtKey) + "/schema")
	if err != nil {
		return err
	}
	if err := sch.Validate(value); err != nil {
		// %#v prints every failing keyword with its instance location, not only
		// the first line.
		return fmt.Errorf("body (%s): %#v", mtKey, err)
	}
	return nil
}

// decodeBody reads a body of a described media type as a JSON value.
func decodeBody(mediaType string, header http.Header, body []byte) (any, error) {
	switch {
	case mediaType == "application/json" || strings.HasSuffix(mediaType, "+json"):
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, errors.New("data after the JSON value")
		}
		return v, nil
	case mediaType == "application/yaml":
		y, err := openapi3filter.YamlBodyDecoder(bytes.NewReader(body), header, nil, nil)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(y)
		if err != nil {
			return nil, err
		}
		return jsonschema.UnmarshalJSON(bytes.NewReader(b))
	case strings.HasPrefix(mediaType, "text/"):
		return string(body), nil
	}
	return nil, fmt.Errorf("the validator cannot read %s", mediaType)
}

// pointerEscape escapes a JSON pointer token (RFC 6901).
func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
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
	problem, err := v.schema("/components/schemas/Problem")
	if err != nil {
		return err
	}
	value, err := decodeBody(mt, header, body)
	if err != nil {
		return fmt.Errorf("probe answer: %v", err)
	}
	if err := problem.Validate(value); err != nil {
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
