package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"

	"github.com/payflow/payflow/internal/failpoint"
	"github.com/payflow/payflow/internal/harness/devstack"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// sweeperNamespace is the Temporal namespace of the kill test's stack on a backend:
// one of its own, so that its flow-sweeper schedule (one per namespace) starts its
// flows on its task queue and no other stack's.
func sweeperNamespace(b testenv.Backend) string { return "payflow-sweeper-" + string(b) }

// killedRequest is a creating request whose API process dies between the commit of
// its object and the start of the object's flow.
type killedRequest struct {
	flow models.Flow
	path string
	body map[string]any
	// get is the object's path without its id; want its final status.
	get  string
	want string
	key  string
	id   string
}

// A payment, a refund, a top-up and a withdrawal whose API process dies right after
// their objects are committed (a build with -tags failpoints and
// PAYFLOW_FAILPOINT=after-commit-before-start exits there): each object is stored,
// processing, with no flow in Temporal, and nobody retries the request. The flow
// sweeper starts every one of them: each ends in its final status, the bank executed
// each charge once, the refund's reservation on its payment is consumed (not left
// reserved), the wallet holds what the flows say, and the ledger balances. A retry of
// each request with its Idempotency-Key, sent only after its flow ended, still
// answers the same object.
func TestSweeperStartsFlowsOfObjectsLeftWithoutOne(t *testing.T) {
	root, err := devstack.RepoRoot(must(os.Getwd()))
	require.NoError(t, err)
	bin, err := Build(root, t.TempDir(), true, "failpoints")
	require.NoError(t, err)
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			ctx := context.Background()
			s, err := StartStack(ctx, StackOptions{
				Name: "sweeper-" + string(b), Bin: bin, Temporal: temporal.Addr, Backend: b, WorkDir: t.TempDir(), Out: logFile,
				StripeMockBin: stripeMockBin, Validator: apiContract, Namespace: sweeperNamespace(b),
				Env: map[string]string{
					// A sweep every second of what is older than 5 s: the flows start
					// within seconds, and an object is still without its flow for
					// seconds after its request died, so the test sees that first.
					"PAYFLOW_SWEEP_EVERY":  "1s",
					"PAYFLOW_SWEEP_GRACE":  "5s",
					"PAYFLOW_BANK_TIMEOUT": "3s",
				},
			})
			require.NoError(t, err)
			t.Cleanup(s.Stop)
			db, err := store.Open(s.DSN, 2)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			tc := temporalClient(t, s)

			// Before any failpoint: a funded wallet, and a succeeded payment to refund.
			wallet := fundedWallet(t, s, 5000)
			paid := createPayment(t, s, card(3000, "tok_success"))
			require.Equal(t, models.PaymentSucceeded, waitPayment(t, s, paid.ID, 60*time.Second).Status)

			payment := &killedRequest{flow: models.FlowPayment, path: "/v1/payments", body: card(1234, "tok_success"), get: "/v1/payments/", want: "succeeded"}
			refund := &killedRequest{flow: models.FlowRefund, path: "/v1/payments/" + paid.ID + "/refunds", body: map[string]any{"amount": 3000}, get: "/v1/refunds/", want: "succeeded"}
			topup := &killedRequest{flow: models.FlowTopup, path: "/v1/topups", body: map[string]any{
				"account_id": wallet.ID, "amount": 1500, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"},
			}, get: "/v1/topups/", want: "succeeded"}
			withdrawal := &killedRequest{flow: models.FlowWithdrawal, path: "/v1/withdrawals", body: map[string]any{
				"account_id": wallet.ID, "amount": 2000, "currency": "CNY", "destination": map[string]any{"bank_account": "ba_success"},
			}, get: "/v1/withdrawals/", want: "succeeded"}
			reqs := []*killedRequest{payment, refund, topup, withdrawal}
			for _, k := range reqs {
				k.key = "e2e-kill-" + models.NewID("")
				api, err := s.RestartAPI(ctx, 0, failpoint.EnvVar+"="+failpoint.AfterCommitBeforeStart)
				require.NoError(t, err)
				if r, err := s.Client(0).Post(ctx, k.path, k.body, k.key); err == nil {
					t.Fatalf("the API answered the %s (HTTP %d: %s) instead of dying after its commit", k.flow, r.Status, r.Body)
				}
				<-api.Done()
				var exit *exec.ExitError
				require.ErrorAs(t, api.Err(), &exit)
				require.Equal(t, failpoint.ExitCode, exit.ExitCode(), "the API died elsewhere than at the failpoint")

				// The object is committed, processing, and Temporal has no flow of it.
				require.NoError(t, db.Raw(`SELECT object_id FROM idempotency_keys WHERE merchant_id = ? AND idem_key = ?`, "mch_demo", k.key).Scan(&k.id).Error)
				require.NotEmpty(t, k.id, "the %s was not committed", k.flow)
				var status string
				require.NoError(t, db.Raw(`SELECT status FROM `+string(k.flow)+`s WHERE id = ?`, k.id).Scan(&status).Error)
				require.Equal(t, "processing", status)
				_, err = tc.DescribeWorkflowExecution(ctx, workflows.FlowWorkflowID(k.flow, "mch_demo", k.id), "")
				var nf *serviceerror.NotFound
				require.True(t, errors.As(err, &nf), "the %s's flow exists: %v", k.flow, err)
			}
			// The API comes back without the failpoint; nobody sends the requests again
			// until their flows have ended.
			_, err = s.RestartAPI(ctx, 0)
			require.NoError(t, err)

			for _, k := range reqs {
				wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
				obj, _, err := s.Client(0).WaitStatus(wctx, k.get+k.id, 250*time.Millisecond, "processing")
				cancel()
				require.NoError(t, err, "the %s %s never left processing: no flow started it", k.flow, k.id)
				require.Equal(t, k.want, obj.Status, "%s %s: %s", k.flow, k.id, obj.FailureCode)
			}
			require.Equal(t, 1, executions(t, s, payment.id))
			require.Equal(t, 1, executions(t, s, topup.id))
			// The refund's reservation became the refunded amount: nothing stays
			// reserved, so the payment is refunded in full and refuses another refund.
			var pay struct {
				RefundReserved int64
				AmountRefunded int64
				Status         string
			}
			require.NoError(t, db.Raw(`SELECT refund_reserved, amount_refunded, status FROM payments WHERE id = ?`, paid.ID).Scan(&pay).Error)
			require.Equal(t, int64(0), pay.RefundReserved)
			require.Equal(t, int64(3000), pay.AmountRefunded)
			require.Equal(t, string(models.PaymentRefunded), pay.Status)
			// 5000 funded, 1500 topped up, 2000 withdrawn.
			got := getWallet(t, s, wallet.ID)
			require.Equal(t, int64(4500), got.Balance)
			require.Equal(t, int64(0), got.Held)
			require.True(t, ledgerCheck(t, s).OK)

			// The client's retry, late: the same object, in its final status.
			for _, k := range reqs {
				r, err := s.Client(0).Post(ctx, k.path, k.body, k.key)
				require.NoError(t, err)
				require.Equal(t, 202, r.Status, "%s", r.Body)
				require.Equal(t, "true", r.Header.Get("Idempotent-Replayed"))
				var obj struct{ ID, Status string }
				require.NoError(t, r.JSON(&obj))
				require.Equal(t, k.id, obj.ID)
				require.Equal(t, k.want, obj.Status)
			}
		})
	}
}

