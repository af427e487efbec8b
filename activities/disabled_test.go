package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"gorm.io/gorm"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// The steps before money leaves refuse a disabled merchant: a hold (a refund's on the
// settlement account, a withdrawal's on a wallet) answers merchant_disabled and holds
// nothing, a top-up's credit is refused (the flow reverses the charge), and a
// withdrawal's running status is refused when the flow names the merchant. A step
// that ran before the disable (its key found) answers what it did.
func TestDisabledMerchantStepsRefuse(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			f := newMoneyFixture(t, b)
			ctx := context.Background()
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			payments := &activities.Payments{Store: f.st, Ledger: f.l, Log: f.log}
			holds := &activities.Holds{Store: f.st, Ledger: f.l, Log: f.log}
			topups := &activities.Topups{Store: f.st, Ledger: f.l, Log: f.log}
			withdrawals := &activities.Withdrawals{Store: f.st, Ledger: f.l, Log: f.log}
			for _, a := range []any{payments, holds, topups, withdrawals} {
				env.RegisterActivity(a)
			}
			merchant := f.pay.MerchantID
			_, err := env.ExecuteActivity(payments.FinalizePayment, models.FinalizePaymentInput{
				PaymentID: f.pay.ID, MerchantID: merchant, Amount: f.pay.Amount, Currency: f.pay.Currency,
				Channel: "banksim", Source: f.pay.Source, Status: models.PaymentSucceeded,
				PostingKey: "payment/" + f.pay.ID + "/capture",
			})
			require.NoError(t, err) // 9900 settled

			wallet := ledger.NewWallet(models.NewID(models.PrefixAccount), merchant, "CNY", "customer-1")
			now := time.Now().UTC()
			top := func(id string) models.FinalizeTopupInput {
				return models.FinalizeTopupInput{TopupID: id, MerchantID: merchant, AccountID: wallet.ID, Amount: 3000, Currency: "CNY",
					Channel: "banksim", Status: models.TopupSucceeded, PostingKey: "topup/" + id + "/credit"}
			}
			wd := models.Withdrawal{ID: models.NewID(models.PrefixWithdrawal), Object: "withdrawal", MerchantID: merchant, AccountID: wallet.ID,
				Amount: 1000, Currency: "CNY", Destination: models.Destination{BankAccount: "ba_success"}, Channel: "banksim",
				Status: models.WithdrawalProcessing, CreatedAt: now, UpdatedAt: now}
			require.NoError(t, f.st.DB().Transaction(func(tx *gorm.DB) error {
				if err := ledger.InsertWallet(tx, wallet); err != nil {
					return err
				}
				for _, id := range []string{"top_before", "top_after"} {
					if err := store.InsertTopup(tx, models.Topup{ID: id, Object: "topup", MerchantID: merchant, AccountID: wallet.ID,
						Amount: 3000, Currency: "CNY", Channel: "banksim", Status: models.TopupProcessing, CreatedAt: now, UpdatedAt: now}); err != nil {
						return err
					}
				}
				return store.InsertWithdrawal(tx, wd)
			}))
			hold := func(key, account string) models.PlaceHoldResult {
				t.Helper()
				v, err := env.ExecuteActivity(holds.PlaceHold, models.PlaceHoldInput{Key: key, AccountID: account, MerchantID: merchant,
					Amount: 1000, Currency: "CNY", Flow: models.FlowRefund, FlowID: key})
				require.NoError(t, err)
				var res models.PlaceHoldResult
				require.NoError(t, v.Get(&res))
				return res
			}
			credit := func(in models.FinalizeTopupInput) (models.TopupResult, error) {
				v, err := env.ExecuteActivity(topups.FinalizeTopup, in)
				var res models.TopupResult
				if err == nil {
					require.NoError(t, v.Get(&res))
				}
				return res, err
			}
			before := hold("refund/re_before/hold", "")
			require.NotEmpty(t, before.HoldID)
			credited, err := credit(top("top_before"))
			require.NoError(t, err)

			require.NoError(t, f.st.SetMerchantStatus(ctx, merchant, models.MerchantDisabled))

			require.Equal(t, before, hold("refund/re_before/hold", ""), "a hold placed before the disable is answered again")
			require.Equal(t, models.PlaceHoldResult{FailureCode: models.FailureMerchantDisabled}, hold("refund/re_after/hold", ""))
			require.Equal(t, models.PlaceHoldResult{FailureCode: models.FailureMerchantDisabled}, hold("withdrawal/"+wd.ID+"/hold", wallet.ID))
			settlement, err := f.l.AccountBySpec(ctx, ledger.SettlementSpec(merchant, "CNY"))
			require.NoError(t, err)
			require.Equal(t, int64(1000), settlement.Held, "only the hold placed before the disable")

			again, err := credit(top("top_before"))
			require.NoError(t, err, "a credit booked before the disable is answered again")
			require.Equal(t, credited, again)
			_, err = credit(top("top_after"))
			require.Equal(t, string(models.FailureMerchantDisabled), appErrType(t, err))
			failed := top("top_after")
			failed.Status, failed.FailureCode = models.TopupFailed, models.FailureMerchantDisabled
			res, err := credit(failed)
			require.NoError(t, err, "the failure is recorded")
			require.Equal(t, models.TopupFailed, res.Status)
			w, err := f.l.Account(ctx, merchant, wallet.ID)
			require.NoError(t, err)
			require.Equal(t, int64(3000), w.Balance, "only the credit booked before the disable")

			_, err = env.ExecuteActivity(withdrawals.SetWithdrawalStatus, models.SetWithdrawalStatusInput{
				WithdrawalID: wd.ID, Status: models.WithdrawalPendingApproval, MerchantID: merchant})
			require.Equal(t, string(models.FailureMerchantDisabled), appErrType(t, err))
			got, err := f.st.Withdrawal(ctx, merchant, wd.ID)
			require.NoError(t, err)
			require.Equal(t, models.WithdrawalProcessing, got.Status, "a refused status is not recorded")
			_, err = env.ExecuteActivity(withdrawals.SetWithdrawalStatus, models.SetWithdrawalStatusInput{
				WithdrawalID: wd.ID, Status: models.WithdrawalPendingApproval})
			require.NoError(t, err, "a flow of the earlier shape names no merchant and records its status")

			rep, err := f.l.Check(ctx)
			require.NoError(t, err)
			require.True(t, rep.OK)
		})
	}
}

