package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/store"
)

// An attempt budget grants its attempts at once, then one per Window/Attempts;
// reading whether it is spent takes nothing; budgets are per key.
func TestAttemptBudget(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		b := store.AttemptBudget{Attempts: 3, Window: 15 * time.Minute}
		t0 := time.Unix(1767225600, 0)
		take := func(key string, at time.Time) (bool, time.Duration) {
			t.Helper()
			ok, wait, err := st.TakeAttempt(ctx, key, b, at)
			require.NoError(t, err)
			return ok, wait
		}
		for i := 0; i < 3; i++ {
			ok, _ := take("ops-auth:203.0.113.9", t0)
			require.True(t, ok, "attempt %d", i+1)
		}
		ok, wait := take("ops-auth:203.0.113.9", t0)
		require.False(t, ok)
		require.Equal(t, 5*time.Minute, wait, "one attempt refills in Window/Attempts")

		ok, _ = take("ops-auth:203.0.113.10", t0)
		require.True(t, ok, "another address has its own budget")

		spent, wait, err := st.AttemptsSpent(ctx, "ops-auth:203.0.113.9", b, t0)
		require.NoError(t, err)
		require.True(t, spent)
		require.Equal(t, 5*time.Minute, wait)
		spent, _, err = st.AttemptsSpent(ctx, "ops-auth:203.0.113.10", b, t0)
		require.NoError(t, err)
		require.False(t, spent, "two attempts left")
		spent, _, err = st.AttemptsSpent(ctx, "ops-auth:198.51.100.1", b, t0)
		require.NoError(t, err)
		require.False(t, spent, "an address never seen")
		ok, _ = take("ops-auth:203.0.113.9", t0.Add(5*time.Minute-time.Millisecond))
		require.False(t, ok)
		spent, _, err = st.AttemptsSpent(ctx, "ops-auth:203.0.113.9", b, t0.Add(5*time.Minute))
		require.NoError(t, err)
		require.False(t, spent, "refilled by one")
		ok, _ = take("ops-auth:203.0.113.9", t0.Add(5*time.Minute))
		require.True(t, ok, "the read took nothing")

		// A long idle time refills to Attempts, never more.
		later := t0.Add(24 * 365 * time.Hour)
		for i := 0; i < 3; i++ {
			ok, _ := take("ops-auth:203.0.113.9", later)
			require.True(t, ok)
		}
		ok, _ = take("ops-auth:203.0.113.9", later)
		require.False(t, ok)

		ok, _, err = st.TakeAttempt(ctx, "ops-auth:203.0.113.9", store.AttemptBudget{}, later)
		require.NoError(t, err)
		require.True(t, ok, "the zero budget is no limit")
	})
}
