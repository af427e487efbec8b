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

// The tests of this file are the workflow side of the exactly-once defects: each
// also runs on the frozen legacy bank call (forced with OnGetVersion), where it must
// fail, so that the suite shows both what was wrong and that it is fixed.

func notCancelable() error {
	return temporal.NewNonRetryableApplicationError("bank cannot cancel", models.ErrTypeNotCancelable, nil)
}

func unknownOutcome() error {
	// Non-retryable here only to end the activity's retries at once; in production
	// they end at the schedule-to-close timeout, with the same last error.
	return temporal.NewNonRetryableApplicationError("timeout", models.ErrTypeUnknownOutcome, nil)
}

func refusedBeforeActing() error {
	return temporal.NewNonRetryableApplicationError("connection refused", models.ErrTypeBankUnavailable, nil)
}

// legacy forces the bank calls recorded before changeBankCallPinned.
func legacy(env *testsuite.TestWorkflowEnvironment) {
	env.OnGetVersion(changeBankCallPinned, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
}

// onBothBankCalls runs test on the pinned bank call and on the legacy one (old).
func onBothBankCalls(t *testing.T, test func(t *testing.T, env *testsuite.TestWorkflowEnvironment, old bool)) {
	for _, old := range []bool{false, true} {
		t.Run(map[bool]string{false: "pinned", true: "legacy"}[old], func(t *testing.T) {
			env := newEnv(t)
			if old {
				legacy(env)
			}
			test(t, env, old)
		})
	}
}

// processingUntil answers the bank's queries processing (at final's channel) until
// more than after has passed since start, then final.
func processingUntil(env *testsuite.TestWorkflowEnvironment, start time.Time, after time.Duration, final models.ChargeResult) func(context.Context, models.QueryTransferInput) (models.ChargeResult, error) {
	return func(context.Context, models.QueryTransferInput) (models.ChargeResult, error) {
		if env.Now().Sub(start) > after {
			return final, nil
		}
		return models.ChargeResult{Status: models.BankProcessing, Channel: final.Channel}, nil
	}
}

// Defect 1: a deadline must not give money back while the bank may still move it. A
// payout still processing at its deadline, which the bank cannot cancel, keeps its
// hold in stage needs_attention, polls at the longest interval, and a late success is
// booked as a success; a payout the bank cancels ends failed expired with the hold
// released.
func TestWithdrawalDeadlineKeepsTheHoldUntilTheBankAnswers(t *testing.T) {
	for _, tc := range []struct {
		name       string
		legacy     bool
		cancelable bool
		want       models.WithdrawalStatus
		wantCode   models.FailureCode
	}{
		{"bank cannot cancel: late success booked", false, false, models.WithdrawalSucceeded, ""},
		{"bank cancels: expired, hold released", false, true, models.WithdrawalFailed, models.FailureExpired},
		{"legacy: released at the deadline", true, false, models.WithdrawalSucceeded, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			if tc.legacy {
				legacy(env)
			}
			in := withdrawalInput(5000)
			in.BankDeadline = 10 * time.Minute
			env.OnActivity(holdActs.PlaceHold, mock.Anything, mock.Anything).Return(models.PlaceHoldResult{HoldID: "hold_1"}, nil).Once()
			env.OnActivity(bankActs.Payout, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankProcessing, Channel: "banksim"}, nil).Once()
			// The bank pays out 3 hours after the deadline.
			start := env.Now()
			env.OnActivity(bankActs.QueryTransfer, mock.Anything, mock.Anything).
				Return(processingUntil(env, start, 3*time.Hour, models.ChargeResult{Status: models.BankSucceeded, Channel: "banksim", Amount: 5000, Currency: "CNY"}))
			if tc.cancelable {
				env.OnActivity(bankActs.CancelTransfer, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankCanceled, Channel: "banksim"}, nil).Once()
			} else if !tc.legacy {
				env.OnActivity(bankActs.CancelTransfer, mock.Anything, mock.Anything).Return(models.ChargeResult{}, notCancelable()).Once()
			}
			var stageAfterDeadline models.Stage
			env.RegisterDelayedCallback(func() { stageAfterDeadline = queryState[models.FlowState](t, env).Stage }, time.Hour)
			env.OnActivity(withdrawalActs.FinalizeWithdrawal, mock.Anything, mock.Anything).Return(
				func(_ context.Context, f models.FinalizeWithdrawalInput) (models.WithdrawalResult, error) {
					return models.WithdrawalResult{Status: f.Status, FailureCode: f.FailureCode}, nil
				}).Once()
			env.ExecuteWorkflow(WithdrawalWorkflow, in)
			res := resultOf[models.WithdrawalResult](t, env)
			if tc.legacy {
				// What the defect did: the hold released at the deadline while the
				// payout was still on its way.
				require.Equal(t, models.WithdrawalFailed, res.Status)
				require.Equal(t, models.FailureExpired, res.FailureCode)
				return
			}
			require.Equal(t, tc.want, res.Status)
			require.Equal(t, tc.wantCode, res.FailureCode)
			if !tc.cancelable {
				require.Equal(t, models.StageNeedsAttention, stageAfterDeadline)
				require.Greater(t, env.Now().Sub(start), 3*time.Hour)
			}
		})
	}
}

