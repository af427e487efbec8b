package e2e

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdktemporal "go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/internal/harness/e2e/release1"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/worker"
	"github.com/payflow/payflow/workflows"
)

// fakeBank stands in for the activities, so that the test controls what the bank and
// the ledger answer on each side of the upgrade.
type fakeBank struct {
	refusePosting bool
	reversals     atomic.Int32
}

func (f *fakeBank) Charge(ctx context.Context, in models.ChargeInput) (models.ChargeResult, error) {
	return models.ChargeResult{Status: models.BankProcessing, Channel: in.Channel}, nil
}

func (f *fakeBank) QueryTransfer(ctx context.Context, in models.QueryTransferInput) (models.ChargeResult, error) {
	return models.ChargeResult{Status: models.BankProcessing, Channel: in.Channel}, nil
}

func (f *fakeBank) RefundAtBank(ctx context.Context, in models.RefundAtBankInput) (models.ChargeResult, error) {
	f.reversals.Add(1)
	return models.ChargeResult{Status: models.BankSucceeded, Channel: in.Channel}, nil
}

func (f *fakeBank) FinalizePayment(ctx context.Context, in models.FinalizePaymentInput) (models.FinalizePaymentResult, error) {
	if in.Status == models.PaymentSucceeded && f.refusePosting {
		return models.FinalizePaymentResult{}, sdktemporal.NewNonRetryableApplicationError("merchant disabled", string(models.FailureMerchantDisabled), nil)
	}
	return models.FinalizePaymentResult{Status: in.Status, FailureCode: in.FailureCode}, nil
}

func registerFakes(w sdkworker.Worker, f *fakeBank) {
	for name, fn := range map[string]any{
		workflows.ActivityCharge: f.Charge, workflows.ActivityQueryTransfer: f.QueryTransfer,
		workflows.ActivityRefundAtBank: f.RefundAtBank, workflows.ActivityFinalizePayment: f.FinalizePayment,
	} {
		w.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

// TestPaymentStartedOnReleaseOneFinishesOnTheNewWorker starts a payment on a worker
// running the first released payment workflow, lets it wait on the bank, replaces the
// worker by one running today's code (which compensates a refused posting, behind
// workflow.GetVersion), and delivers the bank's callback: the flow replays its old
// history on the new code without a non-determinism error and finishes with the new
// behaviour, recording the version marker only after the upgrade.
func TestPaymentStartedOnReleaseOneFinishesOnTheNewWorker(t *testing.T) {
	ctx := context.Background()
	c, err := client.Dial(client.Options{HostPort: temporal.Addr})
	require.NoError(t, err)
	defer c.Close()
	queue := "upgrade-" + models.NewID("")
	id := models.NewID(models.PrefixPayment)
	wfID := workflows.PaymentWorkflowID("mch_upgrade", id)

	old := sdkworker.New(c, queue, sdkworker.Options{})
	old.RegisterWorkflowWithOptions(release1.PaymentWorkflow, workflow.RegisterOptions{Name: workflows.WorkflowPayment})
	registerFakes(old, &fakeBank{})
	require.NoError(t, old.Start())

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: wfID, TaskQueue: queue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, workflows.WorkflowPayment, models.PaymentInput{
		PaymentID: id, MerchantID: "mch_upgrade", Amount: 4200, Currency: "CNY", Channel: "banksim",
		Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_processing"}, BankTiming: models.BankTiming{BankPoll: time.Hour, BankDeadline: 24 * time.Hour},
	})
	require.NoError(t, err)
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		v, err := c.QueryWorkflow(ctx, wfID, "", workflows.QueryState)
		if !assert.NoError(ct, err) {
			return
		}
		var st models.FlowState
		assert.NoError(ct, v.Get(&st))
		assert.Equal(ct, models.StageWaitingBank, st.Stage)
	}, 30*time.Second, 200*time.Millisecond)
	old.Stop()

	fresh := &fakeBank{refusePosting: true}
	next := sdkworker.New(c, queue, sdkworker.Options{})
	for _, w := range worker.Workflows() {
		next.RegisterWorkflowWithOptions(w.Fn, workflow.RegisterOptions{Name: w.Name})
	}
	registerFakes(next, fresh)
	require.NoError(t, next.Start())
	defer next.Stop()

	require.NoError(t, c.SignalWorkflow(ctx, wfID, "", workflows.SignalBankCallback,
		models.BankCallback{Reference: id, Channel: "banksim", Status: models.BankSucceeded}))
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var res models.PaymentResult
	require.NoError(t, run.Get(wctx, &res), "the flow started on release 1 must finish on the new worker")
	require.Equal(t, models.PaymentFailed, res.Status)
	require.Equal(t, models.FailureMerchantDisabled, res.FailureCode)
	require.Equal(t, int32(1), fresh.reversals.Load(), "the new code's compensation ran once")

	// The history: the old part has no marker; the new code recorded version 1 of the
	// compensation change after the callback.
	it := c.GetWorkflowHistory(ctx, wfID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	sawSignal, markerAfterSignal := false, false
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		if ev.GetWorkflowExecutionSignaledEventAttributes() != nil {
			sawSignal = true
		}
		if m := ev.GetMarkerRecordedEventAttributes(); m != nil && m.MarkerName == "Version" {
			require.True(t, sawSignal, "a version marker before the upgrade")
			markerAfterSignal = markerAfterSignal || strings.Contains(string(m.Details["change-id"].GetPayloads()[0].GetData()), "compensate-refused-posting")
		}
	}
	require.True(t, markerAfterSignal, "the new code did not record its version")
}
