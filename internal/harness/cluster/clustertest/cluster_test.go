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
	"github.com/payflow/payflow/internal/harness/chaos"
	"github.com/payflow/payflow/internal/harness/cluster"
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
	tr := &chaos.Tracker{}
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
		for tr.Created.Load() < 60 {
			select {
			case <-ctx.Done():
				chaosDone <- ctx.Err()
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
		inFlightAtKill = tr.Created.Load() - tr.Finished.Load()
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

	chains := chaos.NewChains(tr, 16)
	refundsLeft := atomic.Int32{}
	refundsLeft.Store(40)
	for i := 0; i < payments; i++ {
		tok := chaos.PaymentTokens[i%len(chaos.PaymentTokens)]
		amount := int64(1000 + i)
		chains.Go(func() error {
			p, err := tr.Start(ctx, driver(), "payment", "/v1/payments", map[string]any{
				"amount": amount, "currency": "CNY", "source": map[string]any{"type": "card", "token": tok.Token},
			}, tok.Want, tok.Code)
			if err != nil {
				return err
			}
			got, err := tr.Wait(ctx, driver(), p, "payment")
			if err != nil {
				return err
			}
			if !tok.Refund || got.Status != "succeeded" || refundsLeft.Add(-1) < 0 {
				return nil
			}
			re, err := tr.Start(ctx, driver(), "refund", "/v1/payments/"+p.ID+"/refunds", map[string]any{"amount": 300}, "succeeded", "")
			if err != nil {
				return err
			}
			tr.Expect(p.ID, "partially_refunded")
			_, err = tr.Wait(ctx, driver(), re, "refund")
			return err
		})
		if i%(payments/wallets) == 0 {
			w := i / (payments / wallets)
			chains.Go(func() error {
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
					top, err := tr.Start(ctx, driver(), "topup", "/v1/topups", map[string]any{
						"account_id": acct.ID, "amount": 50000, "currency": "CNY", "source": map[string]any{"type": "card", "token": tok},
					}, "succeeded", "")
					if err != nil {
						return err
					}
					tops = append(tops, top)
				}
				for _, top := range tops {
					if _, err := tr.Wait(ctx, driver(), top, "topup"); err != nil {
						return err
					}
				}
				balance := int64(100000)
				var wds []object
				for k := 0; k < 2; k++ {
					po := chaos.Payouts[(2*w+k)%len(chaos.Payouts)]
					wd, err := tr.Start(ctx, driver(), "withdrawal", "/v1/withdrawals", map[string]any{
						"account_id": acct.ID, "amount": 20000, "currency": "CNY", "destination": map[string]any{"bank_account": po.Account},
					}, po.Want, po.Code)
					if err != nil {
						return err
					}
					if po.Want == "succeeded" {
						balance -= 20000
					}
					wds = append(wds, wd)
				}
				for _, wd := range wds {
					if _, err := tr.Wait(ctx, driver(), wd, "withdrawal"); err != nil {
						return err
					}
				}
				walletCh <- walletWant{acct.ID, balance}
				return nil
			})
		}
	}
	chains.Wait()
	close(walletCh)
	require.NoError(t, <-chaosDone, "the chaos step")
	require.Empty(t, tr.Errs(), "flows that did not start or end")
	elapsed := time.Since(start)
	flows := tr.Flows()
	require.Len(t, flows, 200)
	require.Positive(t, inFlightAtKill, "nothing was in flight when the processes were killed")

	perReplica := map[int]int{}
	byKind := map[string]int{}
	for _, f := range flows {
		perReplica[f.Replica]++
		byKind[f.Kind]++
		got, err := waitFinal(ctx, f.Path)
		require.NoError(t, err)
		assert.Equal(t, f.Want, got.Status, "%s %s", f.Kind, f.ID)
		assert.Equal(t, f.WantCode, got.FailureCode, "%s %s", f.Kind, f.ID)
		n, err := executions(ctx, f.BankRef)
		require.NoError(t, err)
		assert.LessOrEqual(t, n, 1, "the bank executed %s %s %d times", f.Kind, f.ID, n)
		if f.Want == "succeeded" {
			assert.Equal(t, 1, n, "the bank never executed succeeded %s %s", f.Kind, f.ID)
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
		byKind, perReplica, elapsed.Round(time.Second), inFlightAtKill, driver().Retried.Load(), rep.Journals)
}
