package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// maxBankPoll caps the growing interval between queries of a processing transfer; a
// flow that needs attention polls at this interval.
const maxBankPoll = time.Hour

// MetricNeedsAttention counts flows that moved to stage needs_attention (tags flow,
// channel and reason), emitted through the SDK's metrics handler, which reports
// nothing while a workflow replays.
const MetricNeedsAttention = "payflow_flows_needs_attention_total"

// bankTiming is when a flow polls a bank that has not decided, and when it asks the
// bank to cancel (per channel and kind of transfer; BankDeadline otherwise).
type bankTiming struct {
	poll      time.Duration
	deadline  time.Duration
	deadlines map[string]time.Duration
	// waitStage is the stage while the flow waits for the bank's decision
	// (waiting_bank unless set: a wallet provider's trade waits for its customer,
	// waiting_customer), and onDeadline the failure code of a transfer canceled at
	// its deadline (expired unless set: customer_not_confirmed for a payment code).
	waitStage  models.Stage
	onDeadline models.FailureCode
}

// deadlineFor is the deadline of a transfer of kind at channel.
func (b bankTiming) deadlineFor(channel, kind string) time.Duration {
	if d, ok := b.deadlines[models.BankDeadlineKey(channel, kind)]; ok && d > 0 {
		return d
	}
	return b.deadline
}

// outcome is what one send taught the flow about its reference at a channel.
type outcome int

const (
	// decided: the bank's final answer (succeeded, failed, canceled).
	decided outcome = iota
	// pending: the bank accepted the request and will decide later.
	pending
	// unknown: the bank may have acted (a timeout, a reset, a retry that could not
	// prove otherwise); the flow is pinned to the channel until it answers.
	unknown
	// refused: every attempt was refused before acting: this channel did not and
	// will not execute the reference, the only outcome that lets the flow try the
	// next channel of its route.
	refused
)

// bankCall moves money at a bank for a flow (a charge, a payout, a refund, or the
// reversal of a charge) and returns the bank's final answer: succeeded, failed with a
// code, or canceled. Its rules:
//
//   - A routing channel (auto) is resolved into real channels first; the reference is
//     sent to one real channel at a time, and to the next only when the current one
//     refused it before acting. An outcome that is unknown (or processing) pins the
//     flow to that channel until the bank answers definitively.
//   - The flow waits for a definitive answer by queries: a callback only wakes it to
//     query its own channel (a callback is a hint, never the truth), and so do the
//     poll timer and an operator's retry. "Not found" is not proof while a request of
//     ours may be on its way: the reference is sent again to the same bank, which
//     deduplicates it.
//   - No flow ends while its bank may still move the money: at the deadline (per
//     channel and kind) the flow asks the bank to cancel and ends only on the bank's
//     answer (canceled, or the final state it had reached); a bank that cannot cancel
//     moves the flow to needs_attention, where it keeps what it holds and polls at the
//     longest interval, and a late success is booked as a success. A reversal is
//     never canceled: past its deadline it needs attention and goes on until the
//     bank has given the money back.
//   - An answer whose amount or currency differs from ours is not believed: the flow
//     moves to needs_attention.
//   - An operator's cancel of the flow's own transfer (owned) is carried to the bank
//     at once; a charge that succeeded anyway is compensated. A compensation's
//     reversal is not owned: it is not the flow's cancel to stop.
type bankCall struct {
	*tracker
	bankTiming
	kind      string
	reference string
	merchant  string
	amount    int64
	currency  models.Currency
	// channel is the requested channel (a real one, or auto).
	channel string
	// routes: a charge or a payout is routed when its channel is auto; a refund goes
	// where its charge went (auto, for payments booked before flows routed
	// themselves, lets the router find that channel).
	routes bool
	// stage is the flow's stage while the request is sent (charging, paying_out).
	stage models.Stage
	// send runs the bank activity on one real channel, with the context's activity
	// options (sendOnce sets them).
	send func(ctx workflow.Context, channel string) workflow.Future
	// compensate undoes a transfer that succeeded although the flow was canceled (a
	// charge is refunded); nil when it cannot be undone.
	compensate func(ctx workflow.Context) error
	// owned: the flow's own transfer, which moves the flow's channel and answers the
	// flow's cancel.
	owned     bool
	callbacks workflow.ReceiveChannel

	// at is the real channel the reference was last sent to.
	at string
	// more: channels of the route remain after at.
	more bool
	// sent: a request of the reference may be at a bank (a send answered anything
	// but a refusal before acting).
	sent bool
	// cause is why the flow asked the bank to cancel: the deadline (expired) or an
	// operator (canceled).
	cause models.FailureCode
	// attention is set once the flow needs an operator's attention.
	attention bool
	// closes: the call stops its transfer by closing it (a QR payment's trade,
	// bankActs.CloseTrade), not by canceling it (bankActs.CancelTransfer, which at
	// a wallet provider also gives back a payment already made).
	closes bool
}

