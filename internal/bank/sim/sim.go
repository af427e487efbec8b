// Package sim is the channel adapter of payflow's bank simulator (banksim/), spoken
// to over HTTP exactly as a real bank's API would be.
package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// Name is the channel name of the simulator.
const Name = "banksim"

// Channel talks to a banksim server.
type Channel struct {
	baseURL     string
	callbackURL string
	client      *http.Client
}

// New returns the adapter for the simulator at baseURL; each call gives up after
// timeout (an unknown outcome). callbackURL is where the bank posts callbacks.
func New(baseURL, callbackURL string, timeout time.Duration) *Channel {
	return &Channel{
		baseURL:     baseURL,
		callbackURL: callbackURL,
		client: &http.Client{
			Timeout: timeout,
			Transport: &http.Transport{
				MaxIdleConns:        256,
				MaxIdleConnsPerHost: 256,
				IdleConnTimeout:     90 * time.Second,
			},
		},
	}
}

// Name implements bank.Channel.
func (c *Channel) Name() string { return Name }

type transferJSON struct {
	Reference   string `json:"reference"`
	Kind        string `json:"kind"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Status      string `json:"status"`
	FailureCode string `json:"failure_code"`
	BankID      string `json:"bank_id"`
}

func (t transferJSON) transfer() bank.Transfer {
	return bank.Transfer{
		Reference:   t.Reference,
		Channel:     Name,
		Kind:        bank.Kind(t.Kind),
		Amount:      t.Amount,
		Currency:    models.Currency(t.Currency),
		Status:      models.BankStatus(t.Status),
		FailureCode: models.FailureCode(t.FailureCode),
		BankID:      t.BankID,
	}
}

// Charge implements bank.Channel.
func (c *Channel) Charge(ctx context.Context, r bank.ChargeRequest) (bank.Transfer, error) {
	return c.post(ctx, "/v1/charges", r.Reference, map[string]any{
		"reference": r.Reference, "amount": r.Amount, "currency": r.Currency, "token": r.Token,
		"callback_url": c.callback(r.CallbackURL),
	})
}

// Refund implements bank.Channel.
func (c *Channel) Refund(ctx context.Context, r bank.RefundRequest) (bank.Transfer, error) {
	return c.post(ctx, "/v1/refunds", r.Reference, map[string]any{
		"reference": r.Reference, "charge_reference": r.ChargeReference, "amount": r.Amount,
		"currency": r.Currency, "callback_url": c.callback(r.CallbackURL),
	})
}

// Payout implements bank.Channel.
func (c *Channel) Payout(ctx context.Context, r bank.PayoutRequest) (bank.Transfer, error) {
	return c.post(ctx, "/v1/payouts", r.Reference, map[string]any{
		"reference": r.Reference, "amount": r.Amount, "currency": r.Currency,
		"bank_account": r.BankAccount, "callback_url": c.callback(r.CallbackURL),
	})
}

func (c *Channel) callback(u string) string {
	if u != "" {
		return u
	}
	return c.callbackURL
}

// Query implements bank.Channel.
func (c *Channel) Query(ctx context.Context, reference string) (bank.Transfer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+"/v1/transfers/"+url.PathEscape(reference), nil)
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("query %s: %w: %w", reference, bank.ErrInvalid, err)
	}
	return c.do(req, reference, true)
}

// Statement implements bank.Channel.
func (c *Channel) Statement(ctx context.Context, day time.Time) (io.ReadCloser, error) {
	u := fmt.Sprintf("%s/sim/statements/%s-%s.csv", c.baseURL, Name, day.UTC().Format("2006-01-02"))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	// A statement may be large: no client timeout beyond the context's.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("statement %s: %w: %w", day.Format("2006-01-02"), bank.ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("statement %s: %w: HTTP %d", day.Format("2006-01-02"), bank.ErrUnavailable, resp.StatusCode)
	}
	return resp.Body, nil
}

func (c *Channel) post(ctx context.Context, path, reference string, body map[string]any) (bank.Transfer, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("%s %s: %w: %w", path, reference, bank.ErrInvalid, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+path, bytes.NewReader(b))
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("%s %s: %w: %w", path, reference, bank.ErrInvalid, err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, reference, false)
}

// do sends a request and maps the answer onto the channel contract.
func (c *Channel) do(req *http.Request, reference string, query bool) (bank.Transfer, error) {
	op := req.Method + " " + req.URL.Path
	resp, err := c.client.Do(req)
	if err != nil {
		if isDialError(err) {
			// The connection was never made: nothing reached the bank.
			return bank.Transfer{}, fmt.Errorf("%s: %w: %w", op, bank.ErrUnavailable, err)
		}
		return bank.Transfer{}, fmt.Errorf("%s: %w: %w", op, bank.ErrUnknownOutcome, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("%s: read answer: %w: %w", op, bank.ErrUnknownOutcome, err)
	}
	var errBody struct {
		Error string `json:"error"`
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		var t transferJSON
		if err := json.Unmarshal(raw, &t); err != nil || t.Reference != reference || !models.BankStatus(t.Status).Final() && t.Status != string(models.BankProcessing) {
			return bank.Transfer{}, fmt.Errorf("%s: unreadable answer: %w", op, bank.ErrUnknownOutcome)
		}
		return t.transfer(), nil
	case resp.StatusCode == http.StatusNotFound && query:
		_ = json.Unmarshal(raw, &errBody)
		if errBody.Error == "not_found" {
			return bank.Transfer{}, fmt.Errorf("%s: %w", op, bank.ErrNotFound)
		}
		return bank.Transfer{}, fmt.Errorf("%s: HTTP 404: %w", op, bank.ErrUnknownOutcome)
	case resp.StatusCode == http.StatusServiceUnavailable:
		_ = json.Unmarshal(raw, &errBody)
		if errBody.Error == "bank_unavailable" {
			// banksim's documented answer for "refused before processing".
			return bank.Transfer{}, fmt.Errorf("%s: %w", op, bank.ErrUnavailable)
		}
		return bank.Transfer{}, fmt.Errorf("%s: HTTP 503: %w", op, bank.ErrUnknownOutcome)
	case resp.StatusCode == http.StatusConflict && errBodyIs(raw, &errBody, "not_cancelable"):
		return bank.Transfer{}, fmt.Errorf("%s: %w", op, bank.ErrNotCancelable)
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusConflict:
		_ = json.Unmarshal(raw, &errBody)
		return bank.Transfer{}, fmt.Errorf("%s: HTTP %d %s: %w", op, resp.StatusCode, errBody.Error, bank.ErrInvalid)
	default:
		return bank.Transfer{}, fmt.Errorf("%s: HTTP %d: %w", op, resp.StatusCode, bank.ErrUnknownOutcome)
	}
}

// errBodyIs decodes an error answer into into and reports whether its code is code.
func errBodyIs(raw []byte, into *struct {
	Error string `json:"error"`
}, code string) bool {
	return json.Unmarshal(raw, into) == nil && into.Error == code
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// Cancel implements bank.Channel: POST /v1/transfers/{reference}/cancel. The
// simulator answers canceled for a processing transfer it stopped and for a
// reference it never saw (which it then refuses forever), the final transfer when it
// had already executed, and 409 not_cancelable when it cannot stop it.
func (c *Channel) Cancel(ctx context.Context, reference string) (bank.Transfer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+"/v1/transfers/"+url.PathEscape(reference)+"/cancel", nil)
	if err != nil {
		return bank.Transfer{}, fmt.Errorf("cancel %s: %w: %w", reference, bank.ErrInvalid, err)
	}
	return c.do(req, reference, false)
}

// Balances implements bank.Balancer: the simulator's opening and closing balances
// of the day (GET /sim/statements/{day}/balances).
func (c *Channel) Balances(ctx context.Context, day time.Time) ([]bank.DayBalance, error) {
	d := day.UTC().Format("2006-01-02")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+"/sim/statements/"+d+"/balances", nil)
	if err != nil {
		return nil, fmt.Errorf("balances %s: %w: %w", d, bank.ErrInvalid, err)
	}
	// The bank sums every statement line up to the day: like a statement, no client
	// timeout beyond the context's.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("balances %s: %w: %w", d, bank.ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("balances %s: %w: HTTP %d", d, bank.ErrUnavailable, resp.StatusCode)
	}
	var body []struct {
		Currency string `json:"currency"`
		Opening  int64  `json:"opening"`
		Closing  int64  `json:"closing"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return nil, fmt.Errorf("balances %s: unreadable answer: %w: %w", d, bank.ErrUnavailable, err)
	}
	out := make([]bank.DayBalance, len(body))
	for i, b := range body {
		out[i] = bank.DayBalance{Currency: b.Currency, Opening: b.Opening, Closing: b.Closing}
	}
	return out, nil
}

var _ bank.Balancer = (*Channel)(nil)