// Defect 1, for a refund: a refund still processing at its deadline keeps its
// reservation (the hold on the settlement account) until the bank answers.
func TestRefundDeadlineKeepsTheReservation(t *testing.T) {
	env := newEnv(t)
	in := models.RefundInput{RefundID: "re_1", PaymentID: "pay_1", MerchantID: "mch_demo", Amount: 300, Currency: "CNY",
		Channel: "stripe", Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"},
		BankTiming: models.BankTiming{BankPoll: time.Minute, BankDeadline: time.Hour, BankDeadlines: map[string]time.Duration{models.BankDeadlineKey("stripe", models.TransferRefund): 72 * time.Hour}}}
	env.OnActivity(holdActs.PlaceHold, mock.Anything, mock.Anything).Return(models.PlaceHoldResult{HoldID: "hold_1"}, nil).Once()
	env.OnActivity(bankActs.RefundAtBank, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankProcessing, Channel: "stripe"}, nil).Once()
	start := env.Now()
	env.OnActivity(bankActs.QueryTransfer, mock.Anything, mock.Anything).
		Return(processingUntil(env, start, 100*time.Hour, models.ChargeResult{Status: models.BankSucceeded, Channel: "stripe", Amount: 300, Currency: "CNY"}))
	var cancelAt time.Duration
	env.OnActivity(bankActs.CancelTransfer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ models.QueryTransferInput) (models.ChargeResult, error) {
			cancelAt = env.Now().Sub(start)
			return models.ChargeResult{}, notCancelable()
		}).Once()
	env.OnActivity(refundActs.FinalizeRefund, mock.Anything, mock.MatchedBy(func(f models.FinalizeRefundInput) bool {
		return f.Status == models.RefundSucceeded && f.HoldID == "hold_1"
	})).Return(models.RefundResult{Status: models.RefundSucceeded}, nil).Once()
	env.ExecuteWorkflow(RefundWorkflow, in)
	require.NoError(t, env.GetWorkflowError())
	// Stripe refunds have a deadline of days, not the default hour.
	require.GreaterOrEqual(t, cancelAt, 72*time.Hour)
}

