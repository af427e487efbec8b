package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// A merchant without a webhook secret (created before them) signs its webhooks with
// its API secret; SetWebhookSecretIfNone (the demo seed of an older database) gives it
// one once and never replaces one it has; a webhook rotation overlaps like the API
// secret's and leaves the API secret alone.
func TestWebhookSecrets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		m := models.Merchant{ID: "mch_hooks", Name: "Hooks", DefaultCurrency: "CNY", Status: models.MerchantActive}
		require.NoError(t, st.CreateMerchant(ctx, m, "api_secret", ""))
		secrets, err := st.WebhookSecrets(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"api_secret"}, secrets, "no webhook secret: the API secret signs")

		require.NoError(t, st.SetWebhookSecretIfNone(ctx, m.ID, "whsec_a"))
		require.NoError(t, st.SetWebhookSecretIfNone(ctx, m.ID, "whsec_b"))
		secrets, err = st.WebhookSecrets(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"whsec_a"}, secrets, "an existing webhook secret is kept")
		require.ErrorIs(t, st.SetWebhookSecretIfNone(ctx, "mch_nobody", "whsec_x"), store.ErrNotFound)

		_, err = st.RotateWebhookSecret(ctx, m.ID, "whsec_c", time.Hour, time.Now())
		require.NoError(t, err)
		secrets, err = st.WebhookSecrets(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"whsec_c", "whsec_a"}, secrets)
		api, err := st.MerchantSecrets(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, []string{"api_secret"}, api, "the API secret is not rotated")
		_, err = st.RotateWebhookSecret(ctx, "mch_nobody", "whsec_x", time.Hour, time.Now())
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = st.WebhookSecrets(ctx, "mch_nobody")
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}
