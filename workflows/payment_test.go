package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/payflow/payflow/models"
)

func paymentInput(token string) models.PaymentInput {
	return models.PaymentInput{
		PaymentID: "pay_test1", MerchantID: "mch_demo", Amount: 1050, Currency: "CNY",
		Source:  models.PaymentSource{Type: models.SourceCard, Token: token},
		Channel: "banksim", BankTiming: models.BankTiming{BankPoll: time.Minute, BankDeadline: 24 * time.Hour},
	}
}

func finalizeWith(status models.PaymentStatus, code models.FailureCode) func(models.FinalizePaymentInput) bool {
	return func(in models.FinalizePaymentInput) bool {
		return in.Status == status && in.FailureCode == code && in.PostingKey == "payment/pay_test1/capture"
	}
}

// requirePaymentEnds runs the payment in and requires that it completes with status
// and code.
func requirePaymentEnds(t *testing.T, env *testsuite.TestWorkflowEnvironment, in models.PaymentInput, status models.PaymentStatus, code models.FailureCode) {
	t.Helper()
	env.ExecuteWorkflow(PaymentWorkflow, in)
	res := resultOf[models.PaymentResult](t, env)
	require.Equal(t, status, res.Status)
	require.Equal(t, code, res.FailureCode)
}

func TestPaymentOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		chargeRes  models.ChargeResult
		chargeErr  error
		wantStatus models.PaymentStatus
		wantCode   models.FailureCode
	}{
		{"success", models.ChargeResult{Status: models.BankSucceeded, Channel: "banksim"}, nil, models.PaymentSucceeded, ""},
		{"declined", models.ChargeResult{}, temporal.NewNonRetryableApplicationError("declined", string(models.FailureCardDeclined), nil), models.PaymentFailed, models.FailureCardDeclined},
		{"insufficient funds", models.ChargeResult{}, temporal.NewNonRetryableApplicationError("nsf", string(models.FailureInsufficientFunds), nil), models.PaymentFailed, models.FailureInsufficientFunds},
		{"bank down before acting", models.ChargeResult{}, temporal.NewApplicationError("down", models.ErrTypeBankUnavailable), models.PaymentFailed, models.FailureBankUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			charge := env.OnActivity(bankActs.Charge, mock.Anything, mock.Anything).Return(tc.chargeRes, tc.chargeErr)
			if !temporal.IsApplicationError(tc.chargeErr) || isNonRetryable(tc.chargeErr) {
				charge.Once()
			} // else: every retry fails the same until the schedule-to-close timeout.
			env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(tc.wantStatus, tc.wantCode))).
				Return(models.FinalizePaymentResult{Status: tc.wantStatus, JournalID: "jnl_1"}, nil).Once()
			requirePaymentEnds(t, env, paymentInput("tok_x"), tc.wantStatus, tc.wantCode)
			require.True(t, env.IsWorkflowCompleted())
		})
	}
}

// A processing charge waits for the bank's callback, which only wakes the flow: the
// flow asks its own channel, and the query's answer decides (a callback claiming
// "processing" and then one claiming "succeeded" make two queries).
func TestPaymentWaitsForCallback(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(bankActs.Charge, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankProcessing, Channel: "banksim"}, nil).Once()
	env.OnActivity(bankActs.QueryTransfer, mock.Anything, models.QueryTransferInput{Reference: "pay_test1", Channel: "banksim"}).
		Return(models.ChargeResult{Status: models.BankProcessing, Channel: "banksim"}, nil).Once()
	env.OnActivity(bankActs.QueryTransfer, mock.Anything, models.QueryTransferInput{Reference: "pay_test1", Channel: "banksim"}).
		Return(models.ChargeResult{Status: models.BankSucceeded, Channel: "banksim", Amount: 1050, Currency: "CNY"}, nil).Once()
	env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentSucceeded, ""))).
		Return(models.FinalizePaymentResult{Status: models.PaymentSucceeded}, nil).Once()
	env.RegisterDelayedCallback(func() {
		st := queryState[models.FlowState](t, env)
		require.Equal(t, models.StageWaitingBank, st.Stage)
		env.SignalWorkflow(SignalBankCallback, models.BankCallback{Reference: "pay_test1", Status: models.BankProcessing})
	}, 5*time.Second)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalBankCallback, models.BankCallback{Reference: "pay_test1", Status: models.BankSucceeded})
	}, 10*time.Second)
	start := env.Now()
	env.ExecuteWorkflow(PaymentWorkflow, paymentInput("tok_processing"))
	res := resultOf[models.PaymentResult](t, env)
	require.Equal(t, models.PaymentSucceeded, res.Status)
	require.Equal(t, models.StageDone, queryState[models.FlowState](t, env).Stage)
	require.Less(t, env.Now().Sub(start), time.Minute, "the callbacks, not the poll timer, woke the flow")
}

