package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/models"
)

var topupActs *activities.Topups

// TopupWorkflow charges a card at the bank (waiting for the bank as payments do) and
// credits the wallet with a balanced journal. A declined card ends the top-up failed
// with its code and moves nothing.
func TopupWorkflow(ctx workflow.Context, in models.TopupInput) (models.TopupResult, error) {
	return runFlow(moneyFlowContext(ctx), in, newTopupFlow)
}

type topupFlow struct {
	*tracker
	in   models.TopupInput
	saga saga
}

// newTopupFlow validates the input and sets up the tracker.
func newTopupFlow(ctx workflow.Context, in models.TopupInput) (*topupFlow, error) {
	if in.TopupID == "" || in.AccountID == "" || in.Amount <= 0 || !in.Currency.Valid() {
		return nil, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("invalid topup input %q", in.TopupID), models.ErrTypeInvalidInput, nil)
	}
	t, err := newTracker(ctx, models.FlowState{
		Flow: models.FlowTopup, ObjectID: in.TopupID, Stage: models.StageCharging,
		Status: string(models.TopupProcessing), Channel: in.Channel,
	}, opsUpdates, "topup_id", in.TopupID, "merchant_id", in.MerchantID)
	if err != nil {
		return nil, err
	}
	return &topupFlow{tracker: t, in: in}, nil
}

func (t *topupFlow) run(ctx workflow.Context) (models.TopupResult, error) {
	in := t.in
	charge := models.ChargeInput{
		Reference: in.TopupID, MerchantID: in.MerchantID, Amount: in.Amount,
		Currency: in.Currency, Token: in.Token, Channel: in.Channel,
	}
	callbacks := workflow.GetSignalChannel(ctx, SignalBankCallback)
	var res models.ChargeResult
	var err error
	if pinsBankCalls(ctx) {
		call := chargeCall(t.tracker, bankTiming{poll: in.BankPoll, deadline: in.BankDeadline, deadlines: in.BankDeadlines}, charge, callbacks)
		if res, err = call.run(ctx); err == nil && res.Status == models.BankSucceeded {
			t.saga.add("reverse charge", call.compensate)
		}
	} else {
		res, err = legacyChargeCall(t.tracker, charge, in.BankPoll, in.BankDeadline, callbacks).run(ctx)
		if err == nil && res.Status == models.BankSucceeded {
			t.saga.add("reverse charge", func(ctx workflow.Context) error {
				return legacyReverseCharge(ctx, t.tracker, in.TopupID, in.MerchantID, in.Amount, in.Currency, in.BankPoll, in.BankDeadline)
			})
		}
	}
	if err != nil {
		return models.TopupResult{}, err
	}
	if res.Status != models.BankSucceeded {
		return t.finalize(ctx, models.TopupFailed, res.FailureCode)
	}
	return t.finalize(ctx, models.TopupSucceeded, models.FailureNone)
}

// finalize records the outcome: for a success the wallet's credit and the status in
// one transaction; for a failure the status and code.
func (t *topupFlow) finalize(ctx workflow.Context, status models.TopupStatus, code models.FailureCode) (models.TopupResult, error) {
	in := t.in
	fin := models.FinalizeTopupInput{
		TopupID: in.TopupID, MerchantID: in.MerchantID, AccountID: in.AccountID, Amount: in.Amount,
		Currency: in.Currency, Channel: t.state.Channel, Status: status, FailureCode: code,
		PostingKey: PostingKey(models.FlowTopup, in.TopupID, "credit"),
	}
	t.setStage(ctx, models.StagePosting)
	var out models.TopupResult
	if err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), topupActs.FinalizeTopup, fin).Get(ctx, &out); err != nil {
		t.state.LastError = err.Error()
		code, refused := postingRefused(err)
		if !refused || status != models.TopupSucceeded || !compensatesRefusedPosting(ctx) {
			return models.TopupResult{}, fmt.Errorf("finalize topup %s: %w", in.TopupID, err)
		}
		// The card was charged but the wallet cannot be credited: refund the charge,
		// then record the top-up failed with the refusal's code.
		t.logger.Warn("posting refused, compensating", "failure_code", code)
		t.setStage(ctx, models.StageCompensating)
		if err := t.saga.compensate(ctx); err != nil {
			return models.TopupResult{}, fmt.Errorf("compensate topup %s: %w", in.TopupID, err)
		}
		return t.finalize(ctx, models.TopupFailed, code)
	}
	t.state.Status = string(out.Status)
	t.state.FailureCode = out.FailureCode
	t.notifyIfAsked(ctx, in.MerchantID, in.TopupID, in.NotifyURL, models.FlowTopup, string(out.Status))
	t.setStage(ctx, models.StageDone)
	t.logger.Info("topup finished", "status", out.Status, "failure_code", out.FailureCode)
	return out, nil
}
