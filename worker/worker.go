// Package worker builds payflow's Temporal worker: it registers every workflow and
// activity under its constant name on the payflow task queue.
package worker

import (
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/workflows"
)

// Registration is one workflow or activity function and the name it is registered
// under.
type Registration struct {
	Name string
	Fn   any
}

// Deps are the activity structs the worker registers.
type Deps struct {
	Bank           *activities.Bank
	Payments       *activities.Payments
	Topups         *activities.Topups
	Holds          *activities.Holds
	Withdrawals    *activities.Withdrawals
	Refunds        *activities.Refunds
	Webhooks       *activities.Webhooks
	Reconciliation *activities.Reconciliation
	Sweeper        *activities.Sweeper
	Maintenance    *activities.Maintenance
	Identity       *activities.Identity
	Yield          *activities.Yield
	Fund           *activities.Fund
}

// Workflows lists every workflow with its name.
func Workflows() []Registration {
	return []Registration{
		{workflows.WorkflowPayment, workflows.PaymentWorkflow},
		{workflows.WorkflowTopup, workflows.TopupWorkflow},
		{workflows.WorkflowWithdrawal, workflows.WithdrawalWorkflow},
		{workflows.WorkflowRefund, workflows.RefundWorkflow},
		{workflows.WorkflowWebhookDelivery, workflows.WebhookDeliveryWorkflow},
		{workflows.WorkflowReconciliation, workflows.ReconciliationWorkflow},
		{workflows.WorkflowScheduledReconciliation, workflows.ScheduledReconciliationWorkflow},
		{workflows.WorkflowFlowSweep, workflows.FlowSweepWorkflow},
		{workflows.WorkflowPurge, workflows.PurgeWorkflow},
		{workflows.WorkflowLedgerCheck, workflows.LedgerCheckWorkflow},
		{workflows.WorkflowMeasure, workflows.MeasureWorkflow},
		{workflows.WorkflowVerification, workflows.VerificationWorkflow},
		{workflows.WorkflowCardBinding, workflows.CardBindingWorkflow},
		{workflows.WorkflowCreditReport, workflows.CreditReportWorkflow},
		{workflows.WorkflowYield, workflows.YieldWorkflow},
		{workflows.WorkflowScheduledYield, workflows.ScheduledYieldWorkflow},
		{workflows.WorkflowFundOrder, workflows.FundOrderWorkflow},
	}
}

