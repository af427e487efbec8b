// Package chaos drives a running payflow the way merchants' backends and operators
// do, while its processes are killed and restarted and false bank callbacks arrive,
// and then proves that nothing was lost or done twice: every flow ended as its test
// token says (or as one of the outcomes a race it does not control allows), the bank
// executed no reference twice and moved no money for a flow that did not succeed,
// every bank movement has one ledger journal and the bank's statements equal the
// ledger's clearing entries, the ledger's invariants hold, balances equal what the
// flows reported, and every webhook arrived signed.
//
// make chaos (bench/chaos) and the cluster test (internal/cluster/clustertest) share
// it: the workload, the retrying client and the checks are the same whatever stack
// runs underneath.
package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/models"
)

// SendFunc sends one unsigned request (the bank simulator's admin API, or the ops API
// with its token) and returns the answer.
type SendFunc func(ctx context.Context, method, path, body string) (*client.Response, error)

// Driver sends a merchant's requests through the API replicas in turn, retrying what
// a crash interrupted, and reads the bank's and the ledger's view of the run.
type Driver struct {
	// Clients are one signed client per API replica, of the merchant the run uses.
	Clients []*client.Client
	// Bank sends to the bank simulator's admin API (/sim/...).
	Bank SendFunc
	// Ops sends to the ops API with an ops token.
	Ops SendFunc
	// KeyPrefix starts every Idempotency-Key the driver makes ("chaos-" if empty).
	KeyPrefix string
	// Merchant is "" for the run's own merchant; a driver of another merchant
	// (VerifyOptions.Others) names it, and the flows it starts are recorded with it.
	Merchant string

	turn atomic.Int64
	// Creating counts the creating requests sent and not answered yet: a crash
	// timed while one is in flight loses its answer, the case that retrying with
	// the same key must survive.
	Creating atomic.Int32
	// Retried counts the creating requests sent again after a 5xx or no answer.
	Retried atomic.Int64
}

// NextReplica is the API replica the next request goes to.
func (d *Driver) NextReplica() int { return int(d.turn.Add(1) % int64(len(d.Clients))) }

// Client is the client of replica i.
func (d *Driver) Client(i int) *client.Client { return d.Clients[i%len(d.Clients)] }

// Create sends a creating POST the way a merchant's backend does: through the next
// replica, and again with the same Idempotency-Key (through the next replica) while
// the answer is a 5xx or no answer at all, until ctx ends. It returns the answer and
// the replica that gave it; an answer below 500 other than want is an error.
func (d *Driver) Create(ctx context.Context, target string, body any, want int) (*client.Response, int, error) {
	return d.CreateAny(ctx, target, body, want)
}

