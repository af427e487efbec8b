package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// legacyBankCall is the bank call of flows whose history predates pinned bank calls
// (changeBankCallPinned, DefaultVersion): frozen as it ran, so that those flows replay.
// New flows run bankCall (bankcall.go), which fixes what this one gets wrong: it ends
// at the deadline while the bank may still move the money, it may resend a request
// whose outcome is unknown through the router to another channel, and its reversal
// shares the flow's cancel.
//
// legacyBankCall moves money at a bank for a flow (a charge, a payout, a refund) and
// returns the bank's final answer: succeeded, or failed with a code. An outcome the
// bank has not decided (processing) or that is unknown (timeout) is waited for: a
// callback or a poll timer, whichever first. The request is never sent again without
// a query first (the bank activities do it on their retries), and only a bank that
// says "never seen" gets it again, with the same reference.
type legacyBankCall struct {
	*tracker
	reference string
	// stage is the flow's stage while the request is sent (charging, paying_out).
	stage models.Stage
	// send runs the bank activity on the given channel, with the context's activity
	// options.
	send func(ctx workflow.Context, channel string) workflow.Future
	// compensate undoes a succeeded transfer (a charge is refunded); nil when it
	// cannot be undone (a payout, a refund), which makes the wait not cancelable.
	compensate func(ctx workflow.Context) error
	poll       time.Duration
	deadline   time.Duration
	callbacks  workflow.ReceiveChannel
}

// legacyChargeCall is the legacyBankCall of a card charge.
func legacyChargeCall(t *tracker, in models.ChargeInput, poll, deadline time.Duration, callbacks workflow.ReceiveChannel) *legacyBankCall {
	return &legacyBankCall{
		tracker: t, reference: in.Reference, stage: models.StageCharging, poll: poll, deadline: deadline, callbacks: callbacks,
		send: func(ctx workflow.Context, channel string) workflow.Future {
			in := in
			in.Channel = channel
			return workflow.ExecuteActivity(ctx, bankActs.Charge, in)
		},
		compensate: func(ctx workflow.Context) error {
			return legacyReverseCharge(ctx, t, in.Reference, in.MerchantID, in.Amount, in.Currency, poll, deadline)
		},
	}
}

func (c *legacyBankCall) run(ctx workflow.Context) (models.ChargeResult, error) {
	c.setStage(ctx, c.stage)
	if res, ok := c.sendOnce(ctx); ok {
		return res, nil
	}
	return c.waitBank(ctx)
}

// sendOnce runs the bank activity (with its retries, each of which queries the bank
// before sending again when an earlier attempt may have acted) and settles its
// answer.
func (c *legacyBankCall) sendOnce(ctx workflow.Context) (models.ChargeResult, bool) {
	c.state.Attempts++
	var res models.ChargeResult
	err := c.send(bankActivityOptions(ctx), c.state.Channel).Get(ctx, &res)
	return c.settled(ctx, res, err)
}

// settled turns the Charge activity's answer into a final result, or reports that the
// outcome is still open: processing at the bank, or unknown (the bank may have
// charged; never give up into "failed" while money may have moved).
func (c *legacyBankCall) settled(ctx workflow.Context, res models.ChargeResult, err error) (models.ChargeResult, bool) {
	if err == nil {
		c.noteChannel(ctx, res.Channel)
		return res, res.Status.Final()
	}
	c.state.LastError = err.Error()
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch {
		case appErr.Type() == models.ErrTypeBankUnavailable:
			// The last attempt proved that nothing was executed for this reference.
			return c.failed(models.FailureBankUnavailable), true
		case appErr.NonRetryable() && appErr.Type() != models.ErrTypeUnknownOutcome:
			// A business outcome at the bank, typed with its failure code.
			return c.failed(models.FailureCode(appErr.Type())), true
		}
	}
	c.logger.Warn("bank outcome unknown, waiting for the bank", "error", err)
	return models.ChargeResult{}, false
}

