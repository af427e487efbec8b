package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// Each kind's purge deletes, in batches, what is past its cutoff and keeps what is
// still needed: the young rows, the row exactly at the cutoff, an event whose
// delivery is still running or never ran, the attempts that decide an event's
// delivery status. On SQLite and MySQL.
func TestPurgeBatchKeepsWhatIsStillNeeded(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	cutoff := now.Add(-30 * 24 * time.Hour)
	old := cutoff.Add(-10 * 24 * time.Hour)
	young := now.Add(-time.Hour)
	// at gives every attempt its own time, so that their order is the test's.
	at := func(base time.Time, minute int) time.Time { return base.Add(time.Duration(minute) * time.Minute) }
	type rows map[string][]string // query listing the rows left -> the rows
	cases := []struct {
		kind store.PurgeKind
		seed func(t *testing.T, ctx context.Context, st *store.Store)
		want rows
		// same, when set, lists events whose delivery must read the same after the
		// purge (status, last attempt and its status code).
		same []string
	}{{
		kind: store.PurgeKindNonces,
		seed: func(t *testing.T, ctx context.Context, st *store.Store) {
			for i, when := range []time.Time{old, old.Add(time.Second), cutoff.Add(-time.Microsecond), cutoff, young} {
				require.NoError(t, st.UseNonce(ctx, "mch_a", fmt.Sprintf("nonce_%d", i), when))
			}
			require.NoError(t, st.UseNonce(ctx, "mch_b", "nonce_0", young))
		},
		want: rows{"SELECT merchant_id, nonce FROM nonces": {"mch_a#nonce_3", "mch_a#nonce_4", "mch_b#nonce_0"}},
	}, {
		kind: store.PurgeKindIdempotencyKeys,
		seed: func(t *testing.T, ctx context.Context, st *store.Store) {
			for key, when := range map[string]time.Time{"k_old": old, "k_old2": old.Add(time.Hour), "k_cutoff": cutoff, "k_young": young} {
				require.NoError(t, st.DB().Exec(`INSERT INTO idempotency_keys (merchant_id, idem_key, fingerprint, object_id, created_at)
					VALUES (?, ?, 'f', ?, ?)`, "mch_a", key, "pay_"+key, when).Error)
			}
		},
		want: rows{"SELECT idem_key FROM idempotency_keys": {"k_cutoff", "k_young"}},
	}, {
		kind: store.PurgeKindRateLimits,
		seed: func(t *testing.T, ctx context.Context, st *store.Store) {
			// updated_us 0: a bucket made with its merchant and never taken from.
			for m, us := range map[string]int64{"mch_new": 0, "mch_idle": old.UnixMicro(), "mch_cutoff": cutoff.UnixMicro(), "mch_busy": young.UnixMicro()} {
				require.NoError(t, st.DB().Exec("INSERT INTO rate_limits (merchant_id, tokens, updated_us) VALUES (?, 5, ?)", m, us).Error)
			}
		},
		want: rows{"SELECT merchant_id FROM rate_limits": {"mch_cutoff", "mch_busy"}},
	}, {
		kind: store.PurgeKindBankCallbacks,
		seed: func(t *testing.T, ctx context.Context, st *store.Store) {
			for id, when := range map[string]time.Time{"evt_old": old, "evt_old2": old.Add(time.Minute), "evt_cutoff": cutoff, "evt_young": young} {
				require.NoError(t, st.ClaimBankCallbackEvent(ctx, "stripe", id, "pay_"+id, when))
			}
		},
		want: rows{"SELECT event_id FROM bank_callback_events": {"evt_cutoff", "evt_young"}},
	}, {
		kind: store.PurgeKindPaymentCodes,
		seed: func(t *testing.T, ctx context.Context, st *store.Store) {
			// By when they expired; a used code goes as an unused one does.
			for code, expired := range map[string]time.Time{"991": old, "992": old.Add(time.Minute), "993": cutoff, "994": young} {
				require.NoError(t, st.CreatePaymentCode(ctx, "mch_a", "acct_"+code, code, expired, expired.Add(-time.Minute)))
			}
			require.NoError(t, st.DB().Exec("UPDATE payment_codes SET payment_id = 'pay_1' WHERE account_id = 'acct_992'").Error)
		},
		want: rows{"SELECT account_id FROM payment_codes": {"acct_993", "acct_994"}},
	}, {
		kind: store.PurgeKindAudit,
		seed: func(t *testing.T, ctx context.Context, st *store.Store) {
			for id, when := range map[string]time.Time{"aud_old": old, "aud_old2": old.Add(time.Minute), "aud_old3": old.Add(2 * time.Minute), "aud_young": young} {
				_, err := st.Audit(ctx, models.AuditEntry{ID: id, Operator: "ops", Action: "disable", Target: "mch_a", Result: "ok", CreatedAt: when})
				require.NoError(t, err)
			}
		},
		want: rows{"SELECT id FROM audit_log": {"aud_young"}},
	}, {
		kind: store.PurgeKindEvents,
		seed: func(t *testing.T, ctx context.Context, st *store.Store) {
			seedEvent(t, ctx, st, "evt_delivered", old, attempt{at: at(old, 1), code: 200})
			seedEvent(t, ctx, st, "evt_failed", old, attempt{at: at(old, 2), code: 500}, attempt{at: at(old, 3), code: 500})
			seedEvent(t, ctx, st, "evt_gone", old, attempt{at: at(old, 4), gaveUp: true})
			// Redelivered since the cutoff: the merchant still works with it.
			seedEvent(t, ctx, st, "evt_redelivered", old, attempt{at: at(old, 5), code: 500}, attempt{at: young, code: 200, delivery: "d2"})
			// Its delivery never ran: not delivered, so kept.
			seedEvent(t, ctx, st, "evt_unattempted", old)
			seedEvent(t, ctx, st, "evt_cutoff", old, attempt{at: cutoff, code: 200})
			seedEvent(t, ctx, st, "evt_young", young, attempt{at: young, code: 200})
		},
		want: rows{
			"SELECT id FROM events": {"evt_redelivered", "evt_unattempted", "evt_cutoff", "evt_young"},
			// The purged events' attempts went with them, the others' stayed.
			"SELECT event_id, attempt FROM webhook_attempts": {"evt_redelivered#1", "evt_redelivered#2", "evt_cutoff#1", "evt_young#1"},
		},
	}, {
		kind: store.PurgeKindWebhookAttempts,
		seed: func(t *testing.T, ctx context.Context, st *store.Store) {
			// Retried, then delivered: the 2xx is kept.
			seedEvent(t, ctx, st, "evt_a", old, attempt{at: at(old, 1), code: 500}, attempt{at: at(old, 2), code: 503}, attempt{at: at(old, 3), code: 200})
			// Failed when the delivery window passed: the latest is kept.
			seedEvent(t, ctx, st, "evt_b", old, attempt{at: at(old, 4), code: 500}, attempt{at: at(old, 5)}, attempt{at: at(old, 6), code: 502})
			// Given up, then redelivered and failed again: the given-up attempt and
			// the latest are kept.
			seedEvent(t, ctx, st, "evt_c", old, attempt{at: at(old, 7), gaveUp: true},
				attempt{at: at(old, 8), code: 500, delivery: "d2"}, attempt{at: at(old, 9), code: 500, delivery: "d2"})
			// Redelivered since the cutoff: its old attempt goes, the young ones stay.
			seedEvent(t, ctx, st, "evt_d", old, attempt{at: at(old, 10), code: 500}, attempt{at: young, code: 500, delivery: "d2"},
				attempt{at: at(young, 1), code: 500, delivery: "d2"})
			seedEvent(t, ctx, st, "evt_e", young, attempt{at: at(young, 2), code: 500}, attempt{at: at(young, 3), code: 200})
		},
		want: rows{
			"SELECT event_id, attempt FROM webhook_attempts": {"evt_a#3", "evt_b#3", "evt_c#1", "evt_c#3", "evt_d#2", "evt_d#3", "evt_e#1", "evt_e#2"},
			"SELECT id FROM events":                          {"evt_a", "evt_b", "evt_c", "evt_d", "evt_e"},
		},
		same: []string{"evt_a", "evt_b", "evt_c", "evt_d", "evt_e"},
	}}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, st *store.Store) {
				ctx := context.Background()
				c.seed(t, ctx, st)
				before, err := st.EventDeliveries(ctx, c.same, now)
				require.NoError(t, err)
				purgeInBatches(t, st, c.kind, cutoff, 2)
				for query, want := range c.want {
					require.ElementsMatch(t, want, listRows(t, st, query), query)
				}
				after, err := st.EventDeliveries(ctx, c.same, now)
				require.NoError(t, err)
				for _, id := range c.same {
					b, a := before[id], after[id]
					require.Equal(t, b.Status, a.Status, id)
					require.Equal(t, b.LastAttemptAt, a.LastAttemptAt, id)
					require.Equal(t, b.LastStatusCode, a.LastStatusCode, id)
				}
				// Nothing is left to purge: a second pass deletes nothing.
				n, more, err := st.PurgeBatch(ctx, c.kind, cutoff, 2)
				require.NoError(t, err)
				require.Zero(t, n)
				require.False(t, more)
			})
		})
	}
}

