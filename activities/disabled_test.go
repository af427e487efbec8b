package activities_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"gorm.io/gorm"

	"github.com/payflow/payflow/activities"
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
