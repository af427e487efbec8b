//go:build cluster

package clustertest

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/cluster"
	"github.com/payflow/payflow/models"
)

// TestCluster runs its parts in order on one cluster: what the replicas share, then
// 200 flows through crashes, then a rolling upgrade.
func TestCluster(t *testing.T) {
	t.Run("ReplicasShareNoncesAndIdempotencyKeys", testReplicasShareState)
	t.Run("MixedFlowsSurviveKilledWorkerAndHistory", testMixedFlowsSurviveCrashes)
	t.Run("RollingUpgradeFromReleaseOne", testRollingUpgrade)
}

// The replay and idempotency state lives in the database every replica uses: a nonce
// accepted by one replica is refused by the other, and one Idempotency-Key sent to
// both replicas at once creates one payment, charged once.
func testReplicasShareState(t *testing.T) {
	ctx := context.Background()
	nonce := client.NewNonce()
	req := client.Request{Method: http.MethodGet, Target: "/v1/payments?limit=1", Nonce: nonce}
	r, err := c.Payflow.Client(0).Do(ctx, req)
	require.NoError(t, err)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	r, err = c.Payflow.Client(1).Do(ctx, req)
	require.NoError(t, err)
	require.Equal(t, 401, r.Status, "replica 1 accepted a nonce replica 0 had seen: %s", r.Body)
	require.Contains(t, string(r.Body), "signature_invalid")

	key := "ct-shared-" + models.NewID("")
	body := map[string]any{"amount": 4321, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_timeout_success"}}
	var wg sync.WaitGroup
	answers := make([]*client.Response, 2)
	errs := make([]error, 2)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = c.Payflow.Client(i).Post(ctx, "/v1/payments", body, key)
		}()
	}
	wg.Wait()
	var ids [2]string
	for i, a := range answers {
		require.NoError(t, errs[i])
		require.Equal(t, 202, a.Status, "replica %d: %s", i, a.Body)
		var p object
		require.NoError(t, a.JSON(&p))
		ids[i] = p.ID
	}
	require.Equal(t, ids[0], ids[1], "one key sent to both replicas made two payments")
	replayed := answers[0].Header.Get("Idempotent-Replayed") + answers[1].Header.Get("Idempotent-Replayed")
	require.Equal(t, "true", replayed, "exactly one of the two answers is a replay")

	other := map[string]any{"amount": 1234, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"}}
	r, err = c.Payflow.Client(1).Post(ctx, "/v1/payments", other, key)
	require.NoError(t, err)
	require.Equal(t, 422, r.Status, "%s", r.Body)
	require.Contains(t, string(r.Body), "idempotency_key_reused")

	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	p, err := waitFinal(wctx, "/v1/payments/"+ids[0], "processing")
	require.NoError(t, err)
	require.Equal(t, "succeeded", p.Status)
	n, err := executions(ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, 1, n, "the bank executed %s %d times", ids[0], n)
	// The rate limiter's state is the next to share (its own change adds the test).
}

// flow is one money flow the test started and what it must end as.
type flow struct {
	kind, id, path string
	// want is the final status (and failure code) the flow must end with.
	want, wantCode string
	replica        int
	// bankRef is the reference the bank knows it by ("" when no bank is involved).
	bankRef string
}

// tracker collects the flows of a run, safely from many goroutines.
type tracker struct {
	mu       sync.Mutex
	flows    []flow
	created  atomic.Int32
	finished atomic.Int32
	errs     []error
}

func (tr *tracker) add(f flow) {
	tr.mu.Lock()
	tr.flows = append(tr.flows, f)
	tr.mu.Unlock()
	tr.created.Add(1)
}

// expect changes what a flow's object must end as (a refunded payment ends
// partially_refunded).
func (tr *tracker) expect(id, want string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i := range tr.flows {
		if tr.flows[i].id == id {
			tr.flows[i].want = want
		}
	}
}

func (tr *tracker) fail(err error) {
	tr.mu.Lock()
	tr.errs = append(tr.errs, err)
	tr.mu.Unlock()
}

