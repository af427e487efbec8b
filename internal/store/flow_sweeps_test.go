package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

func storedPayment(t *testing.T, st *store.Store, id string, status models.PaymentStatus, created time.Time) {
	t.Helper()
	require.NoError(t, store.InsertPayment(st.DB().DB, models.Payment{
		ID: id, MerchantID: "mch_demo", Amount: 100, Currency: "CNY", Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"},
		Channel: "banksim", Status: status, WorkflowID: "payment/mch_demo/" + id, CreatedAt: created, UpdatedAt: created,
	}))
}

func ids(ps []models.Payment) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// A sweep page holds the objects still processing after the mark and before the
// window's end, in (created_at, id) order, up to its limit: finished objects, objects
// the mark covers (also at the mark's own time, by id) and objects too young are not
// in it.
func TestSweepPageSelectsProcessingObjectsAfterTheMark(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 1, 10, 0, 0, 123456000, time.UTC)
		storedPayment(t, st, "pay_a", models.PaymentProcessing, t0)
		storedPayment(t, st, "pay_b", models.PaymentProcessing, t0.Add(time.Second))
		storedPayment(t, st, "pay_c", models.PaymentProcessing, t0.Add(time.Second)) // same time as pay_b
		storedPayment(t, st, "pay_d", models.PaymentSucceeded, t0.Add(2*time.Second))
		storedPayment(t, st, "pay_e", models.PaymentFailed, t0.Add(2*time.Second))
		storedPayment(t, st, "pay_f", models.PaymentProcessing, t0.Add(3*time.Second))
		storedPayment(t, st, "pay_g", models.PaymentProcessing, t0.Add(time.Minute)) // too young
		end := t0.Add(time.Minute)

		tests := []struct {
			name string
			page store.SweepPage
			want []string
		}{
			{"from the start", store.SweepPage{Before: end, Limit: 10}, []string{"pay_a", "pay_b", "pay_c", "pay_f"}},
			{"limited", store.SweepPage{Before: end, Limit: 2}, []string{"pay_a", "pay_b"}},
			{"after a mark between two objects of one instant", store.SweepPage{After: store.SweepMark{CreatedAt: t0.Add(time.Second), ID: "pay_b"}, Before: end, Limit: 10}, []string{"pay_c", "pay_f"}},
			{"after the last", store.SweepPage{After: store.SweepMark{CreatedAt: t0.Add(3 * time.Second), ID: "pay_f"}, Before: end, Limit: 10}, []string{}},
			{"window ending before the rest", store.SweepPage{After: store.SweepMark{CreatedAt: t0, ID: "pay_a"}, Before: t0.Add(time.Second), Limit: 10}, []string{}},
			{"one more second of window", store.SweepPage{Before: end.Add(time.Second), Limit: 10}, []string{"pay_a", "pay_b", "pay_c", "pay_f", "pay_g"}},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				got, err := st.PaymentsToSweep(ctx, tc.page)
				require.NoError(t, err)
				require.Equal(t, tc.want, ids(got))
			})
		}
		// A page's last object is a mark the next page starts after: marks read back
		// from the rows select exactly the rest.
		first, err := st.PaymentsToSweep(ctx, store.SweepPage{Before: end, Limit: 2})
		require.NoError(t, err)
		last := first[len(first)-1]
		rest, err := st.PaymentsToSweep(ctx, store.SweepPage{After: store.SweepMark{CreatedAt: last.CreatedAt, ID: last.ID}, Before: end, Limit: 10})
		require.NoError(t, err)
		require.Equal(t, []string{"pay_c", "pay_f"}, ids(rest))
	})
}

// A kind's mark starts at zero, moves forward, and never moves back.
func TestSweepMarkOnlyMovesForward(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		m, err := st.SweepMark(ctx, models.FlowRefund)
		require.NoError(t, err)
		require.True(t, m.IsZero())

		t0 := time.Date(2026, 3, 1, 10, 0, 0, 654321000, time.UTC)
		steps := []struct {
			name string
			to   store.SweepMark
			want store.SweepMark
		}{
			{"first", store.SweepMark{CreatedAt: t0, ID: "re_b"}, store.SweepMark{CreatedAt: t0, ID: "re_b"}},
			{"same instant, later id", store.SweepMark{CreatedAt: t0, ID: "re_c"}, store.SweepMark{CreatedAt: t0, ID: "re_c"}},
			{"same instant, earlier id", store.SweepMark{CreatedAt: t0, ID: "re_a"}, store.SweepMark{CreatedAt: t0, ID: "re_c"}},
			{"earlier", store.SweepMark{CreatedAt: t0.Add(-time.Hour), ID: "re_z"}, store.SweepMark{CreatedAt: t0, ID: "re_c"}},
			{"the same again", store.SweepMark{CreatedAt: t0, ID: "re_c"}, store.SweepMark{CreatedAt: t0, ID: "re_c"}},
			{"later", store.SweepMark{CreatedAt: t0.Add(time.Second), ID: "re_a"}, store.SweepMark{CreatedAt: t0.Add(time.Second), ID: "re_a"}},
		}
		for _, s := range steps {
			require.NoError(t, st.AdvanceSweepMark(ctx, models.FlowRefund, s.to), s.name)
			got, err := st.SweepMark(ctx, models.FlowRefund)
			require.NoError(t, err)
			require.True(t, s.want.CreatedAt.Equal(got.CreatedAt), "%s: %s, want %s", s.name, got.CreatedAt, s.want.CreatedAt)
			require.Equal(t, s.want.ID, got.ID, s.name)
		}
		// Marks are per kind.
		other, err := st.SweepMark(ctx, models.FlowPayment)
		require.NoError(t, err)
		require.True(t, other.IsZero())
	})
}
