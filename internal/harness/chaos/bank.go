package chaos

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payflow/payflow/models"
)

// BankTransfer is the bank simulator's own record of a reference, as its channel API
// answers it (GET /v1/transfers/{reference}): processing, succeeded, failed or
// canceled; "" with Found false when the bank never saw the reference.
type BankTransfer struct {
	Found    bool
	Status   string
	Kind     string
	Amount   int64
	Currency string
}

// Transfer asks the bank simulator for its record of ref. The channel API is subject
// to the bank's faults: a refusal (503) or a restart is asked again until ctx ends.
func (d *Driver) Transfer(ctx context.Context, ref string) (BankTransfer, error) {
	var last string
	for {
		r, err := d.Bank(ctx, "GET", "/v1/transfers/"+ref, "")
		switch {
		case err == nil && r.Status == http.StatusOK:
			var t struct {
				Status, Kind, Currency string
				Amount                 int64
			}
			if err := r.JSON(&t); err != nil {
				return BankTransfer{}, fmt.Errorf("transfer %s: %w", ref, err)
			}
			return BankTransfer{Found: true, Status: t.Status, Kind: t.Kind, Amount: t.Amount, Currency: t.Currency}, nil
		case err == nil && r.Status == http.StatusNotFound && bytes.Contains(r.Body, []byte(`"not_found"`)):
			return BankTransfer{}, nil
		case err == nil && r.Status < 500:
			return BankTransfer{}, fmt.Errorf("transfer %s: HTTP %d: %s", ref, r.Status, r.Body)
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("HTTP %d", r.Status)
		}
		select {
		case <-ctx.Done():
			return BankTransfer{}, fmt.Errorf("transfer %s: %s", ref, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Movement is one line of the bank simulator's statement: a transfer it decided.
type Movement struct {
	Reference, Kind, Currency, Status string
	Amount                            int64
}

// Signed is what the movement did to the money the bank holds for payflow: a
// succeeded charge brings it in, a succeeded payout or refund takes it out; a failed
// or canceled transfer moved nothing.
func (m Movement) Signed() int64 {
	switch {
	case m.Status != "succeeded":
		return 0
	case m.Kind == "charge":
		return m.Amount
	default:
		return -m.Amount
	}
}

// FlowID is the id of the object whose flow the movement belongs to: the reference
// itself, or for the reversal of a charge (rev_pay_...) the charge's.
func (m Movement) FlowID() string {
	if charge, ok := models.ReversedCharge(m.Reference); ok {
		return charge
	}
	return m.Reference
}

// Statement reads the bank simulator's statement of channel for each UTC day from
// since to now (GET /sim/statements/<channel>-<day>.csv): every transfer it decided,
// with its amount.
func (d *Driver) Statement(ctx context.Context, channel string, since, now time.Time) ([]Movement, error) {
	var out []Movement
	for day := since.UTC().Truncate(24 * time.Hour); !day.After(now.UTC()); day = day.Add(24 * time.Hour) {
		file := fmt.Sprintf("%s-%s.csv", channel, day.Format("2006-01-02"))
		r, err := d.Bank(ctx, "GET", "/sim/statements/"+file, "")
		if err != nil {
			return nil, fmt.Errorf("statement %s: %w", file, err)
		}
		if r.Status != http.StatusOK {
			return nil, fmt.Errorf("statement %s: HTTP %d: %s", file, r.Status, r.Body)
		}
		lines, err := parseStatement(r.Body)
		if err != nil {
			return nil, fmt.Errorf("statement %s: %w", file, err)
		}
		out = append(out, lines...)
	}
	return out, nil
}

// parseStatement reads the simulator's CSV: reference,kind,amount,currency,status,time.
func parseStatement(body []byte) ([]Movement, error) {
	cr := csv.NewReader(bytes.NewReader(body))
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(h)] = i
	}
	for _, h := range []string{"reference", "kind", "amount", "currency", "status"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("no %s column in %v", h, header)
		}
	}
	var out []Movement
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		amount, err := strconv.ParseInt(rec[col["amount"]], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("line of %s: amount %q", rec[col["reference"]], rec[col["amount"]])
		}
		out = append(out, Movement{
			Reference: rec[col["reference"]], Kind: rec[col["kind"]], Amount: amount,
			Currency: rec[col["currency"]], Status: rec[col["status"]],
		})
	}
}
