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

// fundFixture is a wallet holding 200000 with the fund activities on its database.
type fundFixture struct {
	moneyFixture
	wallet string
	acts   *activities.Fund
	holds  *activities.Holds
	env    *testsuite.TestActivityEnvironment
}

func newFundFixture(t *testing.T, b testenv.Backend) *fundFixture {
	t.Helper()
	ctx := context.Background()
	f := &fundFixture{moneyFixture: newMoneyFixture(t, b)}
	w := ledger.NewWallet(models.NewID(models.PrefixAccount), f.pay.MerchantID, "CNY", "cust_1")
	require.NoError(t, f.st.DB().Transaction(func(tx *gorm.DB) error { return ledger.InsertWallet(tx, w) }))
	f.wallet = w.ID
	clearing, err := f.l.EnsureAccount(ctx, ledger.ClearingSpec("banksim", "CNY"))
	require.NoError(t, err)
	require.NoError(t, f.l.Run(ctx, func(tx *ledger.Tx) error {
		_, err := tx.Post(ledger.Posting{Key: "topup/" + w.ID, Flow: models.FlowTopup, FlowID: "top_1", Currency: "CNY",
			Legs: []ledger.Leg{{AccountID: clearing, Amount: -200_000}, {AccountID: w.ID, Amount: 200_000}}})
		return err
	}))
	f.acts = &activities.Fund{Store: f.st, Ledger: f.l, Log: f.log}
	f.holds = &activities.Holds{Store: f.st, Ledger: f.l, Log: f.log}
	var s testsuite.WorkflowTestSuite
	f.env = s.NewTestActivityEnvironment()
	f.env.RegisterActivity(f.acts)
	f.env.RegisterActivity(f.holds)
	return f
}

func (f *fundFixture) order(t *testing.T, kind models.FundOrderKind, amount, shares int64) models.FundOrderInput {
	t.Helper()
	prefix := models.PrefixSubscription
	if kind == models.FundRedemption {
		prefix = models.PrefixRedemption
	}
	o := models.FundOrder{ID: models.NewID(prefix), Object: string(kind), AccountID: f.wallet, ProductID: "prd_bond",
		Status: models.FundOrderProcessing, Currency: "CNY", Amount: amount, Shares: shares, TradeDate: "2026-10-09",
		ExpectedConfirmDate: "2026-10-12", CreatedAt: time.Now().UTC()}
	require.NoError(t, f.st.DB().Transaction(func(tx *gorm.DB) error { return store.InsertFundOrder(tx, f.pay.MerchantID, "", o) }))
	return models.FundOrderInput{OrderID: o.ID, Kind: kind, MerchantID: f.pay.MerchantID, AccountID: f.wallet,
		ProductID: "prd_bond", Currency: "CNY", Amount: amount, Shares: shares, TradeDate: o.TradeDate, Poll: time.Minute}
}

func (f *fundFixture) hold(t *testing.T, o models.FundOrderInput, account string, amount int64, c models.Currency) string {
	t.Helper()
	v, err := f.env.ExecuteActivity(f.holds.PlaceHold, models.PlaceHoldInput{
		Key: string(o.Kind) + "/" + o.OrderID + "/hold", MerchantID: o.MerchantID, AccountID: account, Amount: amount,
		Currency: c, Flow: o.Kind.Flow(), FlowID: o.OrderID,
	})
	require.NoError(t, err)
	var res models.PlaceHoldResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, models.FailureNone, res.FailureCode)
	return res.HoldID
}

func (f *fundFixture) finish(t *testing.T, in activities.FinishFundOrderInput) {
	t.Helper()
	flow := string(in.Order.Kind.Flow())
	in.CashKey, in.SharesKey = flow+"/"+in.Order.OrderID+"/cash", flow+"/"+in.Order.OrderID+"/shares"
	_, err := f.env.ExecuteActivity(f.acts.FinishFundOrder, in)
	require.NoError(t, err)
}

func (f *fundFixture) account(t *testing.T, id string) ledger.Account {
	t.Helper()
	a, err := f.l.Account(context.Background(), "", id)
	require.NoError(t, err)
	return a
}

func (f *fundFixture) check(t *testing.T) int64 {
	t.Helper()
	rep, err := f.l.Check(context.Background())
	require.NoError(t, err)
	require.True(t, rep.OK, "the ledger balances, shares included: %+v", rep)
	return rep.Journals
}