// Every worker keeps the flow-sweeper schedule (PAYFLOW_SWEEP_EVERY, default a
// minute, with the grace PAYFLOW_SWEEP_GRACE in its action); `temporal schedule list`
// shows it, and a firing runs a sweep that completes with its window.
func TestFlowSweepSchedule(t *testing.T) {
	eachStack(t, func(t *testing.T, s *Stack) {
		c := temporalClient(t, s)
		// PAYFLOW_SWEEP_EVERY defaults to a minute.
		action := describeSchedule(t, c, workflows.FlowSweepScheduleID, workflows.WorkflowFlowSweep, s.TaskQueue, time.Minute)
		var in models.FlowSweepInput
		scheduleArg(t, action, &in)
		require.Equal(t, time.Minute, in.Grace, "PAYFLOW_SWEEP_GRACE defaults to a minute")
		requireListed(t, s, workflows.FlowSweepScheduleID)

		before := time.Now()
		var res models.FlowSweepResult
		triggerAndWait(t, c, workflows.FlowSweepScheduleID, &res)
		require.WithinDuration(t, before.Add(-time.Minute), res.Until, 30*time.Second)
		var flows []models.Flow
		for _, k := range res.Kinds {
			flows = append(flows, k.Flow)
			require.Empty(t, k.Error, k.Flow)
		}
		require.Equal(t, []models.Flow{models.FlowPayment, models.FlowRefund, models.FlowTopup, models.FlowWithdrawal,
			models.FlowSubscription, models.FlowRedemption}, flows)
	})
}
