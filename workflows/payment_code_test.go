package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
)

func walletCodeInput(confirm bool) models.PaymentInput {
	return models.PaymentInput{
		PaymentID: "pay_test1", MerchantID: "mch_demo", Amount: 50000, Currency: "CNY",
		Source:               models.PaymentSource{Type: models.SourcePaymentCode, AccountID: "acct_w1", Code: "99************3456"},
		Channel:              "ledger",
		ConfirmationRequired: confirm, ConfirmWithin: 30 * time.Second,
	}
}

// A wallet code payment: under the merchant's no_password_limit it posts at once;
// over it, it waits in waiting_customer for the wallet owner's confirmation (the
// confirm Update, refused for another wallet or when nothing waits), and without it
// in 30 s, or on an operator's cancel, it fails and nothing is debited (no success
// posting is ever asked for).
func TestWalletCodePayment(t *testing.T) {
	tests := []struct {
		name    string
		confirm bool
		at      time.Duration
		status  models.PaymentStatus
		code    models.FailureCode
	}{
		{name: "under the limit", status: models.PaymentSucceeded},
		{name: "confirmed", confirm: true, at: 10 * time.Second, status: models.PaymentSucceeded},
		{name: "confirmed at the last instant", confirm: true, at: 29*time.Second + 900*time.Millisecond, status: models.PaymentSucceeded},
		{name: "never confirmed", confirm: true, status: models.PaymentFailed, code: models.FailureCustomerNotConfirmed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(tc.status, tc.code))).
				Return(models.FinalizePaymentResult{Status: tc.status, JournalID: "jnl_1"}, nil).Once()
			var stage models.Stage
			var refusedWrongWallet, accepted bool
			if tc.at > 0 {
				env.RegisterDelayedCallback(func() {
					stage = queryState[models.FlowState](t, env).Stage
					env.UpdateWorkflow(UpdateConfirm, "wrong", updateCallbacks{rejected: func() { refusedWrongWallet = true }}, models.ConfirmPayment{AccountID: "acct_other"})
					env.UpdateWorkflow(UpdateConfirm, "owner", updateCallbacks{accepted: func() { accepted = true }}, models.ConfirmPayment{AccountID: "acct_w1"})
				}, tc.at)
			}
			requirePaymentEnds(t, env, walletCodeInput(tc.confirm), tc.status, tc.code)
			if tc.at > 0 {
				require.Equal(t, models.StageWaitingCustomer, stage)
				require.True(t, refusedWrongWallet, "another wallet's confirmation is refused")
				require.True(t, accepted)
			}
		})
	}
}

// An operator cancels a payment waiting for its customer: it fails canceled,
// nothing debited.
func TestWalletCodePaymentCanceledWhileWaiting(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentFailed, models.FailureCanceled))).
		Return(models.FinalizePaymentResult{Status: models.PaymentFailed}, nil).Once()
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateCancel, "c1", updateCallbacks{rejected: func() { t.Error("cancel refused") }}, models.Decision{Operator: "ops", Reason: "customer walked away"})
	}, 5*time.Second)
	requirePaymentEnds(t, env, walletCodeInput(true), models.PaymentFailed, models.FailureCanceled)
}

// A card payment never waits for a customer: its confirm Update is refused.
func TestConfirmRefusedWhenNothingWaits(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(bankActs.Charge, mock.Anything, mock.Anything).Return(models.ChargeResult{Status: models.BankProcessing, Channel: "banksim"}, nil).Once()
	env.OnActivity(bankActs.QueryTransfer, mock.Anything, mock.Anything).
		Return(models.ChargeResult{Status: models.BankSucceeded, Channel: "banksim", Amount: 1050, Currency: "CNY"}, nil).Once()
	env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(models.PaymentSucceeded, ""))).
		Return(models.FinalizePaymentResult{Status: models.PaymentSucceeded}, nil).Once()
	refused := false
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateConfirm, "u", updateCallbacks{rejected: func() { refused = true }}, models.ConfirmPayment{AccountID: ""})
	}, time.Second)
	requirePaymentEnds(t, env, paymentInput("tok_x"), models.PaymentSucceeded, "")
	require.True(t, refused)
}

func providerCodeInput() models.PaymentInput {
	return models.PaymentInput{
		PaymentID: "pay_test1", MerchantID: "mch_demo", Amount: 1050, Currency: "CNY",
		Source:        models.PaymentSource{Type: models.SourcePaymentCode, Code: "281234567890123451"},
		Channel:       "alipaysim",
		ConfirmWithin: 30 * time.Second,
		BankTiming:    models.BankTiming{BankPoll: time.Minute, BankDeadline: 24 * time.Hour},
	}
}

// A wallet provider's payment code is charged at its provider with the whole code;
// USERPAYING (processing) waits in waiting_customer, querying every few seconds,
// until the customer confirms, or until ConfirmWithin, when the flow cancels the
// trade (which gives back a payment that landed meanwhile) and fails
// customer_not_confirmed.
func TestProviderCodePayment(t *testing.T) {
	processing := models.ChargeResult{Status: models.BankProcessing, Channel: "alipaysim"}
	paid := models.ChargeResult{Status: models.BankSucceeded, Channel: "alipaysim", Amount: 1050, Currency: "CNY"}
	tests := []struct {
		name    string
		charge  models.ChargeResult
		queries []models.ChargeResult
		cancel  *models.ChargeResult
		status  models.PaymentStatus
		code    models.FailureCode
	}{
		{name: "paid at once", charge: paid, status: models.PaymentSucceeded},
		{name: "confirmed in the app", charge: processing, queries: []models.ChargeResult{processing, processing, paid}, status: models.PaymentSucceeded},
		{name: "never confirmed, paid during the cancel: reversed", charge: processing,
			// Queried at 3, 9 and 21 s (the wait doubles) and at the deadline, 30 s.
			queries: []models.ChargeResult{processing, processing, processing, processing},
			cancel:  &models.ChargeResult{Status: models.BankCanceled, Channel: "alipaysim", Amount: 1050, Currency: "CNY"},
			status:  models.PaymentFailed, code: models.FailureCustomerNotConfirmed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t)
			env.OnActivity(bankActs.Charge, mock.Anything, mock.MatchedBy(func(in models.ChargeInput) bool {
				return in.Token == "281234567890123451" && in.Channel == "alipaysim"
			})).Return(tc.charge, nil).Once()
			for _, q := range tc.queries {
				env.OnActivity(bankActs.QueryTransfer, mock.Anything, models.QueryTransferInput{Reference: "pay_test1", Channel: "alipaysim"}).Return(q, nil).Once()
			}
			if tc.cancel != nil {
				env.OnActivity(bankActs.CancelTransfer, mock.Anything, models.QueryTransferInput{Reference: "pay_test1", Channel: "alipaysim"}).Return(*tc.cancel, nil).Once()
			}
			env.OnActivity(paymentActs.FinalizePayment, mock.Anything, mock.MatchedBy(finalizeWith(tc.status, tc.code))).
				Return(models.FinalizePaymentResult{Status: tc.status}, nil).Once()
			var stage models.Stage
			if len(tc.queries) > 0 {
				env.RegisterDelayedCallback(func() { stage = queryState[models.FlowState](t, env).Stage }, time.Second)
			}
			requirePaymentEnds(t, env, providerCodeInput(), tc.status, tc.code)
			if len(tc.queries) > 0 {
				require.Equal(t, models.StageWaitingCustomer, stage)
			}
		})
	}
}
