package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/models"
)

// The fund marketplace's orders: a subscription holds the wallet's money, a
// redemption the wallet's shares; the order goes to the fund company under its id
// (its idempotency key), which confirms it at the trade date's NAV a day or more
// later, or rejects it. The flow waits as long as that takes: the fund company's
// callback wakes it, and it asks the fund company on a widening timer, since a
// callback may never come; no answer is never taken as a refusal.

var fundActs *activities.Fund

// WorkflowFundOrder is the workflow type of subscriptions and redemptions.
const WorkflowFundOrder = "FundOrderWorkflow"

// Activity names of the fund orders.
const (
	ActivityPlaceFundOrder  = "PlaceFundOrder"
	ActivityQueryFundOrder  = "QueryFundOrder"
	ActivityFinishFundOrder = "FinishFundOrder"
	ActivityPositionAccount = "PositionAccount"
)

// SignalFundCallback is the fund company's hint that an order moved: the flow asks
// the fund company.
const SignalFundCallback = "fund-callback"

// StageWaitingFund is an order's flow waiting for the fund company's confirmation
// (or, for a confirmed redemption, its payment).
const StageWaitingFund models.Stage = "waiting_fund"

// maxFundPoll bounds the widening wait between two questions to the fund company.
const maxFundPoll = time.Hour

// fundCallOptions: the fund company answers in seconds, or is asked again with
// backoff for as long as it takes; an order is never failed for want of an answer.
func fundCallOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    10 * time.Second,
		ScheduleToCloseTimeout: 30 * 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
			NonRetryableErrorTypes: []string{models.ErrTypeInvalidInput},
		},
	})
}