// run sends the transfer and waits until the bank decides.
func (c *bankCall) run(ctx workflow.Context) (models.ChargeResult, error) {
	c.setStage(ctx, c.stage)
	route, err := c.route(ctx)
	if err != nil {
		c.state.LastError = err.Error()
		c.logger.Warn("no channel takes the transfer", "error", err)
		return c.failed(models.FailureBankUnavailable), nil
	}
	for i, ch := range route {
		c.at, c.more = ch, i < len(route)-1
		if c.owned {
			c.noteChannel(ctx, ch)
		}
		res, o := c.sendOnce(ctx)
		switch o {
		case decided:
			return c.finish(ctx, res)
		case refused:
			c.logger.Warn("channel refused before acting", "channel", ch)
			continue
		}
		c.more = false
		return c.waitBank(ctx)
	}
	return c.failed(models.FailureBankUnavailable), nil
}

// route is the real channels the transfer may go to, in order.
func (c *bankCall) route(ctx workflow.Context) ([]string, error) {
	if !c.routes || c.channel != models.ChannelAuto {
		return []string{c.channel}, nil
	}
	var res models.RouteResult
	err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), bankActs.RouteTransfer, c.channel, models.RouteInput{
		MerchantID: c.merchant, Amount: c.amount, Currency: c.currency,
	}).Get(ctx, &res)
	if err != nil {
		return nil, err
	}
	if len(res.Channels) == 0 {
		return nil, errors.New("the route has no channel")
	}
	return res.Channels, nil
}

// sendOnce runs the bank activity on the pinned channel (with its retries, each of
// which queries the bank first when an earlier attempt may have acted).
func (c *bankCall) sendOnce(ctx workflow.Context) (models.ChargeResult, outcome) {
	c.state.Attempts++
	var res models.ChargeResult
	opts := bankActivityOptions(ctx)
	if c.more {
		// Another channel of the route waits: a refusal before acting moves on at
		// once instead of retrying here (an unknown outcome still retries, querying
		// first, and pins the flow).
		opts = failoverActivityOptions(ctx)
	}
	err := c.send(opts, c.at).Get(ctx, &res)
	var refusal *temporal.ApplicationError
	if !errors.As(err, &refusal) || refusal.Type() != models.ErrTypeBankUnavailable {
		c.sent = true
	}
	if err == nil {
		if res.Channel == "" {
			res.Channel = c.at
		}
		if res.Status.Final() {
			return res, decided
		}
		return res, pending
	}
	c.state.LastError = err.Error()
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch {
		case appErr.Type() == models.ErrTypeBankUnavailable:
			return models.ChargeResult{}, refused
		case appErr.NonRetryable() && appErr.Type() != models.ErrTypeUnknownOutcome:
			// A business outcome at the bank, typed with its failure code.
			return c.failed(models.FailureCode(appErr.Type())), decided
		}
	}
	c.logger.Warn("bank outcome unknown, waiting for the bank", "channel", c.at, "error", err)
	return models.ChargeResult{}, unknown
}

// waitBank waits, pinned to the channel it sent to, until the bank decides.
func (c *bankCall) waitBank(ctx workflow.Context) (models.ChargeResult, error) {
	if !c.attention {
		c.setStage(ctx, cmp.Or(c.waitStage, models.StageWaitingBank))
	}
	if c.owned {
		c.cancelable = true
		defer func() { c.cancelable = false }()
	}
	deadline := workflow.Now(ctx).Add(c.deadlineFor(c.at, c.kind))
	interval := c.poll
	for {
		if c.owned && c.cancelReq != nil && c.cause == "" {
			c.cause = models.FailureCanceled
			if res, ok := c.cancelAtBank(ctx); ok {
				return c.finish(ctx, res)
			}
		}
		wait := interval
		if !c.attention {
			remaining := deadline.Sub(workflow.Now(ctx))
			switch {
			case remaining <= 0:
				if c.owned {
					if c.cause == "" {
						c.cause = cmp.Or(c.onDeadline, models.FailureExpired)
					}
					if res, ok := c.cancelAtBank(ctx); ok {
						return c.finish(ctx, res)
					}
				}
				// A compensation's reversal is never canceled: the customer's money
				// must go back, however long the bank takes.
				c.needsAttention(ctx, "deadline")
				interval, wait = maxBankPoll, maxBankPoll
			case remaining < wait:
				wait = remaining
			}
		}
		timedOut := c.sleep(ctx, wait)
		if c.owned && c.cancelReq != nil && c.cause == "" {
			// An operator's cancel arrived: ask the bank to cancel before anything.
			continue
		}
		res, err := c.ask(ctx, bankActs.QueryTransfer)
		switch {
		case err != nil:
			c.state.LastError = err.Error()
		case res.Status == models.BankNotFound:
			// Not proof that nothing will happen: a request of ours may still be on
			// its way. Send again, to the same bank, with the same reference.
			if again, o := c.sendOnce(ctx); o == decided {
				if c.believe(ctx, again) {
					return c.finish(ctx, again)
				}
			}
		case !c.believe(ctx, res):
		case res.Status.Final():
			return c.finish(ctx, res)
		}
		if timedOut {
			if interval *= 2; interval > maxBankPoll {
				interval = maxBankPoll
			}
		}
	}
}

