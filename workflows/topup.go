package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// TopupWorkflow charges a card at the bank (waiting for the bank as payments do) and
// credits the wallet with a balanced journal. A declined card ends the top-up failed
// with its code and moves nothing.
func TopupWorkflow(ctx workflow.Context, in models.TopupInput) (models.TopupResult, error) {
	return runFlow(moneyFlowContext(ctx), in, newTopupFlow)
}

type topupFlow struct {
	charging
	in models.TopupInput
}

// newTopupFlow validates the input and sets up the tracker.
func newTopupFlow(ctx workflow.Context, in models.TopupInput) (*topupFlow, error) {
	if in.TopupID == "" || in.AccountID == "" || in.Amount <= 0 || !in.Currency.Valid() {
		return nil, invalidInput("invalid topup input %q", in.TopupID)
	}
	t, err := newTracker(ctx, models.FlowState{
		Flow: models.FlowTopup, ObjectID: in.TopupID, Stage: models.StageCharging,
		Status: string(models.TopupProcessing), Channel: in.Channel,
	}, opsUpdates, "topup_id", in.TopupID, "merchant_id", in.MerchantID)
	if err != nil {
		return nil, err
	}
	return &topupFlow{charging: charging{tracker: t}, in: in}, nil
}

func (t *topupFlow) run(ctx workflow.Context) (models.TopupResult, error) {
	in := t.in
	charge := models.ChargeInput{
		Reference: in.TopupID, MerchantID: in.MerchantID, Amount: in.Amount,
		Currency: in.Currency, Token: in.Token, Channel: in.Channel,
	}
	res, err := t.charge(ctx, charge, bankTiming{poll: in.BankPoll, deadline: in.BankDeadline, deadlines: in.BankDeadlines})
	return settle(ctx, res, err, t.finalize, models.TopupSucceeded, models.TopupFailed)
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
		// A refused credit refunds the charge: the top-up is then recorded failed with
		// the refusal's code.
		code, err := t.postingFailed(ctx, err, status == models.TopupSucceeded)
		if err != nil {
			return models.TopupResult{}, err
		}
		return t.finalize(ctx, models.TopupFailed, code)
	}
	t.finished(ctx, in.MerchantID, in.NotifyURL, string(out.Status), out.FailureCode)
	return out, nil
}
