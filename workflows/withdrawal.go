package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// WithdrawalWorkflow pays money out of a wallet: hold the amount first (nothing held
// when the wallet cannot cover it), wait for an operator's approval when the amount
// is over the merchant's review threshold (approve and reject are Updates; an
// approval that never comes expires), pay out at the bank (waiting for a processing
// payout's callback or a timer), then settle the hold (the balance goes down) or
// release it (available goes back up). A withdrawal whose merchant is disabled before
// its payout is sent releases the hold and ends failed merchant_disabled; once the
// payout is at the bank, it finishes as the bank decides.
func WithdrawalWorkflow(ctx workflow.Context, in models.WithdrawalInput) (models.WithdrawalResult, error) {
	return runFlow(moneyFlowContext(ctx), in, newWithdrawalFlow)
}

type withdrawalFlow struct {
	*tracker
	in     models.WithdrawalInput
	holdID string
	// awaiting is true while an operator's decision is wanted; decision is
	// "approve" or "reject" once one arrived.
	awaiting bool
	decision string
	reason   string
	// signaledDisabled is set by the merchant-disabled signal; disabled once the flow
	// stops for it (changeDisabledStops), before its payout.
	signaledDisabled bool
	disabled         bool
}

// newWithdrawalFlow validates the input, sets up the tracker and registers the
// approve and reject Updates.
func newWithdrawalFlow(ctx workflow.Context, in models.WithdrawalInput) (*withdrawalFlow, error) {
	if in.WithdrawalID == "" || in.AccountID == "" || in.Amount <= 0 || !in.Currency.Valid() || in.BankAccount == "" {
		return nil, invalidInput("invalid withdrawal input %q", in.WithdrawalID)
	}
	t, err := newTracker(ctx, models.FlowState{
		Flow: models.FlowWithdrawal, ObjectID: in.WithdrawalID, Stage: models.StageValidating,
		Status: string(models.WithdrawalProcessing), Channel: in.Channel,
	}, opsUpdates, "withdrawal_id", in.WithdrawalID, "merchant_id", in.MerchantID)
	if err != nil {
		return nil, err
	}
	w := &withdrawalFlow{tracker: t, in: in}
	// The operator's decision on a withdrawal over the review threshold.
	for _, u := range []struct{ name, decision string }{{UpdateApprove, "approve"}, {UpdateReject, "reject"}} {
		name, decision := u.name, u.decision
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, d models.Decision) (models.DecisionResult, error) {
				w.decision, w.reason = decision, d.Reason
				w.logger.Info("operator decision", "decision", decision, "operator", d.Operator)
				if decision == "approve" {
					return models.DecisionResult{Status: models.WithdrawalProcessing}, nil
				}
				return models.DecisionResult{Status: models.WithdrawalCanceled}, nil
			},
			workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, d models.Decision) error {
				// A refused update never enters the history: a second approve, or an
				// approve of a withdrawal that is not waiting for one, is told so.
				if w.decision != "" {
					return fmt.Errorf("withdrawal %s was already %sd", in.WithdrawalID, w.decision)
				}
				if w.cancelReq != nil {
					return fmt.Errorf("withdrawal %s is being canceled", in.WithdrawalID)
				}
				if !w.awaiting {
					return fmt.Errorf("withdrawal %s is not pending approval (stage %s)", in.WithdrawalID, w.state.Stage)
				}
				if decision == "reject" && d.Reason == "" {
					return fmt.Errorf("a rejection needs a reason")
				}
				return nil
			}},
		)
		if err != nil {
			return nil, fmt.Errorf("register %s update: %w", name, err)
		}
	}
	// The ops API's disable of the merchant wakes a withdrawal waiting for approval.
	disabledCh := workflow.GetSignalChannel(ctx, SignalMerchantDisabled)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for disabledCh.Receive(ctx, nil) {
			w.signaledDisabled = true
		}
	})
	return w, nil
}

func (w *withdrawalFlow) run(ctx workflow.Context) (models.WithdrawalResult, error) {
	res, err := w.move(ctx)
	// Let an Update that is being handled finish before the flow closes.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return res, err
}

