package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/models"
)

func withdrawalInput(amount int64) models.WithdrawalInput {
	return models.WithdrawalInput{
		WithdrawalID: "wd_test1", MerchantID: "mch_demo", AccountID: "acct_w", Amount: amount, Currency: "CNY",
		BankAccount: "ba_success", Channel: "banksim", ReviewThreshold: 100000, ApprovalTimeout: time.Hour,
		BankPoll: time.Minute, BankDeadline: 24 * time.Hour,
	}
}

func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Bank{})
	env.RegisterActivity(&activities.Payments{})
	env.RegisterActivity(&activities.Topups{})
	env.RegisterActivity(&activities.Holds{})
	env.RegisterActivity(&activities.Withdrawals{})
	env.RegisterActivity(&activities.Refunds{})
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

func finalizedWithdrawal(status models.WithdrawalStatus, code models.FailureCode, hold string) func(models.FinalizeWithdrawalInput) bool {
	return func(in models.FinalizeWithdrawalInput) bool {
		return in.Status == status && in.FailureCode == code && in.HoldID == hold
	}
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
	var holds *activities.Holds
	var w *activities.Withdrawals
	var bank *activities.Bank
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
			holdRes := models.PlaceHoldResult{HoldID: "hold_1"}
			if tc.holdCode != "" {
				holdRes = models.PlaceHoldResult{FailureCode: tc.holdCode}
			}
			env.OnActivity(holds.PlaceHold, mock.Anything, mock.MatchedBy(func(in models.PlaceHoldInput) bool {
				return in.Key == "withdrawal/wd_test1/hold" && in.Amount == 5000
			})).Return(holdRes, nil).Once()
			if tc.payouts > 0 {
				env.OnActivity(bank.Payout, mock.Anything, mock.Anything).Return(tc.payout, tc.payErr).Times(tc.payouts)
			}
			env.OnActivity(w.FinalizeWithdrawal, mock.Anything, mock.MatchedBy(finalizedWithdrawal(tc.status, tc.code, tc.holdID))).
				Return(models.WithdrawalResult{Status: tc.status, FailureCode: tc.code}, nil).Once()
			env.ExecuteWorkflow(WithdrawalWorkflow, withdrawalInput(5000))
			require.NoError(t, env.GetWorkflowError())
			var res models.WithdrawalResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Equal(t, tc.status, res.Status)
		})
	}
}

// Over the review threshold: pending_approval until an operator approves; a second
// approve is refused by the validator.
func TestWithdrawalApproval(t *testing.T) {
	var holds *activities.Holds
	var w *activities.Withdrawals
	var bank *activities.Bank
	env := newEnv(t)
	env.OnActivity(holds.PlaceHold, mock.Anything, mock.Anything).Return(models.PlaceHoldResult{HoldID: "hold_1"}, nil).Once()
	env.OnActivity(w.SetWithdrawalStatus, mock.Anything, models.SetWithdrawalStatusInput{WithdrawalID: "wd_test1", Status: models.WithdrawalPendingApproval}).Return(nil).Once()
	env.OnActivity(w.SetWithdrawalStatus, mock.Anything, models.SetWithdrawalStatusInput{WithdrawalID: "wd_test1", Status: models.WithdrawalProcessing}).Return(nil).Once()
	env.OnActivity(bank.Payout, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankSucceeded}, nil).Once()
	env.OnActivity(w.FinalizeWithdrawal, mock.Anything, mock.MatchedBy(finalizedWithdrawal(models.WithdrawalSucceeded, "", "hold_1"))).
		Return(models.WithdrawalResult{Status: models.WithdrawalSucceeded}, nil).Once()
	var first, second []string
	env.RegisterDelayedCallback(func() {
		st := stateOf(t, env)
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
	var holds *activities.Holds
	var w *activities.Withdrawals
	for _, tc := range []struct {
		name   string
		reject bool
		code   models.FailureCode
	}{{"rejected", true, models.FailureRejected}, {"expired", false, models.FailureExpired}} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			env.OnActivity(holds.PlaceHold, mock.Anything, mock.Anything).Return(models.PlaceHoldResult{HoldID: "hold_1"}, nil).Once()
			env.OnActivity(w.SetWithdrawalStatus, mock.Anything, mock.Anything).Return(nil).Once()
			env.OnActivity(w.FinalizeWithdrawal, mock.Anything, mock.MatchedBy(finalizedWithdrawal(models.WithdrawalCanceled, tc.code, "hold_1"))).
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

func stateOf(t *testing.T, env *testsuite.TestWorkflowEnvironment) models.FlowState {
	t.Helper()
	v, err := env.QueryWorkflow(QueryState)
	require.NoError(t, err)
	var st models.FlowState
	require.NoError(t, v.Get(&st))
	return st
}