// Activities lists every activity with its name.
func Activities(d Deps) []Registration {
	return []Registration{
		{workflows.ActivityCharge, d.Bank.Charge},
		{workflows.ActivityQueryTransfer, d.Bank.QueryTransfer},
		{workflows.ActivityCancelTransfer, d.Bank.CancelTransfer},
		{workflows.ActivityOpenTrade, d.Bank.OpenTrade},
		{workflows.ActivityCloseTrade, d.Bank.CloseTrade},
		{workflows.ActivityRouteTransfer, d.Bank.RouteTransfer},
		{workflows.ActivityFinalizePayment, d.Payments.FinalizePayment},
		{workflows.ActivityFinalizeTopup, d.Topups.FinalizeTopup},
		{workflows.ActivityPayout, d.Bank.Payout},
		{workflows.ActivityRefundAtBank, d.Bank.RefundAtBank},
		{workflows.ActivityPlaceHold, d.Holds.PlaceHold},
		{workflows.ActivitySetWithdrawalStatus, d.Withdrawals.SetWithdrawalStatus},
		{workflows.ActivityFinalizeWithdrawal, d.Withdrawals.FinalizeWithdrawal},
		{workflows.ActivityFinalizeRefund, d.Refunds.FinalizeRefund},
		{workflows.ActivityCreateEvent, d.Webhooks.CreateEvent},
		{workflows.ActivityDeliverWebhook, d.Webhooks.DeliverWebhook},
		{workflows.ActivityReconcileStatement, d.Reconciliation.ReconcileStatement},
		{workflows.ActivityCheckBalances, d.Reconciliation.CheckBalances},
		{workflows.ActivityFinishReconciliation, d.Reconciliation.FinishReconciliation},
		{workflows.ActivityOpenReconciliation, d.Reconciliation.OpenReconciliation},
		{workflows.ActivitySweepFlows, d.Sweeper.SweepFlows},
		{workflows.ActivityPurge, d.Maintenance.Purge},
		{workflows.ActivityCheckLedger, d.Maintenance.CheckLedger},
		{workflows.ActivityMeasure, d.Maintenance.Measure},
		{workflows.ActivityLookupVerification, d.Identity.LookupVerification},
		{workflows.ActivityVerifyAtBank, d.Identity.VerifyAtBank},
		{workflows.ActivityFinishIdentity, d.Identity.FinishIdentity},
		{workflows.ActivityStartBindingAtBank, d.Identity.StartBindingAtBank},
		{workflows.ActivityConfirmBindingAtBank, d.Identity.ConfirmBindingAtBank},
		{workflows.ActivityRemoveBindingAtBank, d.Identity.RemoveBindingAtBank},
		{workflows.ActivityRecordBinding, d.Identity.RecordBinding},
		{workflows.ActivityRequestReportAtBureau, d.Identity.RequestReportAtBureau},
		{workflows.ActivityQueryReportAtBureau, d.Identity.QueryReportAtBureau},
		{workflows.ActivityOpenYieldRun, d.Yield.OpenYieldRun},
		{workflows.ActivityYieldIncome, d.Yield.YieldIncome},
		{workflows.ActivityPlanYieldRanges, d.Yield.PlanYieldRanges},
		{workflows.ActivityCreditYieldRange, d.Yield.CreditYieldRange},
		{workflows.ActivityFinishYieldRun, d.Yield.FinishYieldRun},
		{workflows.ActivityPlaceFundOrder, d.Fund.PlaceFundOrder},
		{workflows.ActivityQueryFundOrder, d.Fund.QueryFundOrder},
		{workflows.ActivityFinishFundOrder, d.Fund.FinishFundOrder},
		{workflows.ActivityPositionAccount, d.Fund.PositionAccount},
	}
}

// Register registers everything on r (a worker, a replayer or a test environment).
func Register(r sdkworker.Registry, d Deps) {
	for _, w := range Workflows() {
		r.RegisterWorkflowWithOptions(w.Fn, workflow.RegisterOptions{Name: w.Name})
	}
	for _, a := range Activities(d) {
		r.RegisterActivityWithOptions(a.Fn, activity.RegisterOptions{Name: a.Name})
	}
}

// Options are the worker's tuning knobs.
type Options struct {
	TaskQueue                          string
	MaxConcurrentActivityExecutionSize int
	MaxConcurrentWorkflowTaskPollers   int
	MaxConcurrentActivityTaskPollers   int
	// MaxHeartbeatThrottleInterval: heartbeat details reach the server at least this
	// often; 0 is DefaultMaxHeartbeatThrottle.
	MaxHeartbeatThrottleInterval time.Duration
}

// DefaultMaxHeartbeatThrottle bounds how long the SDK holds back an activity's
// heartbeat details (by default it sends them only every 80% of the heartbeat
// timeout).
const DefaultMaxHeartbeatThrottle = 2 * time.Second

// New returns a worker on the task queue with everything registered; the caller
// starts and stops it.
func New(c client.Client, opts Options, d Deps) sdkworker.Worker {
	if opts.TaskQueue == "" {
		opts.TaskQueue = workflows.TaskQueue
	}
	if opts.MaxHeartbeatThrottleInterval <= 0 {
		opts.MaxHeartbeatThrottleInterval = DefaultMaxHeartbeatThrottle
	}
	w := sdkworker.New(c, opts.TaskQueue, sdkworker.Options{
		// Heartbeat details reach the server at least this often (by default only
		// every 80% of the heartbeat timeout): a reconciliation killed mid-run
		// resumes from a checkpoint at most this old.
		MaxHeartbeatThrottleInterval:       opts.MaxHeartbeatThrottleInterval,
		MaxConcurrentActivityExecutionSize: opts.MaxConcurrentActivityExecutionSize,
		MaxConcurrentWorkflowTaskPollers:   opts.MaxConcurrentWorkflowTaskPollers,
		MaxConcurrentActivityTaskPollers:   opts.MaxConcurrentActivityTaskPollers,
	})
	Register(w, d)
	return w
}