// sleep waits for the bank's callback, an operator's retry or cancel, or wait,
// whichever first, and reports whether the timer fired.
func (c *bankCall) sleep(ctx workflow.Context, wait time.Duration) bool {
	timerCtx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimer(timerCtx, wait)
	timedOut := false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(c.callbacks, func(ch workflow.ReceiveChannel, _ bool) {
		var cb models.BankCallback
		ch.Receive(ctx, &cb)
		// A hint only: whatever it claims, the flow asks its own channel.
		c.logger.Info("bank callback, querying the bank", "callback_channel", cb.Channel,
			"callback_reference", cb.Reference, "claimed_status", cb.Status, "event_id", cb.EventID)
	})
	if c.wake != nil {
		sel.AddReceive(c.wake, func(ch workflow.ReceiveChannel, _ bool) {
			var v bool
			ch.Receive(ctx, &v)
		})
	}
	sel.AddFuture(timer, func(workflow.Future) { timedOut = true })
	sel.Select(ctx)
	return timedOut
}

// believe reports whether an answer of the bank can be acted on: an answer that
// names another amount or currency than ours moves the flow to needs_attention.
// Answers that carry neither (older activity results) are taken as they are.
func (c *bankCall) believe(ctx workflow.Context, res models.ChargeResult) bool {
	if res.Amount == 0 && res.Currency == "" {
		return true
	}
	if res.Amount == c.amount && res.Currency == c.currency {
		return true
	}
	c.state.LastError = fmt.Sprintf("the bank answered %d %s for %s, which is %d %s",
		res.Amount, res.Currency, c.reference, c.amount, c.currency)
	c.logger.Error("bank answer does not match the transfer", "answer_amount", res.Amount,
		"answer_currency", res.Currency, "amount", c.amount, "currency", c.currency)
	c.needsAttention(ctx, "mismatch")
	return false
}

// needsAttention moves the flow to needs_attention (once) and counts it.
func (c *bankCall) needsAttention(ctx workflow.Context, reason string) {
	if c.attention {
		return
	}
	c.attention = true
	c.setStage(ctx, models.StageNeedsAttention)
	c.logger.Error("flow needs attention: the bank may still move the money", "reason", reason, "channel", c.at,
		"reference", c.reference)
	workflow.GetMetricsHandler(ctx).WithTags(map[string]string{
		"flow": string(c.state.Flow), "channel": c.at, "reason": reason,
	}).Counter(MetricNeedsAttention).Inc(1)
}

// cancelAtBank asks the pinned channel to stop the transfer for good. ok is true
// with the bank's definitive answer (canceled, or the final state it had reached);
// false when the bank cannot cancel or did not answer (it may still move the money).
func (c *bankCall) cancelAtBank(ctx workflow.Context) (models.ChargeResult, bool) {
	var stop any = bankActs.CancelTransfer
	if c.closes {
		stop = bankActs.CloseTrade
	}
	res, err := c.ask(ctx, stop)
	if err != nil {
		c.state.LastError = err.Error()
		c.logger.Warn("the bank did not cancel", "error", err)
		return models.ChargeResult{}, false
	}
	if !res.Status.Final() || !c.believe(ctx, res) {
		return models.ChargeResult{}, false
	}
	return res, true
}

