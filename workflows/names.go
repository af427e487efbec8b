package workflows

import "github.com/payflow/payflow/activities"

// Activity receivers: nil pointers whose method values name the activities. The
// worker registers the real ones under the same names.
var (
	bankActs        *activities.Bank
	paymentActs     *activities.Payments
	topupActs       *activities.Topups
	holdActs        *activities.Holds
	withdrawalActs  *activities.Withdrawals
	refundActs      *activities.Refunds
	webhookActs     *activities.Webhooks
	reconActs       *activities.Reconciliation
	sweepActs       *activities.Sweeper
	maintenanceActs *activities.Maintenance
	yieldActs       *activities.Yield
)

// Workflow type names. They are frozen once released: a history recorded under a name
// only replays on a worker that registers the same name.
const (
	WorkflowPayment         = "PaymentWorkflow"
	WorkflowTopup           = "TopupWorkflow"
	WorkflowWithdrawal      = "WithdrawalWorkflow"
	WorkflowRefund          = "RefundWorkflow"
	WorkflowWebhookDelivery = "WebhookDeliveryWorkflow"
)

// Reconciliation's workflow type names: the day's run, and the action of a channel's
// daily schedule that opens it.
const (
	WorkflowReconciliation          = "ReconciliationWorkflow"
	WorkflowScheduledReconciliation = "ScheduledReconciliationWorkflow"
)

// WorkflowFlowSweep is the action of the flow-sweeper schedule: it starts the flows of
// objects the API stored without starting their flow.
const WorkflowFlowSweep = "FlowSweepWorkflow"

// The actions of the purge, ledger-check and measure schedules.
const (
	WorkflowPurge       = "PurgeWorkflow"
	WorkflowLedgerCheck = "LedgerCheckWorkflow"
	WorkflowMeasure     = "MeasureWorkflow"
)

// The balance yield's workflow type names: the day's run, and the action of the
// daily schedule that opens it.
const (
	WorkflowYield          = "YieldWorkflow"
	WorkflowScheduledYield = "ScheduledYieldWorkflow"
)

// The balance yield's activity names.
const (
	ActivityOpenYieldRun     = "OpenYieldRun"
	ActivityYieldIncome      = "YieldIncome"
	ActivityPlanYieldRanges  = "PlanYieldRanges"
	ActivityCreditYieldRange = "CreditYieldRange"
	ActivityFinishYieldRun   = "FinishYieldRun"
)

// Activity names. Each equals the method name of the activity it names, because
// workflows call activities through method values (type-checked) and the SDK derives
// the name from the method; worker/registry_test.go checks that they agree.
const (
	ActivityCharge              = "Charge"
	ActivityQueryTransfer       = "QueryTransfer"
	ActivityCancelTransfer      = "CancelTransfer"
	ActivityOpenTrade           = "OpenTrade"
	ActivityCloseTrade          = "CloseTrade"
	ActivityRouteTransfer       = "RouteTransfer"
	ActivityFinalizePayment     = "FinalizePayment"
	ActivityFinalizeTopup       = "FinalizeTopup"
	ActivityPayout              = "Payout"
	ActivityRefundAtBank        = "RefundAtBank"
	ActivityPlaceHold           = "PlaceHold"
	ActivitySetWithdrawalStatus = "SetWithdrawalStatus"
	ActivityFinalizeWithdrawal  = "FinalizeWithdrawal"
	ActivityFinalizeRefund      = "FinalizeRefund"
	ActivityCreateEvent         = "CreateEvent"
	ActivityDeliverWebhook      = "DeliverWebhook"

	ActivityReconcileStatement   = "ReconcileStatement"
	ActivityCheckBalances        = "CheckBalances"
	ActivityFinishReconciliation = "FinishReconciliation"
	ActivityOpenReconciliation   = "OpenReconciliation"

	ActivitySweepFlows = "SweepFlows"

	ActivityPurge       = "Purge"
	ActivityCheckLedger = "CheckLedger"
	ActivityMeasure     = "Measure"
)

// Query, signal and update names.
const (
	QueryState         = "state"
	SignalBankCallback = "bank-callback"
	UpdateApprove      = "approve"
	UpdateReject       = "reject"
	UpdateRetry        = "retry"
	UpdateCancel       = "cancel"
	// UpdateConfirm is the wallet owner's confirmation of a payment waiting for it
	// (models.ConfirmPayment; POST /v1/payments/{id}/confirm).
	UpdateConfirm = "confirm"
	// UpdateOpenQR is a wallet app's visit of a QR payment's page (models.OpenQR,
	// answered with models.OpenedQR; GET /q/{token}).
	UpdateOpenQR = "open-qr"

	// SignalMerchantDisabled wakes a withdrawal waiting for approval whose merchant
	// was disabled (the ops API's disable sends it, with no payload).
	SignalMerchantDisabled = "merchant-disabled"
)

// AllWorkflowNames lists every workflow type the worker registers.
var AllWorkflowNames = []string{WorkflowPayment, WorkflowTopup, WorkflowWithdrawal, WorkflowRefund, WorkflowWebhookDelivery,
	WorkflowReconciliation, WorkflowScheduledReconciliation, WorkflowFlowSweep, WorkflowPurge, WorkflowLedgerCheck,
	WorkflowMeasure, WorkflowVerification, WorkflowCardBinding, WorkflowCreditReport, WorkflowFundOrder,
	WorkflowYield, WorkflowScheduledYield}

// AllActivityNames lists every activity the worker registers.
var AllActivityNames = []string{
	ActivityCharge, ActivityQueryTransfer, ActivityCancelTransfer, ActivityOpenTrade, ActivityCloseTrade, ActivityRouteTransfer, ActivityFinalizePayment, ActivityFinalizeTopup,
	ActivityPayout, ActivityRefundAtBank, ActivityPlaceHold, ActivitySetWithdrawalStatus,
	ActivityFinalizeWithdrawal, ActivityFinalizeRefund, ActivityCreateEvent, ActivityDeliverWebhook,
	ActivityReconcileStatement, ActivityCheckBalances, ActivityFinishReconciliation, ActivityOpenReconciliation,
	ActivitySweepFlows, ActivityPurge, ActivityCheckLedger, ActivityMeasure,
	ActivityLookupVerification, ActivityVerifyAtBank, ActivityFinishIdentity, ActivityStartBindingAtBank,
	ActivityConfirmBindingAtBank, ActivityRemoveBindingAtBank, ActivityRecordBinding, ActivityRequestReportAtBureau,
	ActivityQueryReportAtBureau,
	ActivityPlaceFundOrder, ActivityQueryFundOrder, ActivityFinishFundOrder, ActivityPositionAccount,
	ActivityOpenYieldRun, ActivityYieldIncome, ActivityPlanYieldRanges, ActivityCreditYieldRange, ActivityFinishYieldRun,
}
