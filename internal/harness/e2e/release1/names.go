package release1

// Workflow type names. They are frozen once released: a history recorded under a name
// only replays on a worker that registers the same name.
const (
	WorkflowPayment = "PaymentWorkflow"
	WorkflowTopup   = "TopupWorkflow"
)

// Activity names. Each equals the method name of the activity it names, because
// workflows call activities through method values (type-checked) and the SDK derives
// the name from the method; worker/registry_test.go checks that they agree.
const (
	ActivityCharge          = "Charge"
	ActivityQueryTransfer   = "QueryTransfer"
	ActivityFinalizePayment = "FinalizePayment"
	ActivityFinalizeTopup   = "FinalizeTopup"
)

// Query, signal and update names.
const (
	QueryState         = "state"
	SignalBankCallback = "bank-callback"
)

// AllWorkflowNames lists every workflow type the worker registers.
var AllWorkflowNames = []string{WorkflowPayment, WorkflowTopup}

// AllActivityNames lists every activity the worker registers.
var AllActivityNames = []string{ActivityCharge, ActivityQueryTransfer, ActivityFinalizePayment, ActivityFinalizeTopup}
