// Package starter holds payflow's application services and is the only code that
// starts, signals, updates and queries payflow's flows. The Starter (this file) owns
// workflow ids, the task queue, start options and search attributes; the services
// (service.go, then one file per flow family) own an object's creation with its
// Idempotency-Key, the start of its flow and the answer, so that the API, the ops
// tools and the tests never hold a transaction or call the Temporal client directly.
package starter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// ErrFlowNotFound reports a flow Temporal does not know.
var ErrFlowNotFound = errors.New("flow not found")

// ErrFlowRunning reports that a flow with the id a start asked for is running.
var ErrFlowRunning = errors.New("flow already running")

// Config holds what a start needs from configuration.
type Config struct {
	TaskQueue string
	// Bank is the bank timing a flow input that sets none gets.
	Bank            models.BankTiming
	ApprovalTimeout time.Duration
	// CodeConfirmTimeout is how long a payment that needs its customer's
	// confirmation waits for it (models.DefaultCodeConfirmTimeout when 0).
	CodeConfirmTimeout time.Duration
}

// Starter starts and talks to flows.
type Starter struct {
	client client.Client
	cfg    Config
}

// New returns a Starter on a connected client.
func New(c client.Client, cfg Config) *Starter {
	if cfg.TaskQueue == "" {
		cfg.TaskQueue = workflows.TaskQueue
	}
	return &Starter{client: c, cfg: cfg}
}

// Client exposes the Temporal client for health checks.
func (s *Starter) Client() client.Client { return s.client }

// startOptions are the options of a start of the workflow id on the task queue:
// reuse says whether a start may follow a closed run of the id, conflict what it
// does while one runs.
func (s *Starter) startOptions(id string, reuse enumspb.WorkflowIdReusePolicy, conflict enumspb.WorkflowIdConflictPolicy,
	sa temporal.SearchAttributes) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID: id, TaskQueue: s.cfg.TaskQueue, WorkflowIDReusePolicy: reuse, WorkflowIDConflictPolicy: conflict, TypedSearchAttributes: sa,
	}
}

// moneyFlow is what starting one money flow takes: its id, its workflow and input,
// and the search attributes operators filter it by.
type moneyFlow struct {
	id       string
	workflow any
	input    any
	flow     models.Flow
	stage    models.Stage
	merchant string
	channel  string
	currency models.Currency
	amount   int64
}

// start starts a money flow, or finds it running or finished: the call is
// idempotent, so that a repeated API request (or one that lost its answer) makes sure
// the flow runs without ever running it twice.
func (s *Starter) start(ctx context.Context, f moneyFlow) error {
	sa := temporal.NewSearchAttributes(
		workflows.SAMerchant.ValueSet(f.merchant),
		workflows.SAFlow.ValueSet(string(f.flow)),
		workflows.SAStage.ValueSet(string(f.stage)),
		workflows.SAChannel.ValueSet(f.channel),
		workflows.SACurrency.ValueSet(string(f.currency)),
		workflows.SAAmount.ValueSet(f.amount),
	)
	// A readable id from the business key, reject-duplicate reuse (an id never runs
	// twice, even after it closed), and use-existing on conflict (a repeated request
	// gets the running flow).
	opts := s.startOptions(f.id, enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING, sa)
	_, err := s.client.ExecuteWorkflow(ctx, opts, f.workflow, f.input)
	return startErr(f.id, err)
}

// StartPayment starts the payment's workflow, or finds it (see start), with the bank
// polling settings from configuration.
func (s *Starter) StartPayment(ctx context.Context, in models.PaymentInput) error {
	in.BankTiming = in.BankTiming.Or(s.cfg.Bank)
	if (in.ConfirmationRequired || in.Source.Type == models.SourcePaymentCode) && in.ConfirmWithin == 0 {
		in.ConfirmWithin = cmp.Or(s.cfg.CodeConfirmTimeout, models.DefaultCodeConfirmTimeout)
	}
	return s.start(ctx, moneyFlow{
		id: workflows.PaymentWorkflowID(in.MerchantID, in.PaymentID), workflow: workflows.PaymentWorkflow, input: in,
		flow: models.FlowPayment, stage: workflows.PaymentStageAtStart(in),
		merchant: in.MerchantID, channel: in.Channel, currency: in.Currency, amount: in.Amount,
	})
}

// StartTopup starts the top-up's workflow, or finds it.
func (s *Starter) StartTopup(ctx context.Context, in models.TopupInput) error {
	in.BankTiming = in.BankTiming.Or(s.cfg.Bank)
	return s.start(ctx, moneyFlow{
		id: workflows.TopupWorkflowID(in.MerchantID, in.TopupID), workflow: workflows.TopupWorkflow, input: in,
		flow: models.FlowTopup, stage: models.StageCharging,
		merchant: in.MerchantID, channel: in.Channel, currency: in.Currency, amount: in.Amount,
	})
}