// A subscription's confirmation settles the held money to the fund company and
// credits the shares it bought; a redemption's settles the held shares back, and its
// payment brings the money in. Every step booked once however often it runs, the
// ledger balanced in money and in shares.
func TestFundOrderBooksMoneyAndShares(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			f := newFundFixture(t, b)
			ctx := context.Background()
			journals0 := f.check(t)

			sub := f.order(t, models.FundSubscription, 100_000, 0)
			subHold := f.hold(t, sub, f.wallet, 100_000, "CNY")
			require.Equal(t, int64(100_000), f.account(t, f.wallet).Held)
			confirmed := models.FundOrderState{Status: "confirmed", NAV: 10234, Shares: 97_617, Fee: 100}
			in := activities.FinishFundOrderInput{Order: sub, Step: activities.FundStepConfirm, HoldID: subHold, State: confirmed}
			f.finish(t, in)
			f.finish(t, in) // a crash after the commit: the replay changes nothing

			w := f.account(t, f.wallet)
			require.Equal(t, int64(100_000), w.Balance, "the amount left the wallet")
			require.Zero(t, w.Held)
			pos, ok, err := f.l.Position(ctx, f.wallet, "prd_bond")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, int64(97_617), pos.Balance, "the shares bought")
			require.Equal(t, models.ShareAsset("prd_bond"), pos.Currency)
			require.Equal(t, journals0+2, f.check(t), "one journal of money, one of shares")
			o, err := f.st.FundOrder(ctx, f.pay.MerchantID, models.FundSubscription, sub.OrderID)
			require.NoError(t, err)
			require.Equal(t, models.FundOrderConfirmed, o.Status)
			require.Equal(t, [4]int64{100_000, 97_617, 10234, 100}, [4]int64{o.Amount, o.Shares, o.NAV, o.Fee})
			require.NotNil(t, o.ConfirmedAt)

			red := f.order(t, models.FundRedemption, 0, 50_000)
			redHold := f.hold(t, red, pos.ID, 50_000, models.ShareAsset("prd_bond"))
			positions, err := f.l.Positions(ctx, f.wallet)
			require.NoError(t, err)
			require.Len(t, positions, 1)
			require.Equal(t, int64(50_000), positions[0].Held, "the redeemed shares are held")
			redConfirmed := models.FundOrderState{Status: "confirmed", NAV: 10234, Shares: 50_000, Amount: 50_920, Fee: 250}
			in = activities.FinishFundOrderInput{Order: red, Step: activities.FundStepConfirm, HoldID: redHold, State: redConfirmed}
			f.finish(t, in)
			f.finish(t, in)
			require.Equal(t, int64(47_617), f.account(t, pos.ID).Balance)
			require.Equal(t, int64(100_000), f.account(t, f.wallet).Balance, "no money before the payment")
			paid := redConfirmed
			paid.Status = "paid"
			in = activities.FinishFundOrderInput{Order: red, Step: activities.FundStepPay, State: paid}
			f.finish(t, in)
			f.finish(t, in)
			require.Equal(t, int64(150_920), f.account(t, f.wallet).Balance, "the net amount arrived")
			require.Equal(t, journals0+4, f.check(t))
			o, err = f.st.FundOrder(ctx, f.pay.MerchantID, models.FundRedemption, red.OrderID)
			require.NoError(t, err)
			require.Equal(t, models.FundOrderPaid, o.Status)
			require.Equal(t, int64(50_920), o.Amount)
			require.NotNil(t, o.PaidAt)

			// A rejected subscription gives the money back and books nothing.
			rej := f.order(t, models.FundSubscription, 30_000, 0)
			rejHold := f.hold(t, rej, f.wallet, 30_000, "CNY")
			f.finish(t, activities.FinishFundOrderInput{Order: rej, Step: activities.FundStepFail, HoldID: rejHold, FailureCode: models.FailureRejectedByFund})
			w = f.account(t, f.wallet)
			require.Equal(t, int64(150_920), w.Balance)
			require.Zero(t, w.Held, "the hold released")
			require.Equal(t, journals0+4, f.check(t))
			o, err = f.st.FundOrder(ctx, f.pay.MerchantID, models.FundSubscription, rej.OrderID)
			require.NoError(t, err)
			require.Equal(t, models.FundOrderFailed, o.Status)
			require.Equal(t, models.FailureRejectedByFund, o.FailureCode)
		})
	}
}