// A webhook attempts purge scans each attempt once: what it kept stays behind its
// mark, and an attempt made later (past the mark) is looked at by the next purge.
func TestPurgeWebhookAttemptsResumesAfterItsMark(t *testing.T) {
	forEachBackend(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		seedEvent(t, ctx, st, "evt_a", now.Add(-3*time.Hour), attempt{at: now.Add(-3 * time.Hour), code: 500}, attempt{at: now.Add(-2 * time.Hour), code: 200})
		purgeInBatches(t, st, store.PurgeKindWebhookAttempts, now.Add(-150*time.Minute), 10)
		require.ElementsMatch(t, []string{"evt_a#2"}, listRows(t, st, "SELECT event_id, attempt FROM webhook_attempts"))
		seedEvent(t, ctx, st, "evt_b", now.Add(-time.Hour), attempt{at: now.Add(-time.Hour), code: 500}, attempt{at: now.Add(-30 * time.Minute), code: 200})
		purgeInBatches(t, st, store.PurgeKindWebhookAttempts, now.Add(-10*time.Minute), 10)
		require.ElementsMatch(t, []string{"evt_a#2", "evt_b#2"}, listRows(t, st, "SELECT event_id, attempt FROM webhook_attempts"))
	})
}

// purgeInBatches purges the kind in batches of limit until nothing more is due.
func purgeInBatches(t *testing.T, st *store.Store, kind store.PurgeKind, before time.Time, limit int) {
	t.Helper()
	for i := 0; ; i++ {
		require.Less(t, i, 100, "the purge of %s never ends", kind)
		n, more, err := st.PurgeBatch(context.Background(), kind, before, limit)
		require.NoError(t, err)
		require.LessOrEqual(t, n, int64(limit), "a batch deletes at most its limit")
		if !more {
			return
		}
	}
}

type attempt struct {
	at       time.Time
	code     int
	gaveUp   bool
	delivery string
}

// seedEvent stores an event created at created and its attempts, in order.
func seedEvent(t *testing.T, ctx context.Context, st *store.Store, id string, created time.Time, attempts ...attempt) {
	t.Helper()
	e := event("mch_a", "pay_"+strings.TrimPrefix(id, "evt_"), models.EventPaymentSucceeded, `{"id":"x"}`)
	e.ID, e.CreatedAt = id, created
	_, _, err := st.CreateEvent(ctx, e)
	require.NoError(t, err)
	for _, a := range attempts {
		if a.delivery == "" {
			a.delivery = "d1"
		}
		_, err := st.RecordWebhookAttempt(ctx, models.WebhookAttempt{EventID: id, DeliveryID: a.delivery, At: a.at, StatusCode: a.code, GaveUp: a.gaveUp})
		require.NoError(t, err)
	}
}

// listRows runs query and returns each row's columns joined by "#".
func listRows(t *testing.T, st *store.Store, query string) []string {
	t.Helper()
	rows, err := st.DB().Raw(query).Rows()
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		vals := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		out = append(out, strings.Join(vals, "#"))
	}
	require.NoError(t, rows.Err())
	return out
}