// move holds, waits for an approval when one is needed, pays out and finalizes.
func (w *withdrawalFlow) move(ctx workflow.Context) (models.WithdrawalResult, error) {
	var hold models.PlaceHoldResult
	err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), holdActs.PlaceHold, models.PlaceHoldInput{
		Key: PostingKey(models.FlowWithdrawal, w.in.WithdrawalID, "hold"), AccountID: w.in.AccountID,
		MerchantID: w.in.MerchantID, Amount: w.in.Amount, Currency: w.in.Currency,
		Flow: models.FlowWithdrawal, FlowID: w.in.WithdrawalID,
	}).Get(ctx, &hold)
	if err != nil {
		return models.WithdrawalResult{}, fmt.Errorf("hold for %s: %w", w.in.WithdrawalID, err)
	}
	if hold.FailureCode != models.FailureNone {
		return w.finalize(ctx, models.WithdrawalFailed, hold.FailureCode, "")
	}
	w.holdID = hold.HoldID

	if w.in.ReviewThreshold > 0 && w.in.Amount > w.in.ReviewThreshold {
		approved, err := w.awaitApproval(ctx)
		if err != nil {
			return models.WithdrawalResult{}, err
		}
		if !approved {
			if w.disabled {
				return w.finalize(ctx, models.WithdrawalFailed, models.FailureMerchantDisabled, "")
			}
			code := models.FailureRejected
			switch {
			case w.decision == "" && w.cancelReq != nil:
				code, w.reason = models.FailureCanceled, w.cancelReq.Reason
			case w.decision == "":
				code = models.FailureExpired
				w.reason = "no operator decided before the approval expired"
			}
			return w.finalize(ctx, models.WithdrawalCanceled, code, w.reason)
		}
	}

	call := &bankCall{
		tracker: w.tracker, bankTiming: bankTiming{poll: w.in.BankPoll, deadline: w.in.BankDeadline, deadlines: w.in.BankDeadlines},
		kind: models.TransferPayout, reference: w.in.WithdrawalID, merchant: w.in.MerchantID, amount: w.in.Amount,
		currency: w.in.Currency, channel: w.in.Channel, routes: true, stage: models.StagePayingOut, owned: true,
		callbacks: workflow.GetSignalChannel(ctx, SignalBankCallback),
		send: func(ctx workflow.Context, channel string) workflow.Future {
			return workflow.ExecuteActivity(ctx, bankActs.Payout, models.PayoutInput{
				Reference: w.in.WithdrawalID, MerchantID: w.in.MerchantID, Amount: w.in.Amount,
				Currency: w.in.Currency, BankAccount: w.in.BankAccount, Channel: channel,
			})
		},
	}
	var res models.ChargeResult
	if pinsBankCalls(ctx) {
		res, err = call.run(ctx)
		if err == nil && res.Status != models.BankSucceeded && res.FailureCode == models.FailureCanceled && w.cancelReq != nil {
			// An operator's cancel that the bank confirmed: nothing left, the hold
			// goes back.
			return w.finalize(ctx, models.WithdrawalCanceled, models.FailureCanceled, w.cancelReq.Reason)
		}
	} else {
		res, err = call.legacy().run(ctx)
	}
	if err != nil {
		return models.WithdrawalResult{}, err
	}
	if res.Status != models.BankSucceeded {
		return w.finalize(ctx, models.WithdrawalFailed, res.FailureCode, "")
	}
	return w.finalize(ctx, models.WithdrawalSucceeded, models.FailureNone, "")
}

// awaitApproval records pending_approval and waits for an operator's Update, the
// approval timeout or (changeDisabledStops) the merchant's disable, whichever first.
// A disabled merchant stops the flow (w.disabled) before the wait, during it or at
// the approval.
func (w *withdrawalFlow) awaitApproval(ctx workflow.Context) (bool, error) {
	stops := stopsWhenDisabled(ctx)
	w.setStage(ctx, models.StagePendingApproval)
	w.state.Status = string(models.WithdrawalPendingApproval)
	if ok, err := w.recordStatus(ctx, models.WithdrawalPendingApproval, stops, "record pending approval"); !ok {
		return false, err
	}
	w.awaiting, w.cancelable = true, true
	timeout := w.in.ApprovalTimeout
	if timeout <= 0 {
		timeout = 72 * time.Hour
	}
	decided, err := workflow.AwaitWithTimeout(ctx, timeout, func() bool {
		return w.decision != "" || w.cancelReq != nil || stops && w.signaledDisabled
	})
	w.awaiting, w.cancelable = false, false
	if err != nil {
		return false, err
	}
	if !decided {
		w.logger.Warn("approval expired")
		return false, nil
	}
	if w.cancelReq != nil && w.decision == "" {
		return false, nil
	}
	if w.decision == "" {
		w.logger.Warn("merchant disabled while the withdrawal waited for approval")
		w.disabled = true
		return false, nil
	}
	if w.decision != "approve" {
		return false, nil
	}
	w.state.Status = string(models.WithdrawalProcessing)
	return w.recordStatus(ctx, models.WithdrawalProcessing, stops, "record approval")
}

// recordStatus records the withdrawal's status while it runs (what names the step in
// an error). With stops, the activity refuses a disabled merchant's: the flow stops
// (w.disabled) and ok is false.
func (w *withdrawalFlow) recordStatus(ctx workflow.Context, status models.WithdrawalStatus, stops bool, what string) (ok bool, err error) {
	in := models.SetWithdrawalStatusInput{WithdrawalID: w.in.WithdrawalID, Status: status}
	if stops {
		in.MerchantID = w.in.MerchantID
	}
	err = workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), withdrawalActs.SetWithdrawalStatus, in).Get(ctx, nil)
	if code, refused := postingRefused(err); stops && refused && code == models.FailureMerchantDisabled {
		w.logger.Warn("merchant disabled: the withdrawal stops before its payout", "status", status)
		w.disabled = true
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return true, nil
}

// finalize settles or releases the hold and records the status, in one transaction.
func (w *withdrawalFlow) finalize(ctx workflow.Context, status models.WithdrawalStatus, code models.FailureCode, reason string) (models.WithdrawalResult, error) {
	w.setStage(ctx, models.StagePosting)
	var res models.WithdrawalResult
	err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), withdrawalActs.FinalizeWithdrawal, models.FinalizeWithdrawalInput{
		WithdrawalID: w.in.WithdrawalID, MerchantID: w.in.MerchantID, AccountID: w.in.AccountID, HoldID: w.holdID,
		Amount: w.in.Amount, Currency: w.in.Currency, Channel: w.state.Channel, Status: status, FailureCode: code,
		Reason: reason, PostingKey: PostingKey(models.FlowWithdrawal, w.in.WithdrawalID, "settle"),
	}).Get(ctx, &res)
	if err != nil {
		return models.WithdrawalResult{}, w.finalizeFailed(err)
	}
	w.finished(ctx, w.in.MerchantID, w.in.NotifyURL, string(res.Status), res.FailureCode)
	return res, nil
}
