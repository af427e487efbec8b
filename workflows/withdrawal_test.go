package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/payflow/payflow/models"
)

func withdrawalInput(amount int64) models.WithdrawalInput {
	return models.WithdrawalInput{
		WithdrawalID: "wd_test1", MerchantID: "mch_demo", AccountID: "acct_w", Amount: amount, Currency: "CNY",
		BankAccount: "ba_success", Channel: "banksim", ReviewThreshold: 100000, ApprovalTimeout: time.Hour,
		BankTiming: models.BankTiming{BankPoll: time.Minute, BankDeadline: 24 * time.Hour},
	}
}

func finalizedWithdrawal(status models.WithdrawalStatus, code models.FailureCode, hold string) func(models.FinalizeWithdrawalInput) bool {
	return func(in models.FinalizeWithdrawalInput) bool {
		return in.Status == status && in.FailureCode == code && in.HoldID == hold
	}
}

// expectHold expects the flow to hold amount under key, once, on account (the
// merchant's settlement account when empty): held as hold_1, or refused with code
// when code is set.
func expectHold(env *testsuite.TestWorkflowEnvironment, key, account string, amount int64, code models.FailureCode) {
	res := models.PlaceHoldResult{HoldID: "hold_1"}
	if code != "" {
		res = models.PlaceHoldResult{FailureCode: code}
	}
	env.OnActivity(holdActs.PlaceHold, mock.Anything, mock.MatchedBy(func(in models.PlaceHoldInput) bool {
		return in.Key == key && in.AccountID == account && in.Amount == amount
	})).Return(res, nil).Once()
}

type updateCallbacks struct {
	accepted, rejected func()
}

func (u updateCallbacks) Accept() {
	if u.accepted != nil {
		u.accepted()
	}
}
func (u updateCallbacks) Reject(err error) {
	if u.rejected != nil {
		u.rejected()
	}
}
func (u updateCallbacks) Complete(any, error) {}

func TestWithdrawalOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		holdCode models.FailureCode
		payout   models.ChargeResult
		payErr   error
		status   models.WithdrawalStatus
		code     models.FailureCode
		holdID   string
		payouts  int
	}{
		{"paid out", "", models.ChargeResult{Status: models.BankSucceeded}, nil, models.WithdrawalSucceeded, "", "hold_1", 1},
		{"insufficient funds holds nothing", models.FailureInsufficientFunds, models.ChargeResult{}, nil, models.WithdrawalFailed, models.FailureInsufficientFunds, "", 0},
		{"closed account releases the hold", "", models.ChargeResult{}, temporal.NewNonRetryableApplicationError("closed", string(models.FailureAccountClosed), nil), models.WithdrawalFailed, models.FailureAccountClosed, "hold_1", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			expectHold(env, "withdrawal/wd_test1/hold", "acct_w", 5000, tc.holdCode)
			if tc.payouts > 0 {
				env.OnActivity(bankActs.Payout, mock.Anything, mock.Anything).Return(tc.payout, tc.payErr).Times(tc.payouts)
			}
			env.OnActivity(withdrawalActs.FinalizeWithdrawal, mock.Anything, mock.MatchedBy(finalizedWithdrawal(tc.status, tc.code, tc.holdID))).
				Return(models.WithdrawalResult{Status: tc.status, FailureCode: tc.code}, nil).Once()
			env.ExecuteWorkflow(WithdrawalWorkflow, withdrawalInput(5000))
			res := resultOf[models.WithdrawalResult](t, env)
			require.Equal(t, tc.status, res.Status)
		})
	}
}

// Over the review threshold: pending_approval until an operator approves; a second
// approve is refused by the validator.
func TestWithdrawalApproval(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(holdActs.PlaceHold, mock.Anything, mock.Anything).Return(models.PlaceHoldResult{HoldID: "hold_1"}, nil).Once()
	// Each status names the merchant, whose disable stops the flow (changeDisabledStops).
	env.OnActivity(withdrawalActs.SetWithdrawalStatus, mock.Anything, models.SetWithdrawalStatusInput{WithdrawalID: "wd_test1", Status: models.WithdrawalPendingApproval, MerchantID: "mch_demo"}).Return(nil).Once()
	env.OnActivity(withdrawalActs.SetWithdrawalStatus, mock.Anything, models.SetWithdrawalStatusInput{WithdrawalID: "wd_test1", Status: models.WithdrawalProcessing, MerchantID: "mch_demo"}).Return(nil).Once()
	env.OnActivity(bankActs.Payout, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankSucceeded}, nil).Once()
	env.OnActivity(withdrawalActs.FinalizeWithdrawal, mock.Anything, mock.MatchedBy(finalizedWithdrawal(models.WithdrawalSucceeded, "", "hold_1"))).
		Return(models.WithdrawalResult{Status: models.WithdrawalSucceeded}, nil).Once()
	var first, second []string
	env.RegisterDelayedCallback(func() {
		st := queryState[models.FlowState](t, env)
		require.Equal(t, models.StagePendingApproval, st.Stage)
		require.Equal(t, string(models.WithdrawalPendingApproval), st.Status)
		env.UpdateWorkflow(UpdateApprove, "u1", updateCallbacks{accepted: func() { first = append(first, "ok") }, rejected: func() { first = append(first, "refused") }}, models.Decision{Operator: "ops"})
		env.UpdateWorkflow(UpdateApprove, "u2", updateCallbacks{accepted: func() { second = append(second, "ok") }, rejected: func() { second = append(second, "refused") }}, models.Decision{Operator: "ops"})
	}, 10*time.Minute)
	env.ExecuteWorkflow(WithdrawalWorkflow, withdrawalInput(200000))
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{"ok"}, first)
	require.Equal(t, []string{"refused"}, second, "a second approve must be refused")
}

func TestWithdrawalRejectAndExpire(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reject bool
		code   models.FailureCode
	}{{"rejected", true, models.FailureRejected}, {"expired", false, models.FailureExpired}} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			env.OnActivity(holdActs.PlaceHold, mock.Anything, mock.Anything).Return(models.PlaceHoldResult{HoldID: "hold_1"}, nil).Once()
			env.OnActivity(withdrawalActs.SetWithdrawalStatus, mock.Anything, mock.Anything).Return(nil).Once()
			env.OnActivity(withdrawalActs.FinalizeWithdrawal, mock.Anything, mock.MatchedBy(finalizedWithdrawal(models.WithdrawalCanceled, tc.code, "hold_1"))).
				Return(models.WithdrawalResult{Status: models.WithdrawalCanceled, FailureCode: tc.code}, nil).Once()
			var refusedEmpty bool
			if tc.reject {
				env.RegisterDelayedCallback(func() {
					env.UpdateWorkflow(UpdateReject, "r0", updateCallbacks{rejected: func() { refusedEmpty = true }}, models.Decision{Operator: "ops"})
					env.UpdateWorkflow(UpdateReject, "r1", updateCallbacks{}, models.Decision{Operator: "ops", Reason: "looks like fraud"})
				}, time.Minute)
			}
			start := env.Now()
			env.ExecuteWorkflow(WithdrawalWorkflow, withdrawalInput(200000))
			require.NoError(t, env.GetWorkflowError())
			if tc.reject {
				require.True(t, refusedEmpty, "a rejection without a reason must be refused")
			} else {
				require.GreaterOrEqual(t, env.Now().Sub(start), time.Hour, "expired before the approval timeout")
			}
		})
	}
}
