package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/models"
)

// A disabled merchant's flow, per kind: what has not moved money yet stops and gives
// back what it holds; what is already at the bank finishes as the bank decides. (A
// card payment charged before the disable: TestPaymentSagaFailsEachStep, "merchant
// disabled mid-flight"; a top-up: TestTopupCompensates, merchant_disabled.)

func disabledErr() error {
	return temporal.NewNonRetryableApplicationError("merchant mch_demo is disabled", string(models.FailureMerchantDisabled), nil)
}

// A wallet payment's posting refused for a disabled merchant: nothing to give back,
// the payment ends failed merchant_disabled.
func TestDisabledMerchantWalletPayment(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentSucceeded, ""))).
		Return(models.FinalizePaymentResult{}, disabledErr()).Once()
	env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentFailed, models.FailureMerchantDisabled))).
		Return(models.FinalizePaymentResult{Status: models.PaymentFailed}, nil).Once()
	in := paymentInput("")
	in.Source, in.Channel = models.PaymentSource{Type: models.SourceAccount, AccountID: "acct_1"}, "ledger"
	requirePaymentEnds(t, env, in, models.PaymentFailed, models.FailureMerchantDisabled)
}

// A refund not yet sent to the bank when its merchant was disabled: nothing is held,
// the bank never sees it, and it ends failed merchant_disabled (which gives the
// payment's reservation back).
func TestDisabledMerchantRefund(t *testing.T) {
	for _, wallet := range []bool{false, true} {
		t.Run(map[bool]string{false: "card", true: "wallet"}[wallet], func(t *testing.T) {
			env := newEnv(t)
			in := models.RefundInput{RefundID: "re_1", PaymentID: "pay_1", MerchantID: "mch_demo", Amount: 300, Currency: "CNY",
				Channel: "banksim", Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"}, BankTiming: models.BankTiming{BankPoll: 60e9, BankDeadline: 3600e9}}
			if wallet {
				in.Source = models.PaymentSource{Type: models.SourceAccount, AccountID: "acct_1"}
			}
			expectHold(env, "refund/re_1/hold", "", 300, models.FailureMerchantDisabled)
			env.OnActivity(refundActs.FinalizeRefund, mock.Anything, mock.MatchedBy(func(f models.FinalizeRefundInput) bool {
				return f.Status == models.RefundFailed && f.FailureCode == models.FailureMerchantDisabled && f.HoldID == ""
			})).Return(models.RefundResult{Status: models.RefundFailed, FailureCode: models.FailureMerchantDisabled}, nil).Once()
			env.ExecuteWorkflow(RefundWorkflow, in)
			res := resultOf[models.RefundResult](t, env)
			require.Equal(t, models.FailureMerchantDisabled, res.FailureCode)
		})
	}
}

// A withdrawal whose merchant is disabled before its payout is sent releases its hold
// and ends failed merchant_disabled, without reaching the bank: refused at the hold,
// when it starts waiting for approval, woken in the wait by the ops API's signal, or
// at the approval. A payout already at the bank finishes as the bank decides.
func TestDisabledMerchantWithdrawal(t *testing.T) {
	pending := models.SetWithdrawalStatusInput{WithdrawalID: "wd_test1", Status: models.WithdrawalPendingApproval, MerchantID: "mch_demo"}
	approved := models.SetWithdrawalStatusInput{WithdrawalID: "wd_test1", Status: models.WithdrawalProcessing, MerchantID: "mch_demo"}
	failed := finalizedWithdrawal(models.WithdrawalFailed, models.FailureMerchantDisabled, "hold_1")
	tests := []struct {
		name string
		// amount is over the review threshold (100000) when the withdrawal waits.
		amount int64
		// expect sets the mocks; act runs during the flow (at 10 minutes).
		expect func(env *testsuite.TestWorkflowEnvironment)
		act    func(env *testsuite.TestWorkflowEnvironment)
		status models.WithdrawalStatus
		code   models.FailureCode
	}{
		{"refused at the hold", 5000, func(env *testsuite.TestWorkflowEnvironment) {
			expectHold(env, "withdrawal/wd_test1/hold", "acct_w", 5000, models.FailureMerchantDisabled)
			env.OnActivity(withdrawalActs.FinalizeWithdrawal, mock.Anything, mock.MatchedBy(finalizedWithdrawal(models.WithdrawalFailed, models.FailureMerchantDisabled, ""))).
				Return(models.WithdrawalResult{Status: models.WithdrawalFailed, FailureCode: models.FailureMerchantDisabled}, nil).Once()
		}, nil, models.WithdrawalFailed, models.FailureMerchantDisabled},
		{"refused as it starts waiting", 200000, func(env *testsuite.TestWorkflowEnvironment) {
			expectHold(env, "withdrawal/wd_test1/hold", "acct_w", 200000, "")
			env.OnActivity(withdrawalActs.SetWithdrawalStatus, mock.Anything, pending).Return(disabledErr()).Once()
			env.OnActivity(withdrawalActs.FinalizeWithdrawal, mock.Anything, mock.MatchedBy(failed)).
				Return(models.WithdrawalResult{Status: models.WithdrawalFailed, FailureCode: models.FailureMerchantDisabled}, nil).Once()
		}, nil, models.WithdrawalFailed, models.FailureMerchantDisabled},
		{"woken in the approval wait", 200000, func(env *testsuite.TestWorkflowEnvironment) {
			expectHold(env, "withdrawal/wd_test1/hold", "acct_w", 200000, "")
			env.OnActivity(withdrawalActs.SetWithdrawalStatus, mock.Anything, pending).Return(nil).Once()
			env.OnActivity(withdrawalActs.FinalizeWithdrawal, mock.Anything, mock.MatchedBy(failed)).
				Return(models.WithdrawalResult{Status: models.WithdrawalFailed, FailureCode: models.FailureMerchantDisabled}, nil).Once()
		}, func(env *testsuite.TestWorkflowEnvironment) {
			env.SignalWorkflow(SignalMerchantDisabled, nil)
			env.SignalWorkflow(SignalMerchantDisabled, nil) // a second disable changes nothing
		}, models.WithdrawalFailed, models.FailureMerchantDisabled},
		{"approved after the disable", 200000, func(env *testsuite.TestWorkflowEnvironment) {
			expectHold(env, "withdrawal/wd_test1/hold", "acct_w", 200000, "")
			env.OnActivity(withdrawalActs.SetWithdrawalStatus, mock.Anything, pending).Return(nil).Once()
			env.OnActivity(withdrawalActs.SetWithdrawalStatus, mock.Anything, approved).Return(disabledErr()).Once()
			env.OnActivity(withdrawalActs.FinalizeWithdrawal, mock.Anything, mock.MatchedBy(failed)).
				Return(models.WithdrawalResult{Status: models.WithdrawalFailed, FailureCode: models.FailureMerchantDisabled}, nil).Once()
		}, func(env *testsuite.TestWorkflowEnvironment) {
			env.UpdateWorkflow(UpdateApprove, "u1", updateCallbacks{}, models.Decision{Operator: "ops"})
		}, models.WithdrawalFailed, models.FailureMerchantDisabled},
		{"an operator's reject decides first", 200000, func(env *testsuite.TestWorkflowEnvironment) {
			expectHold(env, "withdrawal/wd_test1/hold", "acct_w", 200000, "")
			env.OnActivity(withdrawalActs.SetWithdrawalStatus, mock.Anything, pending).Return(nil).Once()
			env.OnActivity(withdrawalActs.FinalizeWithdrawal, mock.Anything, mock.MatchedBy(finalizedWithdrawal(models.WithdrawalCanceled, models.FailureRejected, "hold_1"))).
				Return(models.WithdrawalResult{Status: models.WithdrawalCanceled, FailureCode: models.FailureRejected}, nil).Once()
		}, func(env *testsuite.TestWorkflowEnvironment) {
			env.UpdateWorkflow(UpdateReject, "r1", updateCallbacks{}, models.Decision{Operator: "ops", Reason: "fraud"})
			env.SignalWorkflow(SignalMerchantDisabled, nil)
		}, models.WithdrawalCanceled, models.FailureRejected},
		{"a payout at the bank finishes", 5000, func(env *testsuite.TestWorkflowEnvironment) {
			expectHold(env, "withdrawal/wd_test1/hold", "acct_w", 5000, "")
			env.OnActivity(bankActs.Payout, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankProcessing, Channel: "banksim"}, nil).Once()
			env.OnActivity(bankActs.QueryTransfer, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankSucceeded, Channel: "banksim"}, nil).Once()
			env.OnActivity(withdrawalActs.FinalizeWithdrawal, mock.Anything, mock.MatchedBy(finalizedWithdrawal(models.WithdrawalSucceeded, "", "hold_1"))).
				Return(models.WithdrawalResult{Status: models.WithdrawalSucceeded}, nil).Once()
		}, nil, models.WithdrawalSucceeded, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			tc.expect(env)
			if tc.act != nil {
				env.RegisterDelayedCallback(func() { tc.act(env) }, 10*time.Minute)
			}
			if tc.status == models.WithdrawalSucceeded {
				// Woken while the payout waits at the bank: too late to stop it.
				env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalMerchantDisabled, nil) }, 10*time.Second)
			}
			start := env.Now()
			env.ExecuteWorkflow(WithdrawalWorkflow, withdrawalInput(tc.amount))
			res := resultOf[models.WithdrawalResult](t, env)
			require.Equal(t, tc.status, res.Status)
			require.Equal(t, tc.code, res.FailureCode)
			require.Less(t, env.Now().Sub(start), time.Hour, "the flow waited for the approval to expire")
		})
	}
}

