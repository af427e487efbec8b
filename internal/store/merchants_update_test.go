package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// UpdateMerchant changes the settings it names and nothing else, null clears a
// withdrawal limit, a disabled merchant is updated too, updated_at moves, and the
// answer's before and after are what the rows held; an unknown merchant is
// ErrNotFound.
func TestUpdateMerchant(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	s := func(v string) *string { return &v }
	forEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		created := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		m := models.Merchant{
			ID: "mch_upd", Name: "Upd", DefaultCurrency: "CNY", Status: models.MerchantActive, FeeBps: 120,
			ReviewThreshold: 1_000_000, WithdrawalLimitPerTransaction: i(3000), WithdrawalDelaySeconds: 86400,
			NotifyURL: "https://upd.example/hooks",
		}
		require.NoError(t, st.CreateMerchant(ctx, m, "api_secret", "whsec_x"))
		m.NoPasswordLimit = models.DefaultNoPasswordLimit // created with none: the default
		m.Prices = models.DefaultPrices()                 // likewise
		require.NoError(t, st.DB().Exec("UPDATE merchants SET updated_at = ? WHERE id = ?", created, m.ID).Error)
		require.NoError(t, st.SetMerchantStatus(ctx, m.ID, models.MerchantDisabled))
		m.Status = models.MerchantDisabled
		// The merchant has its own webhook secret, so its webhooks are signed with it.
		m.WebhookSigning = models.WebhookSigningWebhookSecret

		steps := []struct {
			name   string
			update models.MerchantUpdate
			want   func(m *models.Merchant)
		}{
			{"delay off", models.MerchantUpdate{WithdrawalDelaySeconds: i(0)}, func(m *models.Merchant) { m.WithdrawalDelaySeconds = 0 }},
			{"daily limit set", models.MerchantUpdate{SetWithdrawalLimitDaily: true, WithdrawalLimitDaily: i(20000)},
				func(m *models.Merchant) { m.WithdrawalLimitDaily = i(20000) }},
			{"both limits cleared", models.MerchantUpdate{SetWithdrawalLimitDaily: true, SetWithdrawalLimitPerTransaction: true},
				func(m *models.Merchant) { m.WithdrawalLimitDaily, m.WithdrawalLimitPerTransaction = nil, nil }},
			{"fee, threshold and notify_url cleared", models.MerchantUpdate{FeeBps: i(0), ReviewThreshold: i(500), NotifyURL: s("")},
				func(m *models.Merchant) { m.FeeBps, m.ReviewThreshold, m.NotifyURL = 0, 500, "" }},
			{"every wallet code payment confirmed", models.MerchantUpdate{NoPasswordLimit: i(0)}, func(m *models.Merchant) { m.NoPasswordLimit = 0 }},
			{"identity prices", models.MerchantUpdate{VerificationFee: i(70), CreditReportReuseFee: i(25)},
				func(m *models.Merchant) { m.VerificationFee, m.CreditReportReuseFee = 70, 25 }},
		}
		for _, step := range steps {
			wantBefore := m
			step.want(&m)
			before, after, err := st.UpdateMerchant(ctx, m.ID, step.update, time.Now())
			require.NoError(t, err, step.name)
			before.CreatedAt, after.CreatedAt = time.Time{}, time.Time{}
			require.Equal(t, wantBefore, before, step.name)
			require.Equal(t, m, after, step.name)
			got, err := st.Merchant(ctx, m.ID)
			require.NoError(t, err)
			got.CreatedAt = time.Time{}
			require.Equal(t, m, got, "%s: stored", step.name)
		}
		var updated time.Time
		require.NoError(t, st.DB().Raw("SELECT updated_at FROM merchants WHERE id = ?", m.ID).Row().Scan(&updated))
		require.True(t, updated.After(created), "updated_at moved: %s", updated)

		_, _, err := st.UpdateMerchant(ctx, "mch_nobody", models.MerchantUpdate{FeeBps: i(1)}, time.Now())
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}