// FundOrderWorkflow runs a subscription or a redemption to its end: confirmed
// (shares or money booked), paid (a redemption's money in the wallet), or failed
// (the hold released).
func FundOrderWorkflow(ctx workflow.Context, in models.FundOrderInput) (models.FundOrderResult, error) {
	quantity := in.Amount
	if in.Kind == models.FundRedemption {
		quantity = in.Shares
	}
	if in.OrderID == "" || in.MerchantID == "" || in.AccountID == "" || !models.ValidProductID(in.ProductID) ||
		!in.Currency.Valid() || quantity <= 0 || in.TradeDate == "" || in.Poll <= 0 ||
		(in.Kind != models.FundSubscription && in.Kind != models.FundRedemption) {
		return models.FundOrderResult{}, invalidInput("invalid fund order input %q", in.OrderID)
	}
	flow := in.Kind.Flow()
	t, err := newTracker(ctx, models.FlowState{
		Flow: flow, ObjectID: in.OrderID, Stage: models.StageValidating, Status: string(models.FundOrderProcessing),
	}, stateQuery, "order_id", in.OrderID, "merchant_id", in.MerchantID)
	if err != nil {
		return models.FundOrderResult{}, err
	}
	fin := activities.FinishFundOrderInput{
		Order: in, CashKey: PostingKey(flow, in.OrderID, "cash"), SharesKey: PostingKey(flow, in.OrderID, "shares"),
	}
	finish := func(step string) error {
		t.setStage(ctx, models.StagePosting)
		fin.Step = step
		if err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), fundActs.FinishFundOrder, fin).Get(ctx, nil); err != nil {
			return t.finalizeFailed(err)
		}
		return nil
	}
	fail := func(code models.FailureCode) (models.FundOrderResult, error) {
		fin.FailureCode = code
		if err := finish(activities.FundStepFail); err != nil {
			return models.FundOrderResult{}, err
		}
		t.finished(ctx, in.MerchantID, in.NotifyURL, string(models.FundOrderFailed), code)
		return models.FundOrderResult{Status: models.FundOrderFailed, FailureCode: code}, nil
	}

	// 1. Hold what the order spends: the wallet's money, or its position's shares.
	hold := models.PlaceHoldInput{
		Key: PostingKey(flow, in.OrderID, "hold"), MerchantID: in.MerchantID, AccountID: in.AccountID,
		Amount: in.Amount, Currency: in.Currency, Flow: flow, FlowID: in.OrderID,
	}
	if in.Kind == models.FundRedemption {
		var position string
		err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), fundActs.PositionAccount, in).Get(ctx, &position)
		if err != nil {
			return models.FundOrderResult{}, err
		}
		if position == "" {
			return fail(models.FailureInsufficientShares)
		}
		hold.AccountID, hold.Amount, hold.Currency = position, in.Shares, models.ShareAsset(in.ProductID)
	}
	var held models.PlaceHoldResult
	if err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), holdActs.PlaceHold, hold).Get(ctx, &held); err != nil {
		return models.FundOrderResult{}, err
	}
	if held.FailureCode != models.FailureNone {
		code := held.FailureCode
		if code == models.FailureInsufficientFunds && in.Kind == models.FundRedemption {
			code = models.FailureInsufficientShares
		}
		return fail(code)
	}
	fin.HoldID = held.HoldID

	// 2. Place the order; the fund company refusing it fails it.
	t.setStage(ctx, StageWaitingFund)
	var st models.FundOrderState
	if err := workflow.ExecuteActivity(fundCallOptions(ctx), fundActs.PlaceFundOrder, in).Get(ctx, &st); err != nil {
		return models.FundOrderResult{}, err
	}
	if st.Status == activities.FundStateRejected {
		return fail(models.FailureRejectedByFund)
	}

	// 3. Wait for the confirmation (a callback or the widening poll).
	callbacks := workflow.GetSignalChannel(ctx, SignalFundCallback)
	wait := in.Poll
	await := func(done func(models.FundOrderState) bool) (models.FundOrderState, error) {
		for {
			woke := false
			if _, err := workflow.AwaitWithTimeout(ctx, wait, func() bool {
				for callbacks.ReceiveAsync(nil) {
					woke = true
				}
				return woke
			}); err != nil {
				return models.FundOrderState{}, err
			}
			var st models.FundOrderState
			if err := workflow.ExecuteActivity(fundCallOptions(ctx), fundActs.QueryFundOrder, in.OrderID).Get(ctx, &st); err != nil {
				return models.FundOrderState{}, err
			}
			t.state.Attempts++
			if done(st) {
				return st, nil
			}
			if !woke {
				wait = min(wait*2, maxFundPoll)
			}
		}
	}
	st, err = await(func(st models.FundOrderState) bool { return st.Status != activities.FundStateAccepted })
	if err != nil {
		return models.FundOrderResult{}, err
	}
	if st.Status == activities.FundStateRejected {
		return fail(models.FailureRejectedByFund)
	}
	fin.State = st
	if err := finish(activities.FundStepConfirm); err != nil {
		return models.FundOrderResult{}, err
	}
	res := models.FundOrderResult{Status: models.FundOrderConfirmed, Shares: st.Shares, Amount: st.Amount, NAV: st.NAV, Fee: st.Fee}
	if in.Kind == models.FundSubscription {
		res.Amount = in.Amount
		t.finished(ctx, in.MerchantID, in.NotifyURL, string(res.Status), models.FailureNone)
		return res, nil
	}

	// 4. A confirmed redemption's money arrives when the fund company pays it.
	t.state.Status = string(models.FundOrderConfirmed)
	t.setStage(ctx, StageWaitingFund)
	wait = in.Poll
	if st.Status != activities.FundStatePaid {
		if st, err = await(func(st models.FundOrderState) bool { return st.Status == activities.FundStatePaid }); err != nil {
			return models.FundOrderResult{}, err
		}
	}
	fin.State = st
	if err := finish(activities.FundStepPay); err != nil {
		return models.FundOrderResult{}, err
	}
	res.Status = models.FundOrderPaid
	t.finished(ctx, in.MerchantID, in.NotifyURL, string(res.Status), models.FailureNone)
	return res, nil
}
