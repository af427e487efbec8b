package activities_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"gorm.io/gorm"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/secretbox"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// moneyFixture is a merchant with a stored card payment on one database.
type moneyFixture struct {
	st  *store.Store
	l   *ledger.Ledger
	log *logrus.Entry
	pay models.Payment
}

func newMoneyFixture(t *testing.T, b testenv.Backend) moneyFixture {
	t.Helper()
	ctx := context.Background()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	st := store.New(testenv.Open(t, b), box)
	l := ledger.New(st.DB())
	lg := logrus.New()
	lg.SetOutput(io.Discard)
	m := models.Merchant{ID: models.NewID(models.PrefixMerchant), Name: "shop", FeeBps: 100, DefaultCurrency: "CNY",
		Status: models.MerchantActive, CreatedAt: time.Now().UTC()}
	require.NoError(t, st.CreateMerchant(ctx, m, "secret_0123456789", ""))
	now := time.Now().UTC()
	p := models.Payment{
		ID: models.NewID(models.PrefixPayment), Object: "payment", MerchantID: m.ID, Amount: 10000, Currency: "CNY",
		Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"}, Channel: "banksim",
		Status: models.PaymentProcessing, CreatedAt: now, UpdatedAt: now,
	}
	require.NoError(t, st.DB().Transaction(func(tx *gorm.DB) error { return store.InsertPayment(tx, p) }))
	return moneyFixture{st: st, l: l, log: logrus.NewEntry(lg), pay: p}
}

// A finalize that runs again after its first run committed (a crash, a lost
// acknowledgement, a timeout) answers what the first run did, whatever changed
// since: a merchant disabled in between must not turn a booked payment into a
// refusal (the workflow would refund the card while the journal stays).
func TestFinalizePaymentReplayAnswersTheFirstRun(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			f := newMoneyFixture(t, b)
			ctx := context.Background()
			acts := &activities.Payments{Store: f.st, Ledger: f.l, Log: f.log}
			var s testsuite.WorkflowTestSuite
			env := s.NewTestActivityEnvironment()
			env.RegisterActivity(acts)
			in := models.FinalizePaymentInput{
				PaymentID: f.pay.ID, MerchantID: f.pay.MerchantID, Amount: f.pay.Amount, Currency: f.pay.Currency,
				Channel: "banksim", Source: f.pay.Source, Status: models.PaymentSucceeded,
				PostingKey: "payment/" + f.pay.ID + "/capture",
			}
			v, err := env.ExecuteActivity(acts.FinalizePayment, in)
			require.NoError(t, err)
			var first models.FinalizePaymentResult
			require.NoError(t, v.Get(&first))
			require.Equal(t, models.PaymentSucceeded, first.Status)
			require.Equal(t, int64(100), first.Fee)

			require.NoError(t, f.st.SetMerchantStatus(ctx, f.pay.MerchantID, models.MerchantDisabled))
			v, err = env.ExecuteActivity(acts.FinalizePayment, in)
			require.NoError(t, err, "the replay must answer the first run's result, not the new rule")
			var again models.FinalizePaymentResult
			require.NoError(t, v.Get(&again))
			require.Equal(t, first, again)

			// The workflow's failure path (after a refusal it believes) finds the
			// journal too, and the payment stays succeeded with its one journal.
			in.Status, in.FailureCode = models.PaymentFailed, models.FailureMerchantDisabled
			v, err = env.ExecuteActivity(acts.FinalizePayment, in)
			require.NoError(t, err)
			require.NoError(t, v.Get(&again))
			require.Equal(t, first, again)
			p, err := f.st.Payment(ctx, f.pay.MerchantID, f.pay.ID)
			require.NoError(t, err)
			require.Equal(t, models.PaymentSucceeded, p.Status)
			rep, err := f.l.Check(ctx)
			require.NoError(t, err)
			require.True(t, rep.OK)
			require.Equal(t, int64(1), rep.Journals)
		})
	}
}