// A withdrawal of the earlier shape (no changeDisabledStops marker: it started
// waiting before the change) ignores the signal and records its statuses without
// naming the merchant, as it did: its history replays.
func TestDisabledMerchantWithdrawalEarlierShape(t *testing.T) {
	env := newEnv(t)
	env.OnGetVersion(changeDisabledStops, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.OnActivity(holdActs.PlaceHold, mock.Anything, mock.Anything).Return(models.PlaceHoldResult{HoldID: "hold_1"}, nil).Once()
	env.OnActivity(withdrawalActs.SetWithdrawalStatus, mock.Anything, models.SetWithdrawalStatusInput{WithdrawalID: "wd_test1", Status: models.WithdrawalPendingApproval}).Return(nil).Once()
	env.OnActivity(withdrawalActs.SetWithdrawalStatus, mock.Anything, models.SetWithdrawalStatusInput{WithdrawalID: "wd_test1", Status: models.WithdrawalProcessing}).Return(nil).Once()
	env.OnActivity(bankActs.Payout, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankSucceeded}, nil).Once()
	env.OnActivity(withdrawalActs.FinalizeWithdrawal, mock.Anything, mock.MatchedBy(finalizedWithdrawal(models.WithdrawalSucceeded, "", "hold_1"))).
		Return(models.WithdrawalResult{Status: models.WithdrawalSucceeded}, nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalMerchantDisabled, nil) }, time.Minute)
	env.RegisterDelayedCallback(func() {
		require.Equal(t, models.StagePendingApproval, queryState[models.FlowState](t, env).Stage)
		env.UpdateWorkflow(UpdateApprove, "u1", updateCallbacks{}, models.Decision{Operator: "ops"})
	}, 10*time.Minute)
	env.ExecuteWorkflow(WithdrawalWorkflow, withdrawalInput(200000))
	require.Equal(t, models.WithdrawalSucceeded, resultOf[models.WithdrawalResult](t, env).Status)
}