// StartWithdrawal starts the withdrawal's workflow, or finds it; the approval
// timeout comes from configuration too.
func (s *Starter) StartWithdrawal(ctx context.Context, in models.WithdrawalInput) error {
	in.BankTiming = in.BankTiming.Or(s.cfg.Bank)
	if in.ApprovalTimeout == 0 {
		in.ApprovalTimeout = s.cfg.ApprovalTimeout
	}
	return s.start(ctx, moneyFlow{
		id: workflows.WithdrawalWorkflowID(in.MerchantID, in.WithdrawalID), workflow: workflows.WithdrawalWorkflow, input: in,
		flow: models.FlowWithdrawal, stage: models.StageValidating,
		merchant: in.MerchantID, channel: in.Channel, currency: in.Currency, amount: in.Amount,
	})
}

// StartRefund starts the refund's workflow, or finds it.
func (s *Starter) StartRefund(ctx context.Context, in models.RefundInput) error {
	in.BankTiming = in.BankTiming.Or(s.cfg.Bank)
	return s.start(ctx, moneyFlow{
		id: workflows.RefundWorkflowID(in.MerchantID, in.RefundID), workflow: workflows.RefundWorkflow, input: in,
		flow: models.FlowRefund, stage: models.StageValidating,
		merchant: in.MerchantID, channel: in.Channel, currency: in.Currency, amount: in.Amount,
	})
}

// closingWait bounds how long a new reconciliation run waits for the previous run of
// its day to close: that run recorded its end just before closing, so this is
// milliseconds, unless Temporal is slow.
const closingWait = 15 * time.Second

// StartReconciliation starts the workflow of a reconciliation run,
// reconciliation/<channel>/<date>, with the run's id as input.
//
// fresh says the run was just created: no workflow run of it can exist, and the
// workflow id's current run, if any, belongs to the previous run of the day, which has
// recorded its end and is closing; the start waits for it to close rather than being
// mistaken for it. Otherwise the call is idempotent: a run already going is left
// alone, and a run whose workflow never started (or was terminated) starts now.
func (s *Starter) StartReconciliation(ctx context.Context, in models.ReconciliationInput, fresh bool) error {
	id := workflows.ReconciliationWorkflowID(in.Channel, in.Date)
	// A day is reconciled again by a new run of the same workflow id.
	opts := s.startOptions(id, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		temporal.NewSearchAttributes(
			workflows.SAFlow.ValueSet(string(models.FlowReconciliation)),
			workflows.SAChannel.ValueSet(in.Channel),
			workflows.SAStage.ValueSet(string(workflows.ReconciliationStageAtStart)),
		))
	if !fresh {
		_, err := s.client.ExecuteWorkflow(ctx, opts, workflows.ReconciliationWorkflow, in)
		if err != nil {
			return fmt.Errorf("start %s: %w", id, err)
		}
		return nil
	}
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL
	deadline := time.Now().Add(closingWait)
	for {
		_, err := s.client.ExecuteWorkflow(ctx, opts, workflows.ReconciliationWorkflow, in)
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if err == nil || !(errors.As(err, &started) || temporal.IsWorkflowExecutionAlreadyStartedError(err)) || time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("start %s: %w", id, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("start %s: %w", id, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// AwaitFlow waits until the flow workflowID has closed (however it ended) and
// reports true, or until ctx ends and reports false. It long-polls Temporal for the
// flow's close event (following continue-as-new), so that a waiting request costs one
// pending call, not a polling loop.
func (s *Starter) AwaitFlow(ctx context.Context, workflowID string) (bool, error) {
	err := s.client.GetWorkflow(ctx, workflowID, "").Get(ctx, nil)
	if ctx.Err() != nil {
		return false, nil
	}
	if err == nil {
		return true, nil
	}
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return false, fmt.Errorf("await %s: %w", workflowID, ErrFlowNotFound)
	}
	var deadline *serviceerror.DeadlineExceeded
	if errors.As(err, &deadline) {
		return false, nil
	}
	var wfErr *temporal.WorkflowExecutionError
	if errors.As(err, &wfErr) {
		// Closed by failing, timing out or being terminated: closed all the same.
		return true, nil
	}
	return false, fmt.Errorf("await %s: %w", workflowID, err)
}

func startErr(id string, err error) error {
	if err == nil {
		return nil
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) || temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		// It ran before and closed (reject-duplicate): the flow exists, nothing to do.
		return nil
	}
	return fmt.Errorf("start %s: %w", id, err)
}

// SignalBankCallback delivers a bank's callback to the flow waiting on it.
func (s *Starter) SignalBankCallback(ctx context.Context, workflowID string, cb models.BankCallback) error {
	return s.signal(ctx, workflowID, workflows.SignalBankCallback, cb)
}

// SignalBureauCallback tells a credit report's flow that the bureau has answered
// (the flow then queries it); ErrFlowNotFound when it has ended.
func (s *Starter) SignalBureauCallback(ctx context.Context, merchantID, reportID string) error {
	return s.signal(ctx, workflows.FlowWorkflowID(models.FlowCreditReport, merchantID, reportID), workflows.SignalBureauCallback, nil)
}

// SignalMerchantDisabled tells a flow that its merchant was disabled (a withdrawal
// waiting for approval then stops); ErrFlowNotFound when it has ended.
func (s *Starter) SignalMerchantDisabled(ctx context.Context, workflowID string) error {
	return s.signal(ctx, workflowID, workflows.SignalMerchantDisabled, nil)
}

// signal sends the signal name with arg to a running flow; ErrFlowNotFound.
func (s *Starter) signal(ctx context.Context, workflowID, name string, arg any) error {
	err := s.client.SignalWorkflow(ctx, workflowID, "", name, arg)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("signal %s: %w", workflowID, ErrFlowNotFound)
	}
	if err != nil {
		return fmt.Errorf("signal %s: %w", workflowID, err)
	}
	return nil
}

// State queries a flow's state.
func (s *Starter) State(ctx context.Context, workflowID string) (models.FlowState, error) {
	v, err := s.client.QueryWorkflow(ctx, workflowID, "", workflows.QueryState)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return models.FlowState{}, fmt.Errorf("query %s: %w", workflowID, ErrFlowNotFound)
		}
		return models.FlowState{}, fmt.Errorf("query %s: %w", workflowID, err)
	}
	var st models.FlowState
	if err := v.Get(&st); err != nil {
		return models.FlowState{}, fmt.Errorf("decode state of %s: %w", workflowID, err)
	}
	return st, nil
}

