// Package simhttp is the JSON-over-HTTP call the clients of the bank simulator's
// services share (its identity services, its fund company): a request, an answer
// decoded, and every failure sorted into what may be asked again and what will fail
// again, each client with its own error values.
package simhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Errors are a client's error values: Unavailable (no answer, a timeout, a 5xx,
// 408, 429, an unreadable answer: ask again), Rejected (any other 4xx: it will fail
// again) and NotFound (the service's not_found 404; wrapped with Rejected).
type Errors struct {
	Unavailable, Rejected, NotFound error
}

// Caller calls one service.
type Caller struct {
	BaseURL string
	Client  *http.Client
	// MaxAnswer bounds the answer read, in bytes.
	MaxAnswer int64
	Errors    Errors
}

// errorAnswer is the simulator's error body.
type errorAnswer struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// notFound is the error code of the simulator's 404 for a thing it does not have
// (any other 404 is a misrouted request).
const notFound = "not_found"

// Call sends body (nil for none) to path and decodes a 200 or 202 answer into out.
// Errors are named op (the operation, its route and request id), never by the body:
// the bank's messages describe the field that failed, never its value.
func (c Caller) Call(ctx context.Context, method, path, op string, body, out any) error {
	e := c.Errors
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("%s: encode: %w: %w", op, e.Rejected, err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, rd)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", op, e.Rejected, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		// Reached or not, the request may be sent again with its id.
		return fmt.Errorf("%s: %w: %w", op, e.Unavailable, Redact(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, c.MaxAnswer))
	if err != nil {
		return fmt.Errorf("%s: read answer: %w: %w", op, e.Unavailable, err)
	}
	var ea errorAnswer
	switch code := resp.StatusCode; {
	case code == http.StatusOK || code == http.StatusAccepted:
		// A number with a fraction cannot land in an int64: such an answer is
		// unreadable, never rounded.
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s: unreadable answer: %w", op, e.Unavailable)
		}
		return nil
	case code == http.StatusNotFound:
		_ = json.Unmarshal(raw, &ea)
		if ea.Error == notFound {
			return fmt.Errorf("%s: %w (%w)", op, e.NotFound, e.Rejected)
		}
		return fmt.Errorf("%s: HTTP 404 %s: %w", op, ea.Error, e.Rejected)
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		_ = json.Unmarshal(raw, &ea)
		return fmt.Errorf("%s: HTTP %d %s %q: %w", op, code, ea.Error, ea.Message, e.Rejected)
	default:
		_ = json.Unmarshal(raw, &ea)
		return fmt.Errorf("%s: HTTP %d %s: %w", op, code, ea.Error, e.Unavailable)
	}
}

// Redact keeps a transport error's cause without its URL (which holds only the base
// URL and the request id, but a caller's proxy might add more).
func Redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