// Without a callback, the poll timer queries the bank; a decline found by the query
// ends the payment failed.
func TestPaymentPollsWhenNoCallback(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(bankActs.Charge, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankProcessing}, nil).Once()
	env.OnActivity(bankActs.QueryTransfer, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankProcessing}, nil).Once()
	env.OnActivity(bankActs.QueryTransfer, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankFailed, FailureCode: models.FailureCardDeclined}, nil).Once()
	env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentFailed, models.FailureCardDeclined))).
		Return(models.FinalizePaymentResult{Status: models.PaymentFailed}, nil).Once()
	start := env.Now()
	env.ExecuteWorkflow(PaymentWorkflow, paymentInput("tok_processing"))
	require.NoError(t, env.GetWorkflowError())
	// First poll after 1 minute, the second 2 minutes later.
	require.GreaterOrEqual(t, env.Now().Sub(start), 3*time.Minute)
}

// An unknown outcome (the activity's retries ran out while the bank could not say)
// never fails the payment: the flow waits and queries; a bank that never saw the
// charge lets it be sent again with the same reference.
func TestPaymentUnknownOutcomeQueriesThenRecharges(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(bankActs.Charge, mock.Anything, mock.Anything).Return(models.ChargeResult{}, unknownOutcome()).Once()
	env.OnActivity(bankActs.QueryTransfer, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankNotFound}, nil).Once()
	env.OnActivity(bankActs.Charge, mock.Anything, mock.MatchedBy(func(in models.ChargeInput) bool { return in.Reference == "pay_test1" })).
		Return(models.ChargeResult{Status: models.BankSucceeded}, nil).Once()
	env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentSucceeded, ""))).
		Return(models.FinalizePaymentResult{Status: models.PaymentSucceeded}, nil).Once()
	env.ExecuteWorkflow(PaymentWorkflow, paymentInput("tok_timeout_success"))
	require.NoError(t, env.GetWorkflowError())
}

// A bank that never decides is asked to cancel at the deadline; the payment ends
// failed expired only on the bank's confirmed cancel.
func TestPaymentExpires(t *testing.T) {
	env := newEnv(t)
	in := paymentInput("tok_processing")
	in.BankDeadline = 10 * time.Minute
	env.OnActivity(bankActs.Charge, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankProcessing}, nil).Once()
	env.OnActivity(bankActs.QueryTransfer, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankProcessing}, nil)
	env.OnActivity(bankActs.CancelTransfer, mock.Anything, models.QueryTransferInput{Reference: "pay_test1", Channel: "banksim"}).
		Return(models.ChargeResult{Status: models.BankCanceled, Channel: "banksim"}, nil).Once()
	env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentFailed, models.FailureExpired))).
		Return(models.FinalizePaymentResult{Status: models.PaymentFailed}, nil).Once()
	env.ExecuteWorkflow(PaymentWorkflow, in)
	res := resultOf[models.PaymentResult](t, env)
	require.Equal(t, models.FailureExpired, res.FailureCode)
}

func TestPaymentRejectsBadInput(t *testing.T) {
	env := newEnv(t)
	in := paymentInput("tok_success")
	in.Amount = 0
	env.ExecuteWorkflow(PaymentWorkflow, in)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(env.GetWorkflowError(), &appErr))
	require.Equal(t, "invalid_input", appErr.Type())
}

func isNonRetryable(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}