// CheckHealth reports whether Temporal answers.
func (s *Starter) CheckHealth(ctx context.Context) error {
	_, err := s.client.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// ErrUpdateRejected reports an Update the workflow's validator refused (a second
// approve, an approve of a withdrawal not waiting for one); its message says why.
var ErrUpdateRejected = errors.New("refused by the flow")

// DecideWithdrawal sends an operator's approve or reject to a withdrawal as an
// Update and waits for the flow's answer, so that the operator learns at once
// whether the act was accepted.
func (s *Starter) DecideWithdrawal(ctx context.Context, workflowID string, approve bool, d models.Decision) (models.DecisionResult, error) {
	name := workflows.UpdateReject
	if approve {
		name = workflows.UpdateApprove
	}
	var res models.DecisionResult
	if err := s.update(ctx, workflowID, name, d, &res); err != nil {
		return models.DecisionResult{}, err
	}
	return res, nil
}

// ConfirmPayment sends the wallet owner's confirmation to a payment's flow and
// waits until the flow accepted it.
func (s *Starter) ConfirmPayment(ctx context.Context, workflowID string, c models.ConfirmPayment) error {
	return s.update(ctx, workflowID, workflows.UpdateConfirm, c, nil)
}

// OpenQR sends a wallet app's visit to a QR payment's flow and waits for its answer
// (the trade's checkout page).
func (s *Starter) OpenQR(ctx context.Context, workflowID string, o models.OpenQR) (models.OpenedQR, error) {
	var res models.OpenedQR
	if err := s.update(ctx, workflowID, workflows.UpdateOpenQR, o, &res); err != nil {
		return models.OpenedQR{}, err
	}
	return res, nil
}

// RetryFlow asks a flow waiting on the bank to query it now (an Update, answered
// with the flow's state once the flow accepted it).
func (s *Starter) RetryFlow(ctx context.Context, workflowID string, d models.Decision) (models.FlowState, error) {
	return s.opsUpdate(ctx, workflowID, workflows.UpdateRetry, d)
}

// CancelFlow asks a flow to compensate what it did and end.
func (s *Starter) CancelFlow(ctx context.Context, workflowID string, d models.Decision) (models.FlowState, error) {
	return s.opsUpdate(ctx, workflowID, workflows.UpdateCancel, d)
}

func (s *Starter) opsUpdate(ctx context.Context, workflowID, name string, d models.Decision) (models.FlowState, error) {
	var st models.FlowState
	if err := s.update(ctx, workflowID, name, d, &st); err != nil {
		return models.FlowState{}, err
	}
	return st, nil
}

// update sends the Update name with arg to a flow, waits until the flow completed
// it, and reads its result into out (nil: none); updateErr's errors.
func (s *Starter) update(ctx context.Context, workflowID, name string, arg, out any) error {
	h, err := s.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateName: name, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return updateErr(workflowID, err)
	}
	if err := h.Get(ctx, out); err != nil {
		return updateErr(workflowID, err)
	}
	return nil
}

