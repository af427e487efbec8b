package server_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// Disabled means disabled: every request of a disabled merchant that would move
// money (a payment, a refund, a top-up, a withdrawal, a webhook event's redelivery)
// answers 403 merchant_disabled and stores nothing (so no flow starts). Before, a
// refund and a redelivery were accepted.
func TestDisabledMerchantMovesNoMoney(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		ctx := context.Background()
		r, err := a.c.Post(ctx, "/v1/accounts", map[string]any{"currency": "CNY"}, "wallet")
		require.NoError(t, err)
		require.Equal(t, 201, r.Status, "%s", r.Body)
		var acct struct{ ID string }
		require.NoError(t, r.JSON(&acct))
		// A succeeded card payment to refund.
		pay := models.Payment{ID: models.NewID(models.PrefixPayment), Object: "payment", MerchantID: "mch_demo", Amount: 5000,
			Currency: "CNY", Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"}, Channel: "banksim",
			Status: models.PaymentProcessing, CreatedAt: a.now, UpdatedAt: a.now}
		require.NoError(t, a.store.DB().Transaction(func(tx *gorm.DB) error { return store.InsertPayment(tx, pay) }))
		require.NoError(t, a.ledger.Run(ctx, func(tx *ledger.Tx) error {
			return tx.SetPaymentOutcome(pay.ID, store.PaymentOutcome{Status: models.PaymentSucceeded, Channel: "banksim"})
		}))
		// An event delivered once, to deliver again.
		ev := a.storeEvent(t, "mch_demo", pay.ID)
		a.attempt(t, ev.ID, 200)
		code, _, body := a.ops(t, "POST", "/v1/ops/merchants/mch_demo/disable", `{"reason":"compliance hold"}`)
		require.Equal(t, 200, code, "%s", body)

		card := map[string]any{"type": "card", "token": "tok_success"}
		for _, tc := range []struct {
			name, path string
			body       map[string]any
		}{
			{"payment", "/v1/payments", map[string]any{"amount": 1050, "currency": "CNY", "source": card}},
			{"refund", "/v1/payments/" + pay.ID + "/refunds", map[string]any{"amount": 100}},
			{"top-up", "/v1/topups", map[string]any{"account_id": acct.ID, "amount": 1050, "currency": "CNY", "source": card}},
			{"withdrawal", "/v1/withdrawals", map[string]any{"account_id": acct.ID, "amount": 100, "currency": "CNY",
				"destination": map[string]any{"bank_account": "ba_success"}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r, err := a.c.Post(ctx, tc.path, tc.body, "disabled-"+tc.name)
				require.NoError(t, err)
				require.Equal(t, 403, r.Status, "%s", r.Body)
				var p struct{ Code string }
				require.NoError(t, json.Unmarshal(r.Body, &p))
				require.Equal(t, "merchant_disabled", p.Code)
			})
		}
		for _, table := range []string{"refunds", "topups", "withdrawals"} {
			var n int64
			require.NoError(t, a.db.WithContext(ctx).Table(table).Count(&n).Error)
			require.Zero(t, n, "%s stored", table)
		}
		t.Run("redelivery", func(t *testing.T) {
			r, err := a.c.Do(ctx, client.Request{Method: "POST", Target: "/v1/events/" + ev.ID + "/redeliver"})
			require.NoError(t, err)
			require.Equal(t, 403, r.Status, "%s", r.Body)
			require.Equal(t, "merchant_disabled", decodeProblem(t, r).Code)
			require.Empty(t, a.starter.redelivered(), "a delivery started")
		})
		require.Equal(t, 1, a.paymentCount(t))
		var reserved int64
		require.NoError(t, a.db.WithContext(ctx).Raw(`SELECT refund_reserved FROM payments WHERE id = ?`, pay.ID).Scan(&reserved).Error)
		require.Zero(t, reserved, "a refund reserved money")
	})
}