// start creates one flow and returns its object.
func (tr *tracker) start(ctx context.Context, kind, target string, body any, want, wantCode string) (object, error) {
	r, replica, err := create(ctx, target, body, 202)
	if err != nil {
		return object{}, err
	}
	var o object
	if err := r.JSON(&o); err != nil {
		return o, err
	}
	paths := map[string]string{"payment": "/v1/payments/", "topup": "/v1/topups/", "withdrawal": "/v1/withdrawals/", "refund": "/v1/refunds/"}
	tr.add(flow{kind: kind, id: o.ID, path: paths[kind] + o.ID, want: want, wantCode: wantCode, replica: replica, bankRef: o.ID})
	return o, nil
}

func (tr *tracker) wait(ctx context.Context, o object, kind string) (object, error) {
	paths := map[string]string{"payment": "/v1/payments/", "topup": "/v1/topups/", "withdrawal": "/v1/withdrawals/", "refund": "/v1/refunds/"}
	got, err := waitFinal(ctx, paths[kind]+o.ID, "processing", "pending_approval")
	if err == nil {
		tr.finished.Add(1)
	}
	return got, err
}

var paymentTokens = []struct {
	token, want, code string
	// refund marks the succeeded payments that also get a partial refund.
	refund bool
}{
	{"tok_success", "succeeded", "", true},
	{"tok_processing", "succeeded", "", true},
	{"tok_timeout_success", "succeeded", "", true},
	{"tok_decline", "failed", "card_declined", false},
	{"tok_flaky", "succeeded", "", true},
	{"tok_success", "succeeded", "", false},
	{"tok_processing", "succeeded", "", false},
	{"tok_insufficient_funds", "failed", "insufficient_funds", false},
}

var payouts = []struct{ account, want, code string }{
	{"ba_success", "succeeded", ""},
	{"ba_processing", "succeeded", ""},
	{"ba_timeout_success", "succeeded", ""},
	{"ba_closed", "failed", "account_closed"},
}