// Defect 3: after an unknown outcome at a channel, the flow stays on that channel: a
// query that says "not found" sends again to the same channel with the same
// reference, never to the next channel of the route; the next channel is tried only
// after the first refused before acting. Defect 6: the payment is booked to the
// channel that executed it, never to the router.
func TestAutoRoutePinsTheChannelOfAnUnknownOutcome(t *testing.T) {
	env := newEnv(t)
	in := paymentInput("tok_success")
	in.Channel = models.ChannelAuto
	env.OnActivity(bankActs.RouteTransfer, mock.Anything, models.ChannelAuto, mock.Anything).
		Return(models.RouteResult{Channels: []string{"banksim", "stripe", "other"}}, nil).Once()
	var sent []string
	env.OnActivity(bankActs.Charge, mock.Anything, mock.Anything).Return(
		func(_ context.Context, c models.ChargeInput) (models.ChargeResult, error) {
			sent = append(sent, c.Channel)
			switch {
			case c.Channel == "banksim":
				return models.ChargeResult{}, refusedBeforeActing()
			case len(sent) == 2:
				return models.ChargeResult{}, unknownOutcome()
			default:
				return models.ChargeResult{Status: models.BankSucceeded, Channel: c.Channel, Amount: 1050, Currency: "CNY"}, nil
			}
		})
	var queried []string
	env.OnActivity(bankActs.QueryTransfer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, q models.QueryTransferInput) (models.ChargeResult, error) {
			queried = append(queried, q.Channel)
			return models.ChargeResult{Status: models.BankNotFound, Channel: q.Channel}, nil
		})
	env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(func(f models.FinalizePaymentInput) bool {
		return f.Status == models.PaymentSucceeded && f.Channel == "stripe"
	})).Return(models.FinalizePaymentResult{Status: models.PaymentSucceeded}, nil).Once()
	env.ExecuteWorkflow(PaymentWorkflow, in)
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, []string{"banksim", "stripe", "stripe"}, sent)
	require.Equal(t, []string{"stripe"}, queried)
	var res models.PaymentResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, "stripe", res.Channel)
}

// Defect 6: an auto charge whose outcome a query resolved is booked to the channel
// that executed it. On the legacy call the query's channel was dropped and the
// payment was posted to bank_clearing/auto.
func TestAutoChargeResolvedByQueryIsBookedToItsChannel(t *testing.T) {
	onBothBankCalls(t, func(t *testing.T, env *testsuite.TestWorkflowEnvironment, old bool) {
		if !old {
			env.OnActivity(bankActs.RouteTransfer, mock.Anything, models.ChannelAuto, mock.Anything).
				Return(models.RouteResult{Channels: []string{"stripe"}}, nil).Once()
		}
		in := paymentInput("tok_processing")
		in.Channel = models.ChannelAuto
		env.OnActivity(bankActs.Charge, mock.Anything, mock.Anything).Return(models.ChargeResult{}, unknownOutcome()).Once()
		env.OnActivity(bankActs.QueryTransfer, mock.Anything, mock.Anything).
			Return(models.ChargeResult{Status: models.BankSucceeded, Channel: "stripe", Amount: 1050, Currency: "CNY"}, nil).Once()
		var booked string
		env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.Anything).Return(
			func(_ context.Context, f models.FinalizePaymentInput) (models.FinalizePaymentResult, error) {
				booked = f.Channel
				return models.FinalizePaymentResult{Status: f.Status}, nil
			}).Once()
		env.ExecuteWorkflow(PaymentWorkflow, in)
		require.NoError(t, env.GetWorkflowError())
		if old {
			require.Equal(t, models.ChannelAuto, booked, "the legacy defect")
			return
		}
		require.Equal(t, "stripe", booked)
	})
}