// finish turns the bank's definitive answer into the call's result: a canceled
// transfer fails with the cause of the cancel, and a charge that succeeded although
// an operator canceled the flow is compensated.
func (c *bankCall) finish(ctx workflow.Context, res models.ChargeResult) (models.ChargeResult, error) {
	if res.Channel == "" {
		res.Channel = c.at
	}
	switch res.Status {
	case models.BankCanceled:
		code := c.cause
		if code == "" {
			code = models.FailureCanceled
		}
		return c.failed(code), nil
	case models.BankSucceeded:
		if !c.owned || c.cancelReq == nil {
			return res, nil
		}
		if c.compensate == nil {
			// A payout or refund the bank executed before the cancel reached it: it
			// cannot be undone here, so it stands.
			c.logger.Warn("the bank executed the transfer before the cancel reached it")
			return res, nil
		}
		c.cancelable = false
		c.setStage(ctx, models.StageCompensating)
		if err := c.compensate(ctx); err != nil {
			return models.ChargeResult{}, fmt.Errorf("compensate canceled %s: %w", c.reference, err)
		}
		return c.failed(models.FailureCanceled), nil
	}
	return res, nil
}

func (c *bankCall) failed(code models.FailureCode) models.ChargeResult {
	return models.ChargeResult{Status: models.BankFailed, FailureCode: code, Channel: c.at}
}

// ask runs a bank activity about the reference at the pinned channel (a query, a
// cancel), which counts as an attempt.
func (c *bankCall) ask(ctx workflow.Context, activity any) (models.ChargeResult, error) {
	c.state.Attempts++
	var res models.ChargeResult
	err := workflow.ExecuteActivity(bankActivityOptions(ctx), activity,
		models.QueryTransferInput{Reference: c.reference, Channel: c.at}).Get(ctx, &res)
	return res, err
}

// chargeCall is the bankCall of a card charge (a payment's or a top-up's), whose
// compensation is its reversal.
func chargeCall(t *tracker, timing bankTiming, in models.ChargeInput, callbacks workflow.ReceiveChannel) *bankCall {
	c := &bankCall{
		tracker: t, bankTiming: timing, kind: models.TransferCharge, reference: in.Reference, merchant: in.MerchantID,
		amount: in.Amount, currency: in.Currency, channel: in.Channel, routes: true, stage: models.StageCharging,
		owned: true, callbacks: callbacks,
	}
	c.send = func(ctx workflow.Context, channel string) workflow.Future {
		in := in
		in.Channel = channel
		// Only a send that nothing of the reference can have preceded at a bank lets
		// the activity stop a disabled merchant's charge before it leaves.
		in.FirstSend = !c.sent && stopsUnsentCharge(ctx)
		return workflow.ExecuteActivity(ctx, bankActs.Charge, in)
	}
	c.compensate = func(ctx workflow.Context) error {
		return reverseCharge(ctx, t, timing, in.Reference, in.MerchantID, c.at, in.Amount, in.Currency, callbacks)
	}
	return c
}

// reverseCharge refunds the whole of a charge at the channel that took it (the
// compensation of a charge whose money cannot be kept), under the reference
// models.ReversalReference. It is its own bank call: the flow's cancel does not stop
// it, and it ends only when the bank has refunded (a reversal the bank refuses is an
// error an operator must see).
func reverseCharge(ctx workflow.Context, t *tracker, timing bankTiming, chargeRef, merchantID, channel string,
	amount int64, currency models.Currency, callbacks workflow.ReceiveChannel) error {
	ref := models.ReversalReference(chargeRef)
	// A reversal waits for the bank, never for a customer.
	timing.waitStage, timing.onDeadline = "", ""
	call := &bankCall{
		tracker: t, bankTiming: timing, kind: models.TransferRefund, reference: ref, merchant: merchantID, amount: amount,
		currency: currency, channel: channel, stage: models.StageCompensating, callbacks: callbacks,
		send: refundAtBank(models.RefundAtBankInput{
			Reference: ref, ChargeReference: chargeRef, MerchantID: merchantID, Amount: amount, Currency: currency,
		}),
	}
	return reversal(ctx, call, ref, "did not succeed")
}

// refundAtBank is the send of a refund at the bank (a flow's refund, or a charge's
// reversal): in, on the channel it is sent to.
func refundAtBank(in models.RefundAtBankInput) func(ctx workflow.Context, channel string) workflow.Future {
	return func(ctx workflow.Context, channel string) workflow.Future {
		in := in
		in.Channel = channel
		return workflow.ExecuteActivity(ctx, bankActs.RefundAtBank, in)
	}
}

// legacy is the frozen legacyBankCall of a flow's own transfer out (a payout, a
// refund) in flows that predate pinned bank calls: c's reference, stage, timing,
// callbacks and send.
func (c *bankCall) legacy() *legacyBankCall {
	return &legacyBankCall{
		tracker: c.tracker, reference: c.reference, stage: c.stage,
		poll: c.poll, deadline: c.deadline, callbacks: c.callbacks, send: c.send,
	}
}