// CreateAny is Create for a request answered with any of wants (a verification
// answers 200 when it ended within the request, 202 when it is still processing).
func (d *Driver) CreateAny(ctx context.Context, target string, body any, wants ...int) (*client.Response, int, error) {
	prefix := d.KeyPrefix
	if prefix == "" {
		prefix = "chaos-"
	}
	key := prefix + models.NewID("")
	var last string
	for {
		replica := d.NextReplica()
		d.Creating.Add(1)
		r, err := d.Client(replica).Post(ctx, target, body, key)
		d.Creating.Add(-1)
		switch {
		case err == nil && slices.Contains(wants, r.Status):
			return r, replica, nil
		case err == nil && r.Status == http.StatusTooManyRequests:
			// Rate limited: nothing was created; send the same request later.
			last = "HTTP 429"
		case err == nil && r.Status < 500:
			return r, replica, fmt.Errorf("POST %s: HTTP %d: %s", target, r.Status, r.Body)
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("HTTP %d: %s", r.Status, r.Body)
		}
		d.Retried.Add(1)
		select {
		case <-ctx.Done():
			return nil, replica, fmt.Errorf("POST %s (Idempotency-Key %s): gave up: %s", target, key, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Object is what every flow's object answers with.
type Object struct {
	ID          string `json:"id"`
	Status      string `json:"status"`
	FailureCode string `json:"failure_code"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	// Channel is the real channel that moved the money (auto is resolved).
	Channel    string `json:"channel"`
	WorkflowID string `json:"workflow_id"`
}

// Pending are the statuses of an object whose flow has not ended.
var Pending = []string{"processing", "pending_approval"}

// WaitFinal polls target, through the replicas in turn, until the object's status is
// none of pending; transient errors (a replica restarting) are polled through until
// ctx ends.
func (d *Driver) WaitFinal(ctx context.Context, target string, pending ...string) (Object, error) {
	var o Object
	var last string
	for {
		r, err := d.Client(d.NextReplica()).Get(ctx, target)
		switch {
		case err != nil:
			last = err.Error()
		case r.Status != 200:
			last = fmt.Sprintf("HTTP %d: %s", r.Status, r.Body)
		default:
			o = Object{}
			if err := json.Unmarshal(r.Body, &o); err != nil {
				return o, fmt.Errorf("GET %s: %w", target, err)
			}
			still := false
			for _, p := range pending {
				still = still || o.Status == p
			}
			if !still {
				return o, nil
			}
			last = "status " + o.Status
		}
		select {
		case <-ctx.Done():
			return o, fmt.Errorf("%s did not finish: %s", target, last)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// Executions asks the bank how many times it executed a reference.
func (d *Driver) Executions(ctx context.Context, ref string) (int, error) {
	r, err := d.Bank(ctx, "GET", "/sim/executions?reference="+ref, "")
	if err != nil {
		return 0, err
	}
	if r.Status != 200 {
		return 0, fmt.Errorf("executions of %s: HTTP %d: %s", ref, r.Status, r.Body)
	}
	var e struct{ Count int }
	if err := json.Unmarshal(r.Body, &e); err != nil {
		return 0, err
	}
	return e.Count, nil
}

// LedgerCheck is the ops API's recomputation of the ledger's invariants.
func (d *Driver) LedgerCheck(ctx context.Context) (ledger.CheckReport, error) {
	var rep ledger.CheckReport
	r, err := d.Ops(ctx, "GET", "/v1/ops/ledger/check", "")
	if err != nil {
		return rep, err
	}
	if r.Status != 200 {
		return rep, fmt.Errorf("ledger check: HTTP %d: %s", r.Status, r.Body)
	}
	return rep, json.Unmarshal(r.Body, &rep)
}

// SetBankFaults sets the bank simulator's fault knobs (`{}` resets them).
func (d *Driver) SetBankFaults(ctx context.Context, faults string) error {
	r, err := d.Bank(ctx, "POST", "/sim/faults", faults)
	if err != nil {
		return err
	}
	if r.Status != 200 {
		return fmt.Errorf("faults: HTTP %d: %s", r.Status, r.Body)
	}
	return nil
}

// Balance reads a wallet's balance and available amount.
func (d *Driver) Balance(ctx context.Context, accountID string) (balance, available int64, err error) {
	r, err := d.Client(d.NextReplica()).Get(ctx, "/v1/accounts/"+accountID)
	if err != nil {
		return 0, 0, err
	}
	if r.Status != 200 {
		return 0, 0, fmt.Errorf("account %s: HTTP %d: %s", accountID, r.Status, strings.TrimSpace(string(r.Body)))
	}
	var acct struct{ Balance, Available int64 }
	if err := r.JSON(&acct); err != nil {
		return 0, 0, err
	}
	return acct.Balance, acct.Available, nil
}

// OpenFlows lists (up to 100 of) the merchant's flows that Temporal's visibility
// still shows open, through the ops API: "<flow> <id> <stage>" each.
func (d *Driver) OpenFlows(ctx context.Context, merchantID string) ([]string, error) {
	r, err := d.Ops(ctx, "GET", "/v1/ops/flows?limit=100&merchant="+merchantID, "")
	if err != nil {
		return nil, err
	}
	if r.Status != 200 {
		return nil, fmt.Errorf("open flows: HTTP %d: %s", r.Status, r.Body)
	}
	var page struct {
		Data []struct{ ID, Flow, Stage string }
	}
	if err := r.JSON(&page); err != nil {
		return nil, err
	}
	out := make([]string, len(page.Data))
	for i, f := range page.Data {
		out[i] = f.Flow + " " + f.ID + " " + f.Stage
	}
	return out, nil
}

// Decide approves or rejects a withdrawal waiting for an operator, through the ops
// API, sending the decision again on a 5xx or no answer. A 409 (no longer pending)
// after such a retry means an earlier attempt was carried out; on a first attempt it
// is an error.
func (d *Driver) Decide(ctx context.Context, withdrawalID string, approve bool) error {
	action, body := "approve", `{"reason":"chaos run: approved"}`
	if !approve {
		action, body = "reject", `{"reason":"chaos run: rejected"}`
	}
	var last string
	for attempt := 1; ; attempt++ {
		r, err := d.Ops(ctx, "POST", "/v1/ops/withdrawals/"+withdrawalID+"/"+action, body)
		switch {
		case err == nil && r.Status == http.StatusOK:
			return nil
		case err == nil && r.Status == http.StatusConflict && attempt > 1:
			return nil
		case err == nil && r.Status < 500:
			return fmt.Errorf("%s %s: HTTP %d: %s", action, withdrawalID, r.Status, r.Body)
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("HTTP %d: %s", r.Status, r.Body)
		}
		d.Retried.Add(1)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s: gave up: %s", action, withdrawalID, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
