package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// A bank's event id is delivered once per channel: a second claim is refused (on any
// replica: the table is shared), the same id on another channel is another event, and
// a released claim (its signal failed) can be claimed again by the bank's retry.
func TestClaimBankCallbackEvent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now()
		tests := []struct {
			name             string
			channel, eventID string
			want             error
		}{
			{"first delivery", "banksim", "cbe_1", nil},
			{"redelivery", "banksim", "cbe_1", store.ErrCallbackEventSeen},
			{"same id on another channel", "stripe", "cbe_1", nil},
			{"another event", "banksim", "cbe_2", nil},
			{"a long Stripe-sized id", "stripe", "evt_" + strings.Repeat("x", 251), nil},
		}
		for _, tc := range tests {
			err := st.ClaimBankCallbackEvent(ctx, tc.channel, tc.eventID, "pay_x", now)
			if tc.want == nil {
				require.NoError(t, err, tc.name)
			} else {
				require.ErrorIs(t, err, tc.want, tc.name)
			}
		}
		require.NoError(t, st.ReleaseBankCallbackEvent(ctx, "banksim", "cbe_1"))
		require.NoError(t, st.ClaimBankCallbackEvent(ctx, "banksim", "cbe_1", "pay_x", now), "a released event is delivered again")
		require.ErrorIs(t, st.ClaimBankCallbackEvent(ctx, "stripe", "cbe_1", "pay_x", now), store.ErrCallbackEventSeen, "releasing one channel's event leaves the other's")
	})
}

// A bank reference leads to its object's flow and stored channel: every kind of
// object, and a reversal (rev_<charge>) to its charge's flow; anything else is not
// found.
func TestFlowForReference(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now()
		pay := models.Payment{
			ID: models.NewID(models.PrefixPayment), MerchantID: "mch_a", Amount: 1050, Currency: "CNY",
			Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"}, Channel: "stripe",
			Status: models.PaymentSucceeded, CreatedAt: now, UpdatedAt: now,
		}
		pay.WorkflowID = "payment/mch_a/" + pay.ID
		wd := models.Withdrawal{
			ID: models.NewID(models.PrefixWithdrawal), MerchantID: "mch_a", AccountID: "acct_x", Amount: 500, Currency: "CNY",
			Destination: models.Destination{BankAccount: "ba_success"}, Channel: "auto", Status: models.WithdrawalProcessing,
			CreatedAt: now, UpdatedAt: now,
		}
		wd.WorkflowID = "withdrawal/mch_a/" + wd.ID
		re := models.Refund{
			ID: models.NewID(models.PrefixRefund), MerchantID: "mch_a", PaymentID: pay.ID, Amount: 100, Currency: "CNY",
			Channel: "stripe", Status: models.RefundProcessing, CreatedAt: now, UpdatedAt: now,
		}
		re.WorkflowID = "refund/mch_a/" + re.ID
		top := models.Topup{
			ID: models.NewID(models.PrefixTopup), MerchantID: "mch_a", AccountID: "acct_x", Amount: 700, Currency: "CNY",
			Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"}, Channel: "banksim",
			Status: models.TopupProcessing, CreatedAt: now, UpdatedAt: now,
		}
		top.WorkflowID = "topup/mch_a/" + top.ID
		require.NoError(t, st.DB().Transaction(func(tx *gorm.DB) error {
			if err := store.InsertPayment(tx, pay); err != nil {
				return err
			}
			if err := store.InsertWithdrawal(tx, wd); err != nil {
				return err
			}
			if err := store.InsertRefund(tx, re); err != nil {
				return err
			}
			return store.InsertTopup(tx, top)
		}))

		tests := []struct {
			ref  string
			want store.ReferencedFlow
		}{
			{pay.ID, store.ReferencedFlow{WorkflowID: pay.WorkflowID, Channel: "stripe"}},
			{wd.ID, store.ReferencedFlow{WorkflowID: wd.WorkflowID, Channel: "auto"}},
			{re.ID, store.ReferencedFlow{WorkflowID: re.WorkflowID, Channel: "stripe"}},
			{top.ID, store.ReferencedFlow{WorkflowID: top.WorkflowID, Channel: "banksim"}},
			{models.ReversalReference(pay.ID), store.ReferencedFlow{WorkflowID: pay.WorkflowID, Channel: "stripe"}},
			{pay.ID + ".reversal", store.ReferencedFlow{WorkflowID: pay.WorkflowID, Channel: "stripe"}},
		}
		for _, tc := range tests {
			got, err := st.FlowForReference(ctx, tc.ref)
			require.NoError(t, err, tc.ref)
			require.Equal(t, tc.want, got, tc.ref)
		}
		for _, ref := range []string{models.NewID(models.PrefixPayment), "rev_", "evt_1", "", models.ReversalReference("nope")} {
			_, err := st.FlowForReference(ctx, ref)
			require.ErrorIs(t, err, store.ErrNotFound, "%q", ref)
		}
	})
}
