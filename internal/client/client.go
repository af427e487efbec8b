// Package client is a small Go client of payflow's merchant API: it signs every
// request as docs/api.md says. The CLI's pay and call commands, the integration tests,
// the load generator and the chaos runs use it.
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payflow/payflow/internal/signing"
)

// Client signs and sends merchant requests.
type Client struct {
	BaseURL    string
	MerchantID string
	Secret     string
	HTTP       *http.Client
	// Now is the clock used for timestamps (tests shift it).
	Now func() time.Time
}

// New returns a client for the API at baseURL.
func New(baseURL, merchantID, secret string) *Client {
	return &Client{
		BaseURL: baseURL, MerchantID: merchantID, Secret: secret,
		HTTP: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
		Now:  time.Now,
	}
}

// Response is an API answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) error { return json.Unmarshal(r.Body, v) }

// NewNonce returns a random nonce of 24 URL-safe characters.
func NewNonce() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Request is one request to send.
type Request struct {
	Method string
	// Target is the path and query exactly as sent: /v1/payments?limit=2.
	Target         string
	Body           []byte
	IdempotencyKey string
	// Prefer, when set, is the Prefer header (RFC 7240), such as "wait=10".
	Prefer string
	// Nonce, when set, is used instead of a fresh one (replay tests).
	Nonce string
}

// Do signs and sends r.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	nonce := r.Nonce
	if nonce == "" {
		nonce = NewNonce()
	}
	ts := strconv.FormatInt(c.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, r.Method, c.BaseURL+r.Target, bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	if len(r.Body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(signing.HeaderMerchant, c.MerchantID)
	req.Header.Set(signing.HeaderTimestamp, ts)
	req.Header.Set(signing.HeaderNonce, nonce)
	req.Header.Set(signing.HeaderSignature, signing.SignRequest(c.Secret, r.Method, r.Target, ts, nonce, r.Body))
	if r.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", r.IdempotencyKey)
	}
	if r.Prefer != "" {
		req.Header.Set("Prefer", r.Prefer)
	}
	return roundTrip(c.HTTP, req)
}

// Send sends an unsigned request (the ops API with its bearer token, the bank
// simulator's admin API) through hc: body, when not empty, is JSON, and
// authorization, when not empty, is the Authorization header.
func Send(ctx context.Context, hc *http.Client, method, url, body, authorization string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return roundTrip(hc, req)
}

// roundTrip sends req and reads the whole answer.
func roundTrip(hc *http.Client, req *http.Request) (*Response, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// Post sends a signed JSON POST with an idempotency key.
func (c *Client) Post(ctx context.Context, target string, body any, key string) (*Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return c.Do(ctx, Request{Method: http.MethodPost, Target: target, Body: b, IdempotencyKey: key})
}

// Get sends a signed GET.
func (c *Client) Get(ctx context.Context, target string) (*Response, error) {
	return c.Do(ctx, Request{Method: http.MethodGet, Target: target})
}

// Object is the common part of payflow's objects.
type Object struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	FailureCode string `json:"failure_code"`
}

// WaitStatus polls target until the object's status is not one of pending, and
// returns the last object read.
func (c *Client) WaitStatus(ctx context.Context, target string, every time.Duration, pending ...string) (Object, *Response, error) {
	for {
		resp, err := c.Get(ctx, target)
		if err != nil {
			return Object{}, nil, err
		}
		if resp.Status != http.StatusOK {
			return Object{}, resp, fmt.Errorf("GET %s: HTTP %d: %s", target, resp.Status, resp.Body)
		}
		var o Object
		if err := resp.JSON(&o); err != nil {
			return Object{}, resp, err
		}
		still := false
		for _, p := range pending {
			if o.Status == p {
				still = true
			}
		}
		if !still {
			return o, resp, nil
		}
		select {
		case <-ctx.Done():
			return o, resp, fmt.Errorf("%s still %s: %w", o.ID, o.Status, ctx.Err())
		case <-time.After(every):
		}
	}
}

// WithTransport wraps the client's transport (a contract check in tests, say).
func (c *Client) WithTransport(wrap func(http.RoundTripper) http.RoundTripper) *Client {
	c.HTTP.Transport = wrap(c.HTTP.Transport)
	return c
}