func updateErr(workflowID string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("update %s: %w", workflowID, ErrFlowNotFound)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return fmt.Errorf("%w: %s", ErrUpdateRejected, appErr.Message())
	}
	return fmt.Errorf("update %s: %w", workflowID, err)
}

// RedeliverEvent starts a stored event's delivery again: a new run of
// webhook/<merchant>/<evt_id> (the id the flow that stored the event used). A closed
// delivery may run again any number of times, but one event never has two deliveries
// at once: while one runs, RedeliverEvent returns ErrFlowRunning.
func (s *Starter) RedeliverEvent(ctx context.Context, in models.WebhookDeliveryInput) error {
	id := workflows.WebhookWorkflowID(in.MerchantID, in.EventID)
	opts := s.startOptions(id, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		workflows.WebhookSearchAttributes(in.MerchantID))
	// Without it the client answers a running delivery with that run, as if this call
	// had started it.
	opts.WorkflowExecutionErrorWhenAlreadyStarted = true
	_, err := s.client.ExecuteWorkflow(ctx, opts, workflows.WebhookDeliveryWorkflow, in)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return fmt.Errorf("redeliver %s: %w", id, ErrFlowRunning)
	}
	if err != nil {
		return fmt.Errorf("redeliver %s: %w", id, err)
	}
	return nil
}

// IdentityStart is what starting an identity flow takes.
type IdentityStart struct {
	Flow       models.Flow
	MerchantID string
	ObjectID   string
	Currency   models.Currency
	Fee        int64
	Input      any
}

// identityWorkflows are the identity flows' workflows by flow.
var identityWorkflows = map[models.Flow]any{
	models.FlowVerification: workflows.VerificationWorkflow,
	models.FlowCardBinding:  workflows.CardBindingWorkflow,
	models.FlowCreditReport: workflows.CreditReportWorkflow,
}

// StartIdentity starts an identity flow, or finds it (see start). Its search
// attributes name the merchant, the flow and its fee, never a person.
func (s *Starter) StartIdentity(ctx context.Context, f IdentityStart) error {
	c := f.Currency
	if c == "" {
		c = "CNY"
	}
	return s.start(ctx, moneyFlow{
		id: workflows.FlowWorkflowID(f.Flow, f.MerchantID, f.ObjectID), workflow: identityWorkflows[f.Flow], input: f.Input,
		flow: f.Flow, stage: models.StageValidating, merchant: f.MerchantID, channel: "banksim", currency: c, amount: f.Fee,
	})
}

// ConfirmCard sends a customer's one-time code to a card's binding flow and waits
// for its answer.
func (s *Starter) ConfirmCard(ctx context.Context, workflowID string, c models.ConfirmCard) (models.ConfirmCardResult, error) {
	var res models.ConfirmCardResult
	if err := s.update(ctx, workflowID, workflows.UpdateConfirmCard, c, &res); err != nil {
		return models.ConfirmCardResult{}, err
	}
	return res, nil
}

// SignalRemoveCard tells a card's binding flow that the card was removed.
func (s *Starter) SignalRemoveCard(ctx context.Context, workflowID string) error {
	return s.signal(ctx, workflowID, workflows.SignalRemoveCard, nil)
}

// StartFundOrder starts a subscription's or a redemption's flow, or finds it (see
// start).
func (s *Starter) StartFundOrder(ctx context.Context, in models.FundOrderInput) error {
	amount := in.Amount
	if in.Kind == models.FundRedemption {
		amount = in.Shares
	}
	flow := in.Kind.Flow()
	return s.start(ctx, moneyFlow{
		id: workflows.FlowWorkflowID(flow, in.MerchantID, in.OrderID), workflow: workflows.FundOrderWorkflow, input: in,
		flow: flow, stage: models.StageValidating, merchant: in.MerchantID, channel: "fund", currency: in.Currency, amount: amount,
	})
}

// SignalFundOrder tells an order's flow that the fund company called back about it.
func (s *Starter) SignalFundOrder(ctx context.Context, workflowID string) error {
	return s.signal(ctx, workflowID, workflows.SignalFundCallback, nil)
}