// 200 flows (80 card payments, 40 refunds of them, 40 top-ups into 20 wallets, 40
// withdrawals from them) through both API replicas, with one worker and the history
// service killed with SIGKILL while they run, and history restarted: every flow ends
// as its bank behaviour says, the bank executed no reference twice, the wallets hold
// what the flows say, and the ledger's invariants hold.
func testMixedFlowsSurviveCrashes(t *testing.T) {
	const payments, wallets = 80, 20
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	start := time.Now()
	tr := &tracker{}
	type walletWant struct {
		id      string
		balance int64
	}
	walletCh := make(chan walletWant, wallets)

	// Chaos: once 60 flows exist, kill a worker and the history service (SIGKILL, no
	// goodbye), keep history down for 10 s while clients keep sending (the API answers
	// 503 to what it cannot start, and clients retry with the same key), restart it.
	chaosDone := make(chan error, 1)
	var inFlightAtKill int32
	go func() {
		for tr.created.Load() < 60 {
			select {
			case <-ctx.Done():
				chaosDone <- ctx.Err()
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		inFlightAtKill = tr.created.Load() - tr.finished.Load()
		c.Payflow.Workers()[0].Kill()
		c.Temporal.Kill(cluster.History)
		t.Logf("%s: killed worker %d and history with %d flows in flight", time.Since(start).Round(time.Millisecond), c.Payflow.Workers()[0].Pid(), inFlightAtKill)
		select {
		case <-ctx.Done():
			chaosDone <- ctx.Err()
			return
		case <-time.After(10 * time.Second):
		}
		err := c.Temporal.Start(ctx, cluster.History)
		t.Logf("%s: history restarted (%v)", time.Since(start).Round(time.Millisecond), err)
		chaosDone <- err
	}()

	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	chain := func(fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := fn(); err != nil {
				tr.fail(err)
			}
		}()
	}
	refundsLeft := atomic.Int32{}
	refundsLeft.Store(40)
	for i := 0; i < payments; i++ {
		tok := paymentTokens[i%len(paymentTokens)]
		amount := int64(1000 + i)
		chain(func() error {
			p, err := tr.start(ctx, "payment", "/v1/payments", map[string]any{
				"amount": amount, "currency": "CNY", "source": map[string]any{"type": "card", "token": tok.token},
			}, tok.want, tok.code)
			if err != nil {
				return err
			}
			got, err := tr.wait(ctx, p, "payment")
			if err != nil {
				return err
			}
			if !tok.refund || got.Status != "succeeded" || refundsLeft.Add(-1) < 0 {
				return nil
			}
			re, err := tr.start(ctx, "refund", "/v1/payments/"+p.ID+"/refunds", map[string]any{"amount": 300}, "succeeded", "")
			if err != nil {
				return err
			}
			tr.expect(p.ID, "partially_refunded")
			_, err = tr.wait(ctx, re, "refund")
			return err
		})
		if i%(payments/wallets) == 0 {
			w := i / (payments / wallets)
			chain(func() error {
				r, _, err := create(ctx, "/v1/accounts", map[string]any{"currency": "CNY", "reference": fmt.Sprintf("cluster-%d", w)}, 201)
				if err != nil {
					return err
				}
				var acct object
				if err := r.JSON(&acct); err != nil {
					return err
				}
				var tops []object
				for _, tok := range []string{"tok_success", "tok_processing"} {
					top, err := tr.start(ctx, "topup", "/v1/topups", map[string]any{
						"account_id": acct.ID, "amount": 50000, "currency": "CNY", "source": map[string]any{"type": "card", "token": tok},
					}, "succeeded", "")
					if err != nil {
						return err
					}
					tops = append(tops, top)
				}
				for _, top := range tops {
					if _, err := tr.wait(ctx, top, "topup"); err != nil {
						return err
					}
				}
				balance := int64(100000)
				var wds []object
				for k := 0; k < 2; k++ {
					po := payouts[(2*w+k)%len(payouts)]
					wd, err := tr.start(ctx, "withdrawal", "/v1/withdrawals", map[string]any{
						"account_id": acct.ID, "amount": 20000, "currency": "CNY", "destination": map[string]any{"bank_account": po.account},
					}, po.want, po.code)
					if err != nil {
						return err
					}
					if po.want == "succeeded" {
						balance -= 20000
					}
					wds = append(wds, wd)
				}
				for _, wd := range wds {
					if _, err := tr.wait(ctx, wd, "withdrawal"); err != nil {
						return err
					}
				}
				walletCh <- walletWant{acct.ID, balance}
				return nil
			})
		}
	}
	wg.Wait()
	close(walletCh)
	require.NoError(t, <-chaosDone, "the chaos step")
	require.Empty(t, tr.errs, "flows that did not start or end")
	elapsed := time.Since(start)
	require.Len(t, tr.flows, 200)
	require.Positive(t, inFlightAtKill, "nothing was in flight when the processes were killed")

	perReplica := map[int]int{}
	byKind := map[string]int{}
	for _, f := range tr.flows {
		perReplica[f.replica]++
		byKind[f.kind]++
		got, err := waitFinal(ctx, f.path)
		require.NoError(t, err)
		assert.Equal(t, f.want, got.Status, "%s %s", f.kind, f.id)
		assert.Equal(t, f.wantCode, got.FailureCode, "%s %s", f.kind, f.id)
		n, err := executions(ctx, f.bankRef)
		require.NoError(t, err)
		assert.LessOrEqual(t, n, 1, "the bank executed %s %s %d times", f.kind, f.id, n)
		if f.want == "succeeded" {
			assert.Equal(t, 1, n, "the bank never executed succeeded %s %s", f.kind, f.id)
		}
	}
	require.Positive(t, perReplica[0], "no flow through replica 0")
	require.Positive(t, perReplica[1], "no flow through replica 1")
	for w := range walletCh {
		r, err := c.Payflow.Client(nextReplica()).Get(ctx, "/v1/accounts/"+w.id)
		require.NoError(t, err)
		var acct struct{ Balance, Available, Held int64 }
		require.NoError(t, r.JSON(&acct))
		assert.Equal(t, w.balance, acct.Balance, "wallet %s", w.id)
		assert.Equal(t, w.balance, acct.Available, "wallet %s holds nothing once its withdrawals ended", w.id)
	}
	rep, err := ledgerCheck(ctx)
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep)
	// Temporal agrees: no flow of payflow is still open (visibility lags a moment).
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		n, err := tc.CountWorkflow(ctx, countReq(`ExecutionStatus="Running" AND PayflowFlow IN ("payment","topup","withdrawal","refund")`))
		if assert.NoError(ct, err) {
			assert.Zero(ct, n.Count)
		}
	}, 30*time.Second, 500*time.Millisecond)
	t.Logf("200 flows %v through replicas %v ended in %s; %d in flight at the kill; %d requests retried; ledger: %d journals, ok",
		byKind, perReplica, elapsed.Round(time.Second), inFlightAtKill, retried.Load(), rep.Journals)
}