// disabledCardBank stands for the Charge activity and its bank while the flow's
// merchant is disabled (activities' TestDisabledMerchantChargeNotSent proves the
// activity's side): a send the flow marks as its first (FirstSend) is refused
// merchant_disabled before the bank; any other is sent and charged. The first lost
// sends left while the merchant was still active and their answers were lost (the
// bank never received them); sends to refuse are refused before acting.
type disabledCardBank struct {
	lost   int
	refuse string
	// firstSends is the FirstSend of every send, in order.
	firstSends []bool
	charged    int
	reversals  int
}

func (b *disabledCardBank) expect(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(bankActs.Charge, mock.Anything, mock.Anything).Return(
		func(_ context.Context, c models.ChargeInput) (models.ChargeResult, error) {
			b.firstSends = append(b.firstSends, c.FirstSend)
			switch {
			case c.Channel == b.refuse:
				return models.ChargeResult{}, refusedBeforeActing()
			case len(b.firstSends) <= b.lost:
				return models.ChargeResult{}, unknownOutcome()
			case c.FirstSend:
				return models.ChargeResult{}, disabledErr()
			}
			b.charged++
			return models.ChargeResult{Status: models.BankSucceeded, Channel: c.Channel, Amount: c.Amount, Currency: c.Currency}, nil
		})
	env.OnActivity(bankActs.QueryTransfer, mock.Anything, mock.Anything).
		Return(models.ChargeResult{Status: models.BankNotFound}, nil).Maybe()
	env.OnActivity(bankActs.RefundAtBank, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r models.RefundAtBankInput) (models.ChargeResult, error) {
			b.reversals++
			return models.ChargeResult{Status: models.BankSucceeded, Channel: r.Channel, Amount: r.Amount, Currency: r.Currency}, nil
		}).Maybe()
}

