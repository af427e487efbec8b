package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/models"
)

// Activity receivers: nil pointers whose method values name the activities. The
// worker registers the real ones under the same names.
var (
	bankActs    *activities.Bank
	paymentActs *activities.Payments
)

// maxBankPoll caps the growing interval between queries of a processing transfer.
const maxBankPoll = time.Hour

// PaymentWorkflow moves one payment: charge the card at the bank (or, later, debit a
// wallet), wait for the bank when it answers processing, post the ledger and record
// the outcome. It always completes with a PaymentResult; a failed payment is a
// business outcome, not a failed workflow.
func PaymentWorkflow(ctx workflow.Context, in models.PaymentInput) (models.PaymentResult, error) {
	p, err := newPaymentFlow(ctx, in)
	if err != nil {
		return models.PaymentResult{}, err
	}
	return p.run(ctx)
}

type paymentFlow struct {
	in        models.PaymentInput
	state     models.FlowState
	logger    log.Logger
	callbacks workflow.ReceiveChannel
}

// newPaymentFlow validates the input, binds a logger with the ids and registers the
// query and signal handlers before anything can block.
func newPaymentFlow(ctx workflow.Context, in models.PaymentInput) (*paymentFlow, error) {
	if in.PaymentID == "" || in.MerchantID == "" || in.Amount <= 0 || !in.Currency.Valid() {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("invalid payment input %q", in.PaymentID), "invalid_input", nil)
	}
	p := &paymentFlow{
		in: in,
		state: models.FlowState{
			Flow:     models.FlowPayment,
			ObjectID: in.PaymentID,
			Stage:    StageAtStart(models.FlowPayment, in.Source.Type),
			Status:   string(models.PaymentProcessing),
			Channel:  in.Channel,
		},
		logger:    log.With(workflow.GetLogger(ctx), "payment_id", in.PaymentID, "merchant_id", in.MerchantID),
		callbacks: workflow.GetSignalChannel(ctx, SignalBankCallback),
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (models.FlowState, error) {
		return p.state, nil
	}); err != nil {
		return nil, fmt.Errorf("register state query: %w", err)
	}
	return p, nil
}

// StageAtStart is the stage a flow is created in; the starter sets it as the initial
// PayflowStage so that the workflow need not upsert it.
func StageAtStart(flow models.Flow, source models.SourceType) models.Stage {
	if flow == models.FlowPayment && source == models.SourceAccount {
		return models.StagePosting
	}
	return models.StageCharging
}

func (p *paymentFlow) run(ctx workflow.Context) (models.PaymentResult, error) {
	charge, err := p.charge(ctx)
	if err != nil {
		return models.PaymentResult{}, err
	}
	status, code := models.PaymentSucceeded, models.FailureNone
	if charge.Status != models.BankSucceeded {
		status, code = models.PaymentFailed, charge.FailureCode
		if code == models.FailureNone {
			code = models.FailureCardDeclined
		}
	}
	return p.finalize(ctx, status, code)
}

// charge asks the bank and returns a final answer: succeeded, or failed with a code.
// An outcome the bank has not decided (processing) or that is unknown (timeout) is
// waited for; the payment is never charged again without a query first, which the
// Charge activity does on its retries.
func (p *paymentFlow) charge(ctx workflow.Context) (models.ChargeResult, error) {
	p.setStage(ctx, models.StageCharging)
	if res, ok := p.chargeOnce(ctx); ok {
		return res, nil
	}
	return p.waitBank(ctx)
}

// settled turns the Charge activity's answer into a final result, or reports that the
// outcome is still open: processing at the bank, or unknown (the bank may have
// charged; never give up into "failed" while money may have moved).
func (p *paymentFlow) settled(ctx workflow.Context, res models.ChargeResult, err error) (models.ChargeResult, bool) {
	if err == nil {
		p.noteChannel(ctx, res.Channel)
		return res, res.Status.Final()
	}
	p.state.LastError = err.Error()
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case string(models.FailureCardDeclined), string(models.FailureInsufficientFunds):
			return models.ChargeResult{Status: models.BankFailed, FailureCode: models.FailureCode(appErr.Type()), Channel: p.in.Channel}, true
		case ErrTypeBankUnavailable:
			// The last attempt proved that nothing was executed for this reference.
			return models.ChargeResult{Status: models.BankFailed, FailureCode: models.FailureBankUnavailable, Channel: p.in.Channel}, true
		}
	}
	p.logger.Warn("charge outcome unknown, waiting for the bank", "error", err)
	return models.ChargeResult{}, false
}