// Defect 4: an operator's cancel must not stop the reversal it causes. The charge
// succeeds after the cancel (the bank could not cancel it), the reversal's first
// answer is unknown and its query says "not found": the reversal is sent again with
// the same reference until the bank refunds, and the payment ends failed canceled.
func TestCanceledPaymentReversalIsSentAgainAfterNotFound(t *testing.T) {
	onBothBankCalls(t, func(t *testing.T, env *testsuite.TestWorkflowEnvironment, old bool) {
		if !old {
			env.OnActivity(bankActs.CancelTransfer, mock.Anything, mock.Anything).Return(models.ChargeResult{}, notCancelable()).Once()
		}
		env.OnActivity(bankActs.Charge, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankProcessing, Channel: "banksim"}, nil).Once()
		chargeQueries := 0
		env.OnActivity(bankActs.QueryTransfer, mock.Anything, mock.Anything).Return(
			func(_ context.Context, q models.QueryTransferInput) (models.ChargeResult, error) {
				if q.Reference == "pay_test1" {
					chargeQueries++
					return models.ChargeResult{Status: models.BankSucceeded, Channel: "banksim", Amount: 1050, Currency: "CNY"}, nil
				}
				return models.ChargeResult{Status: models.BankNotFound, Channel: "banksim"}, nil
			})
		refunds := 0
		env.OnActivity(bankActs.RefundAtBank, mock.Anything, mock.Anything).Return(
			func(_ context.Context, r models.RefundAtBankInput) (models.ChargeResult, error) {
				refunds++
				if refunds == 1 {
					return models.ChargeResult{}, unknownOutcome()
				}
				return models.ChargeResult{Status: models.BankSucceeded, Channel: "banksim", Amount: 1050, Currency: "CNY"}, nil
			})
		finalized := ""
		env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.Anything).Return(
			func(_ context.Context, f models.FinalizePaymentInput) (models.FinalizePaymentResult, error) {
				finalized = string(f.Status) + "/" + string(f.FailureCode)
				return models.FinalizePaymentResult{Status: f.Status}, nil
			}).Maybe()
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(UpdateCancel, "c1", updateCallbacks{rejected: func() { t.Error("cancel refused") }}, models.Decision{Operator: "ops", Reason: "customer asked"})
		}, 10*time.Second)
		env.ExecuteWorkflow(PaymentWorkflow, paymentInput("tok_processing"))
		if old {
			// What the defect did: the reversal was never sent again, the
			// customer stayed charged and the flow failed.
			require.Error(t, env.GetWorkflowError())
			require.Equal(t, 1, refunds)
			return
		}
		require.NoError(t, env.GetWorkflowError())
		require.Equal(t, 2, refunds)
		require.Equal(t, "failed/canceled", finalized)
	})
}

// Defect 8, the flow's side: a callback is a hint. A callback that claims a payout
// failed does not release the hold; the flow asks its own channel, which says it is
// still processing, and the payout's real outcome decides.
func TestForgedCallbackDoesNotDecide(t *testing.T) {
	onBothBankCalls(t, func(t *testing.T, env *testsuite.TestWorkflowEnvironment, old bool) {
		in := withdrawalInput(5000)
		in.Channel = "stripe"
		env.OnActivity(holdActs.PlaceHold, mock.Anything, mock.Anything).Return(models.PlaceHoldResult{HoldID: "hold_1"}, nil).Once()
		env.OnActivity(bankActs.Payout, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankProcessing, Channel: "stripe"}, nil).Once()
		start := env.Now()
		env.OnActivity(bankActs.QueryTransfer, mock.Anything, models.QueryTransferInput{Reference: "wd_test1", Channel: "stripe"}).
			Return(processingUntil(env, start, 30*time.Minute, models.ChargeResult{Status: models.BankSucceeded, Channel: "stripe", Amount: 5000, Currency: "CNY"})).Maybe()
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(SignalBankCallback, models.BankCallback{Reference: "wd_test1", Channel: "banksim",
				Status: models.BankFailed, FailureCode: models.FailureAccountClosed, EventID: "forged"})
		}, 5*time.Second)
		var got models.FinalizeWithdrawalInput
		env.OnActivity(withdrawalActs.FinalizeWithdrawal, mock.Anything, mock.Anything).Return(
			func(_ context.Context, f models.FinalizeWithdrawalInput) (models.WithdrawalResult, error) {
				got = f
				return models.WithdrawalResult{Status: f.Status, FailureCode: f.FailureCode}, nil
			}).Once()
		env.ExecuteWorkflow(WithdrawalWorkflow, in)
		require.NoError(t, env.GetWorkflowError())
		if old {
			require.Equal(t, models.WithdrawalFailed, got.Status, "the legacy defect: the forged callback released the hold")
			return
		}
		require.Equal(t, models.WithdrawalSucceeded, got.Status)
	})
}