// A payment or top-up whose merchant was disabled before its charge left: the charge
// is not sent (no charge, no reversal: the customer sees nothing) and the flow ends
// failed merchant_disabled. A charge that may already be at the bank (its first
// answer lost) is sent again as it was, with the reference the bank deduplicates: the
// posting refuses the merchant and the charge is reversed once. A route whose first
// channel refused before acting still sends nothing. Flows of the earlier shape (no
// changeUnsentChargeStops marker) charge and reverse, as their histories say.
func TestDisabledMerchantCardFlowsBeforeTheCharge(t *testing.T) {
	tests := []struct {
		name    string
		topup   bool
		earlier bool
		bank    disabledCardBank
		route   []string
		// firstSends, charged, reversals: what the flow sent, and what the bank did.
		firstSends         []bool
		charged, reversals int
	}{
		{name: "payment not sent", firstSends: []bool{true}},
		{name: "top-up not sent", topup: true, firstSends: []bool{true}},
		{name: "payment whose first answer was lost: sent again, reversed", bank: disabledCardBank{lost: 1},
			firstSends: []bool{true, false}, charged: 1, reversals: 1},
		{name: "top-up whose first answer was lost: sent again, reversed", topup: true, bank: disabledCardBank{lost: 1},
			firstSends: []bool{true, false}, charged: 1, reversals: 1},
		{name: "payment routed past a channel that refused before acting: not sent", bank: disabledCardBank{refuse: "banksim"},
			route: []string{"banksim", "stripe"}, firstSends: []bool{true, true}},
		{name: "payment of the earlier shape: charged, reversed", earlier: true, firstSends: []bool{false}, charged: 1, reversals: 1},
		{name: "top-up of the earlier shape: charged, reversed", topup: true, earlier: true, firstSends: []bool{false}, charged: 1, reversals: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			if tc.earlier {
				env.OnGetVersion(changeUnsentChargeStops, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
			}
			b := tc.bank
			b.expect(env)
			channel := "banksim"
			if tc.route != nil {
				channel = models.ChannelAuto
				env.OnActivity(bankActs.RouteTransfer, mock.Anything, models.ChannelAuto, mock.Anything).
					Return(models.RouteResult{Channels: tc.route}, nil).Once()
			}
			var status string
			var code models.FailureCode
			if tc.topup {
				env.OnActivity(topupActs.FinalizeTopup, mock.Anything, mock.MatchedBy(func(in models.FinalizeTopupInput) bool { return in.Status == models.TopupSucceeded })).
					Return(models.TopupResult{}, disabledErr()).Maybe()
				env.OnActivity(topupActs.FinalizeTopup, mock.Anything, mock.MatchedBy(func(in models.FinalizeTopupInput) bool {
					return in.Status == models.TopupFailed && in.FailureCode == models.FailureMerchantDisabled
				})).Return(models.TopupResult{Status: models.TopupFailed, FailureCode: models.FailureMerchantDisabled}, nil).Once()
				env.ExecuteWorkflow(TopupWorkflow, models.TopupInput{TopupID: "top_1", MerchantID: "mch_demo", AccountID: "acct_1", Amount: 700,
					Currency: "CNY", Token: "tok_success", Channel: channel, BankTiming: models.BankTiming{BankPoll: time.Minute, BankDeadline: time.Hour}})
				res := resultOf[models.TopupResult](t, env)
				status, code = string(res.Status), res.FailureCode
			} else {
				env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentSucceeded, ""))).
					Return(models.FinalizePaymentResult{}, disabledErr()).Maybe()
				env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentFailed, models.FailureMerchantDisabled))).
					Return(models.FinalizePaymentResult{Status: models.PaymentFailed}, nil).Once()
				in := paymentInput("tok_success")
				in.Channel = channel
				env.ExecuteWorkflow(PaymentWorkflow, in)
				res := resultOf[models.PaymentResult](t, env)
				status, code = string(res.Status), res.FailureCode
			}
			require.Equal(t, "failed", status)
			require.Equal(t, models.FailureMerchantDisabled, code)
			require.Equal(t, tc.firstSends, b.firstSends, "the sends the flow marked as its first")
			require.Equal(t, tc.charged, b.charged, "charges the bank made")
			require.Equal(t, tc.reversals, b.reversals, "reversals the bank made")
		})
	}
}
