package workflows

import (
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/models"
)

// The payment saga, failing each step in turn: a failed charge compensates nothing;
// a posting refused after the charge reverses the charge at the bank exactly once
// and ends the payment failed with the refusal's code; a successful posting
// compensates nothing.
func TestPaymentSagaFailsEachStep(t *testing.T) {
	refused := func(code string) error { return temporal.NewNonRetryableApplicationError("refused", code, nil) }
	tests := []struct {
		name       string
		chargeErr  error
		postErr    error
		reversals  int
		wantStatus models.PaymentStatus
		wantCode   models.FailureCode
	}{
		{"charge declined", refused(string(models.FailureCardDeclined)), nil, 0, models.PaymentFailed, models.FailureCardDeclined},
		{"ledger refuses the posting", nil, refused(models.ErrTypeLedgerRejected), 1, models.PaymentFailed, models.FailureLedgerRejected},
		{"merchant disabled mid-flight", nil, refused(string(models.FailureMerchantDisabled)), 1, models.PaymentFailed, models.FailureMerchantDisabled},
		{"every step succeeds", nil, nil, 0, models.PaymentSucceeded, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			env.OnActivity(bankActs.Charge, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankSucceeded, Channel: "banksim"}, tc.chargeErr).Once()
			if tc.chargeErr == nil {
				env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentSucceeded, ""))).
					Return(models.FinalizePaymentResult{Status: models.PaymentSucceeded}, tc.postErr).Once()
			}
			if tc.reversals > 0 {
				env.OnActivity(bankActs.RefundAtBank, mock.Anything, models.RefundAtBankInput{
					Reference: "rev_pay_test1", ChargeReference: "pay_test1", MerchantID: "mch_demo",
					Amount: 1050, Currency: "CNY", Channel: "banksim",
				}).Return(models.ChargeResult{Status: models.BankSucceeded}, nil).Times(tc.reversals)
			}
			if tc.wantStatus == models.PaymentFailed {
				env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentFailed, tc.wantCode))).
					Return(models.FinalizePaymentResult{Status: models.PaymentFailed}, nil).Once()
			}
			requirePaymentEnds(t, env, paymentInput("tok_success"), tc.wantStatus, tc.wantCode)
		})
	}
}

// A top-up whose wallet credit is refused (by the ledger, or for a merchant disabled
// while the bank charged the card) refunds the card exactly once and ends failed with
// the refusal's code.
func TestTopupCompensates(t *testing.T) {
	for _, code := range []models.FailureCode{models.FailureLedgerRejected, models.FailureMerchantDisabled} {
		t.Run(string(code), func(t *testing.T) {
			env := newEnv(t)
			env.OnActivity(bankActs.Charge, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankSucceeded, Channel: "banksim"}, nil).Once()
			env.OnActivity(topupActs.FinalizeTopup, mock.Anything, mock.MatchedBy(func(in models.FinalizeTopupInput) bool { return in.Status == models.TopupSucceeded })).
				Return(models.TopupResult{}, temporal.NewNonRetryableApplicationError("refused", string(code), nil)).Once()
			env.OnActivity(bankActs.RefundAtBank, mock.Anything, mock.MatchedBy(func(in models.RefundAtBankInput) bool {
				return in.Reference == "rev_top_1" && in.ChargeReference == "top_1" && in.Amount == 700
			})).Return(models.ChargeResult{Status: models.BankSucceeded}, nil).Once()
			env.OnActivity(topupActs.FinalizeTopup, mock.Anything, mock.MatchedBy(func(in models.FinalizeTopupInput) bool {
				return in.Status == models.TopupFailed && in.FailureCode == code
			})).Return(models.TopupResult{Status: models.TopupFailed, FailureCode: code}, nil).Once()
			env.ExecuteWorkflow(TopupWorkflow, models.TopupInput{TopupID: "top_1", MerchantID: "mch_demo", AccountID: "acct_1", Amount: 700,
				Currency: "CNY", Token: "tok_success", Channel: "banksim", BankTiming: models.BankTiming{BankPoll: 60e9, BankDeadline: 3600e9}})
			res := resultOf[models.TopupResult](t, env)
			require.Equal(t, models.TopupFailed, res.Status)
			require.Equal(t, code, res.FailureCode)
		})
	}
}

func TestRefundFlow(t *testing.T) {
	in := models.RefundInput{RefundID: "re_1", PaymentID: "pay_1", MerchantID: "mch_demo", Amount: 300, Currency: "CNY",
		Channel: "banksim", Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"}, BankTiming: models.BankTiming{BankPoll: 60e9, BankDeadline: 3600e9}}
	tests := []struct {
		name     string
		holdCode models.FailureCode
		bankErr  error
		wallet   bool
		status   models.RefundStatus
		code     models.FailureCode
		holdID   string
	}{
		{"refunded at the bank", "", nil, false, models.RefundSucceeded, "", "hold_1"},
		{"merchant cannot cover it", models.FailureInsufficientFunds, nil, false, models.RefundFailed, models.FailureInsufficientFunds, ""},
		{"bank refuses, hold released", "", temporal.NewNonRetryableApplicationError("x", "refund_exceeds_charge", nil), false, models.RefundFailed, "refund_exceeds_charge", "hold_1"},
		{"wallet payment needs no bank", "", nil, true, models.RefundSucceeded, "", "hold_1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			expectHold(env, "refund/re_1/hold", "", 300, tc.holdCode)
			rin := in
			if tc.wallet {
				rin.Source = models.PaymentSource{Type: models.SourceAccount, AccountID: "acct_1"}
			} else if tc.holdCode == "" {
				env.OnActivity(bankActs.RefundAtBank, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankSucceeded}, tc.bankErr).Once()
			}
			env.OnActivity(refundActs.FinalizeRefund, mock.Anything, mock.MatchedBy(func(f models.FinalizeRefundInput) bool {
				return f.Status == tc.status && f.FailureCode == tc.code && f.HoldID == tc.holdID && f.PostingKey == "refund/re_1/reverse"
			})).Return(models.RefundResult{Status: tc.status, FailureCode: tc.code}, nil).Once()
			env.ExecuteWorkflow(RefundWorkflow, rin)
			require.NoError(t, env.GetWorkflowError())
		})
	}
}