// An answer of the bank for another amount or currency than ours is not acted on:
// the flow moves to needs_attention and keeps what it holds, until the bank answers
// for our amount.
func TestBankAnswerWithAnotherAmountNeedsAttention(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(holdActs.PlaceHold, mock.Anything, mock.Anything).Return(models.PlaceHoldResult{HoldID: "hold_1"}, nil).Once()
	env.OnActivity(bankActs.Payout, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankProcessing, Channel: "banksim"}, nil).Once()
	start := env.Now()
	env.OnActivity(bankActs.QueryTransfer, mock.Anything, mock.Anything).Return(
		func(_ context.Context, _ models.QueryTransferInput) (models.ChargeResult, error) {
			if env.Now().Sub(start) > 6*time.Hour {
				return models.ChargeResult{Status: models.BankFailed, FailureCode: models.FailureAccountClosed, Channel: "banksim", Amount: 5000, Currency: "CNY"}, nil
			}
			return models.ChargeResult{Status: models.BankFailed, FailureCode: models.FailureAccountClosed, Channel: "banksim", Amount: 1, Currency: "CNY"}, nil
		})
	var st models.FlowState
	env.RegisterDelayedCallback(func() { st = queryState[models.FlowState](t, env) }, 5*time.Hour)
	env.OnActivity(withdrawalActs.FinalizeWithdrawal, mock.Anything, mock.MatchedBy(finalizedWithdrawal(models.WithdrawalFailed, models.FailureAccountClosed, "hold_1"))).
		Return(models.WithdrawalResult{Status: models.WithdrawalFailed}, nil).Once()
	env.ExecuteWorkflow(WithdrawalWorkflow, withdrawalInput(5000))
	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, models.StageNeedsAttention, st.Stage)
	require.Contains(t, st.LastError, "answered 1 CNY")
	require.Greater(t, env.Now().Sub(start), 6*time.Hour)
}

// A cancel request made through Temporal (not the flow's cancel Update) does not end
// a money flow midway: the charge the bank completes is still booked.
func TestTemporalCancelDoesNotStrandMoney(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(bankActs.Charge, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankProcessing, Channel: "banksim"}, nil).Once()
	env.OnActivity(bankActs.QueryTransfer, mock.Anything, mock.Anything).
		Return(models.ChargeResult{Status: models.BankSucceeded, Channel: "banksim", Amount: 1050, Currency: "CNY"}, nil).Once()
	env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentSucceeded, ""))).
		Return(models.FinalizePaymentResult{Status: models.PaymentSucceeded}, nil).Once()
	env.RegisterDelayedCallback(env.CancelWorkflow, 5*time.Second)
	env.ExecuteWorkflow(PaymentWorkflow, paymentInput("tok_processing"))
	res := resultOf[models.PaymentResult](t, env)
	require.Equal(t, models.PaymentSucceeded, res.Status)
}

// A compensation's reversal is never canceled at its deadline (the customer's money
// must go back): it needs attention and goes on until the bank refunds. Found by the
// simulation (seeds 283 and 420): the reversal was canceled at the deadline and the
// payment's flow failed with the customer charged.
func TestReversalPastItsDeadlineIsNotCanceled(t *testing.T) {
	env := newEnv(t)
	in := paymentInput("tok_success")
	in.BankDeadline = 10 * time.Minute
	env.OnActivity(bankActs.Charge, mock.Anything, mock.Anything).
		Return(models.ChargeResult{Status: models.BankSucceeded, Channel: "banksim", Amount: 1050, Currency: "CNY"}, nil).Once()
	env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentSucceeded, ""))).
		Return(models.FinalizePaymentResult{}, temporal.NewNonRetryableApplicationError("disabled", string(models.FailureMerchantDisabled), nil)).Once()
	env.OnActivity(bankActs.RefundAtBank, mock.Anything, mock.Anything).
		Return(models.ChargeResult{Status: models.BankProcessing, Channel: "banksim"}, nil).Once()
	start := env.Now()
	env.OnActivity(bankActs.QueryTransfer, mock.Anything, models.QueryTransferInput{Reference: "rev_pay_test1", Channel: "banksim"}).
		Return(processingUntil(env, start, 5*time.Hour, models.ChargeResult{Status: models.BankSucceeded, Channel: "banksim", Amount: 1050, Currency: "CNY"}))
	env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentFailed, models.FailureMerchantDisabled))).
		Return(models.FinalizePaymentResult{Status: models.PaymentFailed}, nil).Once()
	env.ExecuteWorkflow(PaymentWorkflow, in)
	require.NoError(t, env.GetWorkflowError())
	// CancelTransfer has no expectation: a call would fail the test.
}
