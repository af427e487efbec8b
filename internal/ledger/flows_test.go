package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// A payment's end is one unit of work: its capture (the wallet debited, the
// merchant credited less the fee, the fee booked) and its status commit together; a
// refused capture changes neither; a second run finds the first journal and moves
// nothing again.
func TestFinishPaymentBooksTheCaptureWithItsStatus(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		wallet := f.wallet(t, 10000)
		payment := func(amount int64) models.FinalizePaymentInput {
			now := time.Now().UTC()
			p := models.Payment{ID: models.NewID(models.PrefixPayment), Object: "payment", MerchantID: "mch_a", Amount: amount,
				Currency: "CNY", Source: models.PaymentSource{Type: models.SourceAccount, AccountID: wallet}, Channel: "banksim",
				Status: models.PaymentProcessing, CreatedAt: now, UpdatedAt: now}
			require.NoError(t, f.db.Transaction(func(tx *gorm.DB) error { return store.InsertPayment(tx, p) }))
			return models.FinalizePaymentInput{PaymentID: p.ID, MerchantID: "mch_a", Amount: amount, Currency: "CNY",
				Channel: "banksim", Source: p.Source, Status: models.PaymentSucceeded, PostingKey: "payment/" + p.ID + "/capture"}
		}
		status := func(id string) (string, int64) {
			var row struct {
				Status string
				Fee    int64
			}
			require.NoError(t, f.db.Raw(`SELECT status, fee FROM payments WHERE id = ?`, id).Scan(&row).Error)
			return row.Status, row.Fee
		}
		balance := func(id string) int64 {
			a, err := f.l.Account(ctx, "", id)
			require.NoError(t, err)
			return a.Balance
		}

		paid := payment(6000)
		j, err := f.l.FinishPayment(ctx, paid, 60)
		require.NoError(t, err)
		require.False(t, j.Existing)
		require.Equal(t, int64(4000), balance(wallet))
		require.Equal(t, int64(5940), balance(f.settlement))
		lines, _, err := f.l.Statement(ctx, f.fees, 10, "")
		require.NoError(t, err)
		require.Len(t, lines, 1)
		require.Equal(t, int64(60), lines[0].Amount)
		st, fee := status(paid.PaymentID)
		require.Equal(t, string(models.PaymentSucceeded), st)
		require.Equal(t, int64(60), fee)

		// The wallet holds 4000: a capture of 6000 is refused, and the payment
		// stays as it was, with nothing posted under its key.
		refused := payment(6000)
		_, err = f.l.FinishPayment(ctx, refused, 60)
		require.ErrorIs(t, err, ledger.ErrInsufficientFunds)
		st, _ = status(refused.PaymentID)
		require.Equal(t, string(models.PaymentProcessing), st)
		_, posted, err := f.l.Posted(ctx, refused.PostingKey)
		require.NoError(t, err)
		require.False(t, posted)
		require.Equal(t, int64(4000), balance(wallet))

		// A second run of the first finds its journal and moves nothing.
		again, err := f.l.FinishPayment(ctx, paid, 60)
		require.NoError(t, err)
		require.True(t, again.Existing)
		require.Equal(t, j.ID, again.ID)
		require.Equal(t, int64(4000), balance(wallet))
		require.Equal(t, int64(5940), balance(f.settlement))
		f.requireOK(t)
	})
}
