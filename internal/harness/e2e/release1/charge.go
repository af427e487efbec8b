package release1

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// maxBankPoll caps the growing interval between queries of a processing transfer.
const maxBankPoll = time.Hour

// cardCharge charges a card at the bank for a flow (a payment or a top-up) and
// returns the bank's final answer: succeeded, or failed with a code. An outcome the
// bank has not decided (processing) or that is unknown (timeout) is waited for: a
// callback or a poll timer, whichever first. The card is never charged again without
// a query first (the Charge activity does it on its retries), and only a bank that
// says "never seen" is charged again, with the same reference.
type cardCharge struct {
	*tracker
	in        models.ChargeInput
	poll      time.Duration
	deadline  time.Duration
	callbacks workflow.ReceiveChannel
}

func (c *cardCharge) run(ctx workflow.Context) (models.ChargeResult, error) {
	c.setStage(ctx, models.StageCharging)
	if res, ok := c.chargeOnce(ctx); ok {
		return res, nil
	}
	return c.waitBank(ctx)
}

// chargeOnce runs the Charge activity (with its retries, each of which queries the
// bank before charging again when an earlier attempt may have acted) and settles its
// answer.
func (c *cardCharge) chargeOnce(ctx workflow.Context) (models.ChargeResult, bool) {
	c.state.Attempts++
	in := c.in
	in.Channel = c.state.Channel
	var res models.ChargeResult
	err := workflow.ExecuteActivity(bankActivityOptions(ctx), bankActs.Charge, in).Get(ctx, &res)
	return c.settled(ctx, res, err)
}

// settled turns the Charge activity's answer into a final result, or reports that the
// outcome is still open: processing at the bank, or unknown (the bank may have
// charged; never give up into "failed" while money may have moved).
func (c *cardCharge) settled(ctx workflow.Context, res models.ChargeResult, err error) (models.ChargeResult, bool) {
	if err == nil {
		c.noteChannel(ctx, res.Channel)
		return res, res.Status.Final()
	}
	c.state.LastError = err.Error()
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case string(models.FailureCardDeclined), string(models.FailureInsufficientFunds):
			return c.failed(models.FailureCode(appErr.Type())), true
		case ErrTypeBankUnavailable:
			// The last attempt proved that nothing was executed for this reference.
			return c.failed(models.FailureBankUnavailable), true
		}
	}
	c.logger.Warn("charge outcome unknown, waiting for the bank", "error", err)
	return models.ChargeResult{}, false
}

func (c *cardCharge) failed(code models.FailureCode) models.ChargeResult {
	return models.ChargeResult{Status: models.BankFailed, FailureCode: code, Channel: c.state.Channel}
}

// waitBank waits for the bank's callback or a poll timer, whichever first, querying
// the bank on each timer, until the bank decides or the deadline passes (expired).
func (c *cardCharge) waitBank(ctx workflow.Context) (models.ChargeResult, error) {
	c.setStage(ctx, models.StageWaitingBank)
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
		gotCallback := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(c.callbacks, func(ch workflow.ReceiveChannel, _ bool) {
			ch.Receive(ctx, &cb)
			gotCallback = true
		})
		sel.AddFuture(timer, func(workflow.Future) {})
		sel.Select(ctx)
		cancelTimer()

		if gotCallback {
			if cb.Reference == c.in.Reference && cb.Status.Final() {
				return models.ChargeResult{Status: cb.Status, FailureCode: cb.FailureCode, Channel: c.state.Channel}, nil
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
			return res, nil
		case res.Status == models.BankNotFound:
			// The bank never saw the charge whose outcome was unknown: only now may it
			// be sent again, with the same reference.
			if again, ok := c.chargeOnce(ctx); ok {
				return again, nil
			}
		}
		if interval *= 2; interval > maxBankPoll {
			interval = maxBankPoll
		}
	}
}

func (c *cardCharge) query(ctx workflow.Context) (models.ChargeResult, error) {
	c.state.Attempts++
	var res models.ChargeResult
	err := workflow.ExecuteActivity(bankActivityOptions(ctx), bankActs.QueryTransfer,
		models.QueryTransferInput{Reference: c.in.Reference, Channel: c.state.Channel}).Get(ctx, &res)
	return res, err
}
