package workflows

import (
	"fmt"

	"go.temporal.io/sdk/log"
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
	ctx = moneyFlowContext(ctx)
	if in.TopupID == "" || in.AccountID == "" || in.Amount <= 0 || !in.Currency.Valid() {
		return models.TopupResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("invalid topup input %q", in.TopupID), models.ErrTypeInvalidInput, nil)
	}
	t := &tracker{
		state: models.FlowState{
			Flow: models.FlowTopup, ObjectID: in.TopupID, Stage: models.StageCharging,
			Status: string(models.TopupProcessing), Channel: in.Channel,
		},
		logger: log.With(workflow.GetLogger(ctx), "topup_id", in.TopupID, "merchant_id", in.MerchantID),
	}
	if err := t.registerStateQuery(ctx); err != nil {
		return models.TopupResult{}, fmt.Errorf("register state query: %w", err)
	}
	if err := t.registerOpsHandlers(ctx); err != nil {
		return models.TopupResult{}, err
	}
	charge := models.ChargeInput{
		Reference: in.TopupID, MerchantID: in.MerchantID, Amount: in.Amount,
		Currency: in.Currency, Token: in.Token, Channel: in.Channel,
	}
	callbacks := workflow.GetSignalChannel(ctx, SignalBankCallback)
	var res models.ChargeResult
	var err error
	var reverse func(ctx workflow.Context) error
	if pinsBankCalls(ctx) {
		call := chargeCall(t, bankTiming{poll: in.BankPoll, deadline: in.BankDeadline, deadlines: in.BankDeadlines}, charge, callbacks)
		res, err = call.run(ctx)
		reverse = call.compensate
	} else {
		res, err = legacyChargeCall(t, charge, in.BankPoll, in.BankDeadline, callbacks).run(ctx)
		reverse = func(ctx workflow.Context) error {
			return legacyReverseCharge(ctx, t, in.TopupID, in.MerchantID, in.Amount, in.Currency, in.BankPoll, in.BankDeadline)
		}
	}
	if err != nil {
		return models.TopupResult{}, err
	}
	fin := models.FinalizeTopupInput{
		TopupID: in.TopupID, MerchantID: in.MerchantID, AccountID: in.AccountID, Amount: in.Amount,
		Currency: in.Currency, Channel: t.state.Channel, Status: models.TopupSucceeded,
		PostingKey: PostingKey(models.FlowTopup, in.TopupID, "credit"),
	}
	if res.Status != models.BankSucceeded {
		fin.Status, fin.FailureCode = models.TopupFailed, res.FailureCode
	}
	t.setStage(ctx, models.StagePosting)
	var out models.TopupResult
	if err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), topupActs.FinalizeTopup, fin).Get(ctx, &out); err != nil {
		t.state.LastError = err.Error()
		code, refused := postingRefused(err)
		if !refused || fin.Status != models.TopupSucceeded || !compensatesRefusedPosting(ctx) {
			return models.TopupResult{}, fmt.Errorf("finalize topup %s: %w", in.TopupID, err)
		}
		// The card was charged but the wallet cannot be credited: refund the charge,
		// then record the top-up failed with the refusal's code.
		t.logger.Warn("posting refused, compensating", "failure_code", code)
		t.setStage(ctx, models.StageCompensating)
		var s saga
		s.add("reverse charge", reverse)
		if err := s.compensate(ctx); err != nil {
			return models.TopupResult{}, fmt.Errorf("compensate topup %s: %w", in.TopupID, err)
		}
		fin.Status, fin.FailureCode = models.TopupFailed, code
		t.setStage(ctx, models.StagePosting)
		if err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), topupActs.FinalizeTopup, fin).Get(ctx, &out); err != nil {
			return models.TopupResult{}, fmt.Errorf("finalize topup %s: %w", in.TopupID, err)
		}
	}
	t.state.Status = string(out.Status)
	t.state.FailureCode = out.FailureCode
	t.notifyIfAsked(ctx, in.MerchantID, in.TopupID, in.NotifyURL, models.FlowTopup, string(out.Status))
	t.setStage(ctx, models.StageDone)
	t.logger.Info("topup finished", "status", out.Status, "failure_code", out.FailureCode)
	return out, nil
}