func (c *legacyBankCall) failed(code models.FailureCode) models.ChargeResult {
	return models.ChargeResult{Status: models.BankFailed, FailureCode: code, Channel: c.state.Channel}
}

// waitBank waits for the bank's callback or a poll timer, whichever first, querying
// the bank on each timer (or at once when an operator asks to retry), until the bank
// decides or the deadline passes (expired). An operator's cancel is carried out as
// soon as the outcome is known: a charge the bank completed is refunded, one it never
// saw is not sent again.
func (c *legacyBankCall) waitBank(ctx workflow.Context) (models.ChargeResult, error) {
	c.setStage(ctx, models.StageWaitingBank)
	c.cancelable = c.compensate != nil
	defer func() { c.cancelable = false }()
	deadline := workflow.Now(ctx).Add(c.deadline)
	interval := c.poll
	for {
		if remaining := deadline.Sub(workflow.Now(ctx)); remaining < interval {
			interval = remaining
		}
		if interval <= 0 {
			c.logger.Warn("bank did not decide before the deadline")
			return c.failed(models.FailureExpired), nil
		}
		timerCtx, cancelTimer := workflow.WithCancel(ctx)
		timer := workflow.NewTimer(timerCtx, interval)
		var cb models.BankCallback
		gotCallback, woke := false, false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(c.callbacks, func(ch workflow.ReceiveChannel, _ bool) {
			ch.Receive(ctx, &cb)
			gotCallback = true
		})
		if c.wake != nil {
			sel.AddReceive(c.wake, func(ch workflow.ReceiveChannel, _ bool) {
				var v bool
				ch.Receive(ctx, &v)
				woke = true
			})
		}
		sel.AddFuture(timer, func(workflow.Future) {})
		sel.Select(ctx)
		cancelTimer()

		if gotCallback {
			if cb.Reference == c.reference && cb.Status.Final() {
				return c.finish(ctx, models.ChargeResult{Status: cb.Status, FailureCode: cb.FailureCode, Channel: c.state.Channel})
			}
			// A stale or duplicate callback (processing after final, or twice): the
			// bank's state is what a query says, not the order callbacks arrive in.
			continue
		}
		res, err := c.query(ctx)
		switch {
		case err != nil:
			c.state.LastError = err.Error()
		case res.Status.Final():
			return c.finish(ctx, res)
		case res.Status == models.BankNotFound && c.cancelReq != nil:
			// Canceled before the bank ever saw it: nothing to undo, nothing to send.
			return c.failed(models.FailureCanceled), nil
		case res.Status == models.BankNotFound:
			// The bank never saw the request whose outcome was unknown: only now may it
			// be sent again, with the same reference.
			if again, ok := c.sendOnce(ctx); ok {
				return c.finish(ctx, again)
			}
		}
		if !woke {
			if interval *= 2; interval > maxBankPoll {
				interval = maxBankPoll
			}
		}
	}
}

// finish applies an operator's cancel to the bank's final answer: a transfer that
// succeeded is compensated and the flow ends failed with code canceled.
func (c *legacyBankCall) finish(ctx workflow.Context, res models.ChargeResult) (models.ChargeResult, error) {
	if c.cancelReq == nil || res.Status != models.BankSucceeded || c.compensate == nil {
		return res, nil
	}
	c.cancelable = false
	c.setStage(ctx, models.StageCompensating)
	if err := c.compensate(ctx); err != nil {
		return models.ChargeResult{}, fmt.Errorf("compensate canceled %s: %w", c.reference, err)
	}
	return c.failed(models.FailureCanceled), nil
}

func (c *legacyBankCall) query(ctx workflow.Context) (models.ChargeResult, error) {
	c.state.Attempts++
	var res models.ChargeResult
	err := workflow.ExecuteActivity(bankActivityOptions(ctx), bankActs.QueryTransfer,
		models.QueryTransferInput{Reference: c.reference, Channel: c.state.Channel}).Get(ctx, &res)
	return res, err
}
