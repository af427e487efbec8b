package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// CancelOutcome is what an operator's cancel through the ops API came to.
type CancelOutcome int

const (
	// CancelAccepted: the flow took the cancel (it asks its bank at once).
	CancelAccepted CancelOutcome = iota
	// CancelTooLate: the flow had ended before the cancel reached it.
	CancelTooLate
)

// CancelFlow cancels the flow of object id through the ops API
// (POST /v1/ops/flows/{id}/cancel with a reason), as an operator who watches a flow
// wait at the bank does. A flow not yet cancelable (still sending its request to the
// bank) refuses with 409: the cancel is sent again until it is accepted, the flow has
// ended, or ctx ends; so is a cancel that got a 5xx or no answer, and a 409 "already
// being canceled" after such a retry means the earlier attempt was accepted.
func (d *Driver) CancelFlow(ctx context.Context, id, reason string) (CancelOutcome, error) {
	body, _ := json.Marshal(map[string]string{"reason": reason})
	var last string
	resent := false
	for {
		r, err := d.Ops(ctx, "POST", "/v1/ops/flows/"+id+"/cancel", string(body))
		switch {
		case err == nil && r.Status == http.StatusOK:
			return CancelAccepted, nil
		case err == nil && r.Status == http.StatusConflict && strings.Contains(string(r.Body), "has finished"):
			return CancelTooLate, nil
		case err == nil && r.Status == http.StatusConflict && resent && strings.Contains(string(r.Body), "already being canceled"):
			return CancelAccepted, nil
		case err == nil && r.Status == http.StatusConflict:
			// Not cancelable yet: the flow is still sending to its bank.
			last = string(r.Body)
		case err == nil && r.Status < 500:
			return 0, fmt.Errorf("cancel %s: HTTP %d: %s", id, r.Status, r.Body)
		case err != nil:
			last, resent = err.Error(), true
		default:
			last, resent = fmt.Sprintf("HTTP %d: %s", r.Status, r.Body), true
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("cancel %s: gave up: %s", id, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// SetMerchantStatus disables (or enables) a merchant through the ops API.
func (d *Driver) SetMerchantStatus(ctx context.Context, merchantID string, disable bool) error {
	action := "enable"
	if disable {
		action = "disable"
	}
	r, err := d.Ops(ctx, "POST", "/v1/ops/merchants/"+merchantID+"/"+action, `{"reason":"chaos run"}`)
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, merchantID, err)
	}
	if r.Status != http.StatusOK {
		return fmt.Errorf("%s %s: HTTP %d: %s", action, merchantID, r.Status, r.Body)
	}
	return nil
}

// FlowsAtStage lists the ids of the objects whose open flow of kind (payment,
// withdrawal, ...; "" for any) Temporal's visibility shows at stage, for one
// merchant (the first 100).
func (d *Driver) FlowsAtStage(ctx context.Context, merchantID, kind, stage string) ([]string, error) {
	q := "/v1/ops/flows?limit=100&merchant=" + merchantID + "&stage=" + stage
	if kind != "" {
		q += "&flow=" + kind
	}
	r, err := d.Ops(ctx, "GET", q, "")
	if err != nil {
		return nil, err
	}
	if r.Status != http.StatusOK {
		return nil, fmt.Errorf("flows at stage %s: HTTP %d: %s", stage, r.Status, r.Body)
	}
	var page struct {
		Data []struct{ ID string }
	}
	if err := r.JSON(&page); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(page.Data))
	for _, f := range page.Data {
		out = append(out, f.ID)
	}
	return out, nil
}