// A disabled merchant's charge is not sent to the bank when no request of its
// reference can be there: the flow's first send (FirstSend) on an attempt that no
// other can have preceded at the bank (the first, or one after refusals proved before
// acting) answers the business error merchant_disabled, and the bank sees nothing. Once
// a request may be at the bank (an earlier attempt that may have acted, a worker that
// died without a word, a resend of the flow after an unknown outcome), the charge goes
// on as before: asked for, or sent again with the same reference, never given up into
// a failure while the bank may still move the money.
func TestDisabledMerchantChargeNotSent(t *testing.T) {
	tests := []struct {
		name      string
		active    bool
		firstSend bool
		attempt   int32
		prev      *progress
		// atBank: an earlier request of the reference was executed at the bank.
		atBank bool
		// errType is the answer's error type ("": it succeeded).
		errType string
		// charges, queries: requests the bank received.
		charges, queries int
		// heartbeat is what the attempt left for the next one.
		heartbeat *progress
	}{
		{name: "first send, first attempt: not sent", firstSend: true, attempt: 1,
			errType: string(models.FailureMerchantDisabled), heartbeat: &progress{Channel: "b", RefusedThrough: 1}},
		{name: "first send, earlier attempts refused before acting: not sent", firstSend: true, attempt: 3,
			prev:    &progress{Channel: "b", RefusedThrough: 2},
			errType: string(models.FailureMerchantDisabled), heartbeat: &progress{Channel: "b", RefusedThrough: 3}},
		{name: "an earlier attempt may have acted: found at the bank", firstSend: true, attempt: 2,
			prev: &progress{MayHaveActed: true, Channel: "b"}, atBank: true, queries: 1},
		{name: "an earlier attempt may have acted: asked, then sent again", firstSend: true, attempt: 2,
			prev: &progress{MayHaveActed: true, Channel: "b"}, queries: 1, charges: 1},
		{name: "a worker died mid-call without details: asked, then sent again", firstSend: true, attempt: 2,
			queries: 1, charges: 1},
		{name: "refusals proved only through an earlier attempt: asked, then sent again", firstSend: true, attempt: 3,
			prev: &progress{Channel: "b", RefusedThrough: 1}, queries: 1, charges: 1},
		{name: "a resend of the flow after an unknown outcome: sent", attempt: 1, charges: 1},
		{name: "active merchant, first send: sent", active: true, firstSend: true, attempt: 1, charges: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newMoneyFixture(t, testenv.SQLite)
			b := newModelBank("b")
			acts := &activities.Bank{Channels: bank.NewRegistry(b), Store: f.st, Log: f.log}
			if !tc.active {
				require.NoError(t, f.st.SetMerchantStatus(context.Background(), f.pay.MerchantID, models.MerchantDisabled))
			}
			in := models.ChargeInput{Reference: f.pay.ID, MerchantID: f.pay.MerchantID, Amount: f.pay.Amount, Currency: f.pay.Currency,
				Token: "tok_success", Channel: "b", FirstSend: tc.firstSend}
			if tc.atBank {
				b.executed[in.Reference] = models.BankSucceeded
			}
			env := newAttemptEnv(t, acts, tc.attempt, tc.prev)
			res, err := env.charge(t, acts, in)
			if tc.errType != "" {
				require.Equal(t, tc.errType, appErrType(t, err))
				var appErr *temporal.ApplicationError
				require.ErrorAs(t, err, &appErr)
				require.True(t, appErr.NonRetryable(), "a definitive answer: the flow ends failed merchant_disabled")
				require.Equal(t, tc.heartbeat, env.heartbeat())
				_, err := f.st.BankTransferByReference(context.Background(), in.Reference)
				require.ErrorIs(t, err, store.ErrNotFound, "nothing at the bank, nothing to reconcile")
			} else {
				require.NoError(t, err)
				require.Equal(t, models.BankSucceeded, res.Status)
			}
			require.Equal(t, tc.charges, b.charges, "charges sent to the bank")
			require.Equal(t, tc.queries, b.queries, "queries of the bank")
			require.LessOrEqual(t, len(b.executed), 1, "the reference executed at most once")
		})
	}
}

// A charge whose merchant cannot be read is retried, and the attempt proves it sent
// nothing: the next attempt checks the merchant again instead of asking the bank.
func TestChargeMerchantUnreadableIsRetriedWithoutSending(t *testing.T) {
	f := newMoneyFixture(t, testenv.SQLite)
	b := newModelBank("b")
	acts := &activities.Bank{Channels: bank.NewRegistry(b), Store: f.st, Log: f.log}
	in := models.ChargeInput{Reference: f.pay.ID, MerchantID: "mch_unknown", Amount: f.pay.Amount, Currency: f.pay.Currency,
		Token: "tok_success", Channel: "b", FirstSend: true}
	env := newAttemptEnv(t, acts, 1, nil)
	_, err := env.charge(t, acts, in)
	require.Equal(t, models.ErrTypeDatabase, appErrType(t, err))
	require.Equal(t, &progress{Channel: "b", RefusedThrough: 1}, env.heartbeat())
	require.Zero(t, b.charges+b.queries)
}
