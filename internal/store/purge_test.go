package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/store"
)

// Nonces are kept until their window has passed and purged after, so that a replay
// within the window is refused (across replicas: the table is shared) and the table
// does not grow; idempotency keys likewise after 24 hours.
func TestPurgeNoncesAndIdempotencyKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
		require.NoError(t, st.UseNonce(ctx, "mch_a", "nonce_old_0000000001", t0))
		require.NoError(t, st.UseNonce(ctx, "mch_a", "nonce_new_0000000001", t0.Add(20*time.Minute)))
		require.ErrorIs(t, st.UseNonce(ctx, "mch_a", "nonce_old_0000000001", t0.Add(time.Minute)), store.ErrNonceReused)
		require.NoError(t, st.UseNonce(ctx, "mch_b", "nonce_old_0000000001", t0), "nonces are per merchant")
		n, err := st.PurgeNonces(ctx, t0.Add(10*time.Minute))
		require.NoError(t, err)
		require.Equal(t, int64(2), n)
		require.ErrorIs(t, st.UseNonce(ctx, "mch_a", "nonce_new_0000000001", t0), store.ErrNonceReused, "a nonce inside the window is kept")

		insert := func(key string) {
			_, _, err := st.CreateOnce(ctx, store.IdempotentRequest{MerchantID: "mch_a", Key: key, Fingerprint: "f", ObjectID: "pay_" + key},
				func(*gorm.DB) error { return nil })
			require.NoError(t, err)
		}
		insert("k1")
		n, err = st.PurgeIdempotencyKeys(ctx, time.Now().Add(-24*time.Hour))
		require.NoError(t, err)
		require.Zero(t, n, "a key younger than 24 hours is kept")
		id, created, err := st.CreateOnce(ctx, store.IdempotentRequest{MerchantID: "mch_a", Key: "k1", Fingerprint: "f", ObjectID: "pay_other"}, func(*gorm.DB) error { return nil })
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, "pay_k1", id)
		n, err = st.PurgeIdempotencyKeys(ctx, time.Now().Add(time.Second))
		require.NoError(t, err)
		require.Equal(t, int64(1), n)
	})
}
