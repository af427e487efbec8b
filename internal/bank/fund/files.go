package fund

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// The fund company's daily files (CSV with a header line), for reconciliation.
const (
	FileConfirmations = "confirmations.csv"
	FileHoldings      = "holdings.csv"
	FileIncome        = "income.csv"
)

// File opens one of the fund company's files of date (YYYY-MM-DD): ErrNotFound
// (also ErrRejected) until the date is over at the fund company. The caller closes
// the body. ErrUnavailable, ErrRejected, ErrNotFound.
func (c *Client) File(ctx context.Context, date, name string) (io.ReadCloser, error) {
	if err := checkDates(date); err != nil {
		return nil, err
	}
	u := c.baseURL + "/fund/v1/files/" + url.PathEscape(date) + "/" + url.PathEscape(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("GET fund file %s %s: %w", date, name, ErrRejected)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET fund file %s %s: %w", date, name, ErrUnavailable)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return resp.Body, nil
	case resp.StatusCode == http.StatusNotFound:
		resp.Body.Close()
		return nil, fmt.Errorf("fund file %s %s: %w (%w)", date, name, ErrNotFound, ErrRejected)
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		resp.Body.Close()
		return nil, fmt.Errorf("fund file %s %s: status %d: %w", date, name, resp.StatusCode, ErrRejected)
	}
	resp.Body.Close()
	return nil, fmt.Errorf("fund file %s %s: status %d: %w", date, name, resp.StatusCode, ErrUnavailable)
}

// Files is the client as reconciliation uses it (activities.FundFiles).
type Files struct{ C *Client }

// Confirmations opens the confirmations file of date.
func (f Files) Confirmations(ctx context.Context, date string) (io.ReadCloser, error) {
	return f.C.File(ctx, date, FileConfirmations)
}

// Holdings opens the holdings file of date.
func (f Files) Holdings(ctx context.Context, date string) (io.ReadCloser, error) {
	return f.C.File(ctx, date, FileHoldings)
}

// Income opens the income file of date.
func (f Files) Income(ctx context.Context, date string) (io.ReadCloser, error) {
	return f.C.File(ctx, date, FileIncome)
}
