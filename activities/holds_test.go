package activities_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/models"
)

// A refund's hold reserves money on the merchant's settlement account: nothing can be
// held before the merchant was paid; after a captured payment, a hold under a key is
// placed once (a second run of the activity finds the same hold), and what is held is
// no longer available to another hold.
func TestPlaceHoldOnSettlement(t *testing.T) {
	f := newMoneyFixture(t, testenv.SQLite)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	holds := &activities.Holds{Store: f.st, Ledger: f.l, Log: f.log}
	payments := &activities.Payments{Store: f.st, Ledger: f.l, Log: f.log}
	env.RegisterActivity(holds)
	env.RegisterActivity(payments)
	hold := func(key string, amount int64) models.PlaceHoldResult {
		t.Helper()
		v, err := env.ExecuteActivity(holds.PlaceHold, models.PlaceHoldInput{
			Key: key, MerchantID: f.pay.MerchantID, Amount: amount, Currency: f.pay.Currency,
			Flow: models.FlowRefund, FlowID: key,
		})
		require.NoError(t, err)
		var res models.PlaceHoldResult
		require.NoError(t, v.Get(&res))
		return res
	}

	require.Equal(t, models.PlaceHoldResult{FailureCode: models.FailureInsufficientFunds}, hold("refund/re_0/hold", 5000),
		"nothing settled yet: the refund cannot be covered, and nothing is held")

	_, err := env.ExecuteActivity(payments.FinalizePayment, models.FinalizePaymentInput{
		PaymentID: f.pay.ID, MerchantID: f.pay.MerchantID, Amount: f.pay.Amount, Currency: f.pay.Currency,
		Channel: "banksim", Source: f.pay.Source, Status: models.PaymentSucceeded,
		PostingKey: "payment/" + f.pay.ID + "/capture",
	})
	require.NoError(t, err) // 10000 captured, fee 100: 9900 settled

	first := hold("refund/re_1/hold", 5000)
	require.Equal(t, models.FailureNone, first.FailureCode)
	require.NotEmpty(t, first.HoldID)
	require.Equal(t, first, hold("refund/re_1/hold", 5000), "a second run finds the first hold")
	require.Equal(t, models.FailureInsufficientFunds, hold("refund/re_2/hold", 5000).FailureCode,
		"4900 left available: a second 5000 is not covered")
	require.Equal(t, models.FailureNone, hold("refund/re_3/hold", 4900).FailureCode)
}
