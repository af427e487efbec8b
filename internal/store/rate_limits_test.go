package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/secretbox"
	"github.com/payflow/payflow/internal/store"
)

var nonceSeq atomic.Int64

func nonce() string { return fmt.Sprintf("test_nonce_%016d", nonceSeq.Add(1)) }

// A bucket grants its burst at once, then one request per 1/rate seconds; an empty
// bucket says how long to wait and keeps nothing of the request; buckets are per
// merchant.
func TestAdmitRateLimits(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		bucket := store.TokenBucket{Rate: 2, Burst: 3}
		t0 := time.Unix(1767225600, 0)
		admit := func(merchant string, at time.Time) (bool, time.Duration) {
			t.Helper()
			ok, wait, err := st.Admit(ctx, merchant, nonce(), bucket, at)
			require.NoError(t, err)
			return ok, wait
		}
		for i := 0; i < 3; i++ {
			ok, _ := admit("mch_a", t0)
			require.True(t, ok, "request %d of the burst", i+1)
		}
		ok, wait := admit("mch_a", t0)
		require.False(t, ok, "the fourth request of the burst")
		require.Equal(t, 500*time.Millisecond, wait, "one request refills in 1/rate seconds")

		ok, _ = admit("mch_b", t0)
		require.True(t, ok, "another merchant has its own bucket")

		ok, _ = admit("mch_a", t0.Add(499*time.Millisecond))
		require.False(t, ok)
		ok, _ = admit("mch_a", t0.Add(500*time.Millisecond))
		require.True(t, ok)

		// A clock behind the bucket's (another replica's) refills nothing.
		ok, _ = admit("mch_a", t0.Add(-time.Hour))
		require.False(t, ok)

		// A long idle time refills to the burst, never more.
		later := t0.Add(24 * 365 * time.Hour)
		for i := 0; i < 3; i++ {
			ok, _ := admit("mch_a", later)
			require.True(t, ok)
		}
		ok, _ = admit("mch_a", later)
		require.False(t, ok)

		// A request refused for the budget spends its nonce all the same: whoever saw
		// it cannot replay it once the budget refills (the client signs again), and
		// the replay spends nothing.
		n := nonce()
		ok, _, err := st.Admit(ctx, "mch_a", n, bucket, later)
		require.NoError(t, err)
		require.False(t, ok)
		_, _, err = st.Admit(ctx, "mch_a", n, bucket, later.Add(time.Second))
		require.ErrorIs(t, err, store.ErrNonceReused)
		ok, _, err = st.Admit(ctx, "mch_a", nonce(), bucket, later.Add(time.Second))
		require.NoError(t, err)
		require.True(t, ok, "the replay spent nothing of the refilled budget")

		// No limit configured: every request passes.
		ok, _, err = st.Admit(ctx, "mch_a", nonce(), store.TokenBucket{}, later)
		require.NoError(t, err)
		require.True(t, ok)
	})
}

// Concurrent requests through two stores on one database (two API replicas): exactly
// the burst is granted, and each nonce is accepted once.
func TestAdmitAcrossReplicas(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		db := testenv.Open(t, b)
		box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
		require.NoError(t, err)
		replicas := []*store.Store{store.New(db, box), store.New(db, box)}
		bucket := store.TokenBucket{Rate: 1, Burst: 20}
		now := time.Unix(1767225600, 0)
		var granted, replays atomic.Int64
		var wg sync.WaitGroup
		for i := 0; i < 60; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				// Pairs of requests share a nonce: one of each pair is a replay.
				ok, _, err := replicas[i%2].Admit(context.Background(), "mch_hot", fmt.Sprintf("replica_nonce_%08d", i/2), bucket, now)
				switch {
				case errors.Is(err, store.ErrNonceReused):
					replays.Add(1)
				case err != nil:
					t.Errorf("admit %d: %v", i, err)
				case ok:
					granted.Add(1)
				}
			}(i)
		}
		wg.Wait()
		require.Equal(t, int64(20), granted.Load())
		require.LessOrEqual(t, replays.Load(), int64(30))
	})
}

// BenchmarkAdmit measures what the rate limit costs per request: Admit (the nonce and
// the bucket in one transaction) against the nonce alone, on one merchant's row and
// spread over a hundred merchants.
func BenchmarkAdmit(b *testing.B) {
	for _, backend := range testenv.Backends {
		st := newStore(b, backend)
		bucket := store.TokenBucket{Rate: 1_000_000_000, Burst: 1_000_000_000}
		b.Run(string(backend)+"/nonce_only", func(b *testing.B) {
			for b.Loop() {
				if err := st.UseNonce(context.Background(), "mch_bench", nonce(), time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(backend)+"/nonce_and_bucket", func(b *testing.B) {
			for b.Loop() {
				if ok, _, err := st.Admit(context.Background(), "mch_bench", nonce(), bucket, time.Now()); err != nil || !ok {
					b.Fatal(ok, err)
				}
			}
		})
		b.Run(string(backend)+"/nonce_and_bucket_parallel_one_merchant", func(b *testing.B) {
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if ok, _, err := st.Admit(context.Background(), "mch_bench", nonce(), bucket, time.Now()); err != nil || !ok {
						b.Error(ok, err)
						return
					}
				}
			})
		})
		b.Run(string(backend)+"/nonce_and_bucket_parallel_100_merchants", func(b *testing.B) {
			b.SetParallelism(4)
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m := fmt.Sprintf("mch_bench_%d", n.Add(1)%100)
					if ok, _, err := st.Admit(context.Background(), m, nonce(), bucket, time.Now()); err != nil || !ok {
						b.Error(ok, err)
						return
					}
				}
			})
		})
		b.Run(string(backend)+"/nonce_only_parallel", func(b *testing.B) {
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := st.UseNonce(context.Background(), "mch_bench", nonce(), time.Now()); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
