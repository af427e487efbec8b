package workflows

import (
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