// waitBank waits for the bank's callback or a poll timer, whichever first, querying
// the bank on each timer, until the bank decides or the deadline passes (expired).
func (p *paymentFlow) waitBank(ctx workflow.Context) (models.ChargeResult, error) {
	p.setStage(ctx, models.StageWaitingBank)
	deadline := workflow.Now(ctx).Add(p.in.BankDeadline)
	interval := p.in.BankPoll
	for {
		if remaining := deadline.Sub(workflow.Now(ctx)); remaining < interval {
			interval = remaining
		}
		if interval <= 0 {
			p.logger.Warn("bank did not decide before the deadline")
			return models.ChargeResult{Status: models.BankFailed, FailureCode: models.FailureExpired, Channel: p.in.Channel}, nil
		}
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		timer := workflow.NewTimer(timerCtx, interval)
		var cb models.BankCallback
		gotCallback := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(p.callbacks, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, &cb)
			gotCallback = true
		})
		sel.AddFuture(timer, func(workflow.Future) {})
		sel.Select(ctx)
		cancelTimer()

		if gotCallback {
			if cb.Reference == p.in.PaymentID && cb.Status.Final() {
				return models.ChargeResult{Status: cb.Status, FailureCode: cb.FailureCode, Channel: p.in.Channel}, nil
			}
			// A stale or duplicate callback (processing after final, or twice): the
			// bank's state is what a query says, not the order callbacks arrive in.
			continue
		}
		res, err := p.query(ctx)
		switch {
		case err != nil:
			p.state.LastError = err.Error()
		case res.Status.Final():
			return res, nil
		case res.Status == models.BankNotFound:
			// The bank never saw the charge whose outcome was unknown: only now may it
			// be sent again, with the same reference.
			if again, ok := p.chargeOnce(ctx); ok {
				return again, nil
			}
		}
		if interval *= 2; interval > maxBankPoll {
			interval = maxBankPoll
		}
	}
}

// chargeOnce runs the Charge activity (with its retries, each of which queries the
// bank before charging again when an earlier attempt may have acted) and settles its
// answer.
func (p *paymentFlow) chargeOnce(ctx workflow.Context) (models.ChargeResult, bool) {
	p.state.Attempts++
	in := models.ChargeInput{
		Reference:  p.in.PaymentID,
		MerchantID: p.in.MerchantID,
		Amount:     p.in.Amount,
		Currency:   p.in.Currency,
		Token:      p.in.Source.Token,
		Channel:    p.in.Channel,
	}
	var res models.ChargeResult
	err := workflow.ExecuteActivity(bankActivityOptions(ctx), bankActs.Charge, in).Get(ctx, &res)
	return p.settled(ctx, res, err)
}

func (p *paymentFlow) query(ctx workflow.Context) (models.ChargeResult, error) {
	p.state.Attempts++
	var res models.ChargeResult
	err := workflow.ExecuteActivity(bankActivityOptions(ctx), bankActs.QueryTransfer,
		models.QueryTransferInput{Reference: p.in.PaymentID, Channel: p.in.Channel}).Get(ctx, &res)
	return res, err
}

// finalize records the outcome: for a success the balanced journal and the status in
// one transaction; for a failure the status and code.
func (p *paymentFlow) finalize(ctx workflow.Context, status models.PaymentStatus, code models.FailureCode) (models.PaymentResult, error) {
	p.setStage(ctx, models.StagePosting)
	in := models.FinalizePaymentInput{
		PaymentID:   p.in.PaymentID,
		MerchantID:  p.in.MerchantID,
		Amount:      p.in.Amount,
		Currency:    p.in.Currency,
		Channel:     p.in.Channel,
		Source:      p.in.Source,
		Status:      status,
		FailureCode: code,
		PostingKey:  PostingKey(models.FlowPayment, p.in.PaymentID, "capture"),
	}
	var res models.FinalizePaymentResult
	if err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), paymentActs.FinalizePayment, in).Get(ctx, &res); err != nil {
		p.state.LastError = err.Error()
		return models.PaymentResult{}, fmt.Errorf("finalize payment %s: %w", p.in.PaymentID, err)
	}
	p.state.Status = string(res.Status)
	p.state.FailureCode = code
	p.setStage(ctx, models.StageDone)
	p.logger.Info("payment finished", "status", res.Status, "failure_code", code)
	return models.PaymentResult{Status: res.Status, FailureCode: code, Channel: p.in.Channel, JournalID: res.JournalID}, nil
}

// setStage moves the flow to stage and upserts PayflowStage, only when it changes:
// each upsert is an event in the history.
func (p *paymentFlow) setStage(ctx workflow.Context, stage models.Stage) {
	if p.state.Stage == stage {
		return
	}
	p.state.Stage = stage
	p.state.Attempts = 0
	if err := workflow.UpsertTypedSearchAttributes(ctx, SAStage.ValueSet(string(stage))); err != nil {
		p.logger.Warn("upsert stage", "error", err)
	}
}

// noteChannel records the channel that took the payment (auto routing picks one).
func (p *paymentFlow) noteChannel(ctx workflow.Context, channel string) {
	if channel == "" || channel == p.in.Channel {
		return
	}
	p.in.Channel = channel
	p.state.Channel = channel
	if err := workflow.UpsertTypedSearchAttributes(ctx, SAChannel.ValueSet(channel)); err != nil {
		p.logger.Warn("upsert channel", "error", err)
	}
}
