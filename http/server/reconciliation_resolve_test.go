package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// resolveFixture is a run with one difference per case, on payments that exist,
// with their refunds and a journal.
type resolveFixture struct {
	rec                 recBody
	payment, other      models.Payment
	refund, pending     models.Refund
	otherRefund         models.Refund
	journal, unrelated  string
	byReference         map[string]models.Difference
	paymentWithoutFlows string
}

// insertSucceededPayment stores a succeeded payment of the demo merchant.
func insertSucceededPayment(t *testing.T, st *store.Store) models.Payment {
	t.Helper()
	now := time.Now().UTC()
	p := models.Payment{
		ID: models.NewID(models.PrefixPayment), MerchantID: "mch_demo", Amount: 1050, Currency: "CNY",
		Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_ok"}, Channel: "banksim",
		Status: models.PaymentSucceeded, CreatedAt: now, UpdatedAt: now,
	}
	p.WorkflowID = "payment/mch_demo/" + p.ID
	require.NoError(t, st.DB().Transaction(func(tx *gorm.DB) error { return store.InsertPayment(tx, p) }))
	return p
}

// insertRefund stores a refund of p with status.
func insertRefund(t *testing.T, st *store.Store, p models.Payment, status models.RefundStatus) models.Refund {
	t.Helper()
	now := time.Now().UTC()
	r := models.Refund{
		ID: models.NewID(models.PrefixRefund), MerchantID: p.MerchantID, PaymentID: p.ID, Amount: 100, Currency: p.Currency,
		Channel: p.Channel, Status: status, CreatedAt: now, UpdatedAt: now,
	}
	r.WorkflowID = "refund/mch_demo/" + r.ID
	require.NoError(t, st.DB().Transaction(func(tx *gorm.DB) error { return store.InsertRefund(tx, r) }))
	return r
}

func newResolveFixture(t *testing.T, a *opsAPI) resolveFixture {
	t.Helper()
	ctx := context.Background()
	f := resolveFixture{rec: a.create(t, `{"channel":"banksim","date":"2026-03-09"}`, 202), byReference: map[string]models.Difference{}}
	f.payment = insertSucceededPayment(t, a.store)
	f.other = insertSucceededPayment(t, a.store)
	f.refund = insertRefund(t, a.store, f.payment, models.RefundSucceeded)
	f.pending = insertRefund(t, a.store, f.payment, models.RefundProcessing)
	f.otherRefund = insertRefund(t, a.store, f.other, models.RefundSucceeded)
	f.paymentWithoutFlows = "pay_nothing_here"
	f.journal, f.unrelated = models.NewID(models.PrefixJournal), models.NewID(models.PrefixJournal)
	for _, j := range []struct{ id, flowID, description string }{
		{f.journal, "ops", "correction of " + f.payment.ID + " (ticket 12)"},
		{f.unrelated, f.other.ID, "capture"},
	} {
		require.NoError(t, a.store.DB().Exec(`INSERT INTO journals (id, idempotency_key, flow, flow_id, description, created_at) VALUES (?, ?, 'payment', ?, ?, ?)`,
			j.id, j.id, j.flowID, j.description, time.Now().UTC()).Error)
	}
	var diffs []models.Difference
	for _, ref := range []string{f.payment.ID, models.PrefixReversal + f.payment.ID, f.paymentWithoutFlows, f.other.ID} {
		diffs = append(diffs, models.Difference{ID: models.NewID(models.PrefixDifference), ReconciliationID: f.rec.ID, Reference: ref, Kind: models.DiffStatusMismatch})
	}
	require.NoError(t, a.store.InsertDifferences(ctx, diffs))
	for _, d := range diffs {
		f.byReference[d.Reference] = d
	}
	return f
}

// Each action checks its object against the difference: the refund must be a
// succeeded refund of the reference's payment, the journal must name the reference,
// a retried reference must have a flow. What is refused stores nothing and a second
// resolution answers 409; each attempt past the body's checks is audited as
// reconciliation.resolve, with the action and ids and never the note.
func TestResolveDifferenceActions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newOpsAPI(t, b)
		f := newResolveFixture(t, a)
		path := func(ref string) string {
			return "/v1/ops/reconciliations/" + f.rec.ID + "/differences/" + f.byReference[ref].ID + "/resolve"
		}
		for _, tc := range []struct {
			name, ref, body string
			status          int
			code, object    string
		}{
			{"bad action", f.payment.ID, `{"action":"deleted","note":"x"}`, 400, "invalid_request", ""},
			{"refunded without refund_id", f.payment.ID, `{"action":"refunded","note":"x"}`, 400, "invalid_request", ""},
			{"refund_id not a refund id", f.payment.ID, `{"action":"refunded","note":"x","refund_id":"pay_1"}`, 400, "invalid_request", ""},
			{"refund_id with explained", f.payment.ID, `{"action":"explained","note":"x","refund_id":"` + f.refund.ID + `"}`, 400, "invalid_request", ""},
			{"journal without journal_id", f.payment.ID, `{"action":"journal","note":"x"}`, 400, "invalid_request", ""},
			{"journal_id with retried", f.payment.ID, `{"action":"retried","note":"x","journal_id":"` + f.journal + `"}`, 400, "invalid_request", ""},
			{"missing refund", f.payment.ID, `{"action":"refunded","note":"x","refund_id":"re_missing"}`, 400, "invalid_request", ""},
			{"refund of another payment", f.payment.ID, `{"action":"refunded","note":"x","refund_id":"` + f.otherRefund.ID + `"}`, 409, "conflict", ""},
			{"refund still processing", f.payment.ID, `{"action":"refunded","note":"x","refund_id":"` + f.pending.ID + `"}`, 409, "conflict", ""},
			{"refund of an unknown reference's payment", f.paymentWithoutFlows, `{"action":"refunded","note":"x","refund_id":"` + f.refund.ID + `"}`, 409, "conflict", ""},
			{"missing journal", f.payment.ID, `{"action":"journal","note":"x","journal_id":"jnl_missing"}`, 400, "invalid_request", ""},
			{"journal of something else", f.payment.ID, `{"action":"journal","note":"x","journal_id":"` + f.unrelated + `"}`, 409, "conflict", ""},
			{"retried without a flow", f.paymentWithoutFlows, `{"action":"retried","note":"x"}`, 409, "conflict", ""},
			{"refunded", f.payment.ID, `{"action":"refunded","note":"customer refunded","refund_id":"` + f.refund.ID + `"}`, 200, "", f.refund.ID},
			{"second resolve", f.payment.ID, `{"note":"again"}`, 409, "conflict", ""},
			{"journal naming a reversal's payment", models.PrefixReversal + f.payment.ID, `{"action":"journal","note":"x","journal_id":"` + f.journal + `"}`, 409, "conflict", ""},
			{"refunded through a reversal", models.PrefixReversal + f.payment.ID, `{"action":"refunded","note":"x","refund_id":"` + f.refund.ID + `"}`, 200, "", f.refund.ID},
			{"journal", f.other.ID, `{"action":"journal","note":"booked","journal_id":"` + f.unrelated + `"}`, 200, "", f.unrelated},
			{"explained by default", f.paymentWithoutFlows, `{"note":"the bank's own correction"}`, 200, "", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, h, body := a.do(t, "POST", path(tc.ref), tc.body)
				require.Equal(t, tc.status, status, "%s", body)
				if tc.status != 200 {
					require.Equal(t, tc.code, problemOf(t, h, body).Code)
					return
				}
				var d models.Difference
				require.NoError(t, json.Unmarshal(body, &d))
				require.NotNil(t, d.Resolution)
				require.Equal(t, tc.object, d.Resolution.ObjectID)
			})
		}

		// retried records the flow of the reference's object.
		status, _, body := a.do(t, "POST", "/v1/ops/reconciliations/"+f.rec.ID+"/differences/"+f.byReference[f.paymentWithoutFlows].ID+"/resolve", `{"action":"retried","note":"x"}`)
		require.Equal(t, 409, status, "%s", body)
		g := insertSucceededPayment(t, a.store)
		dif := models.Difference{ID: models.NewID(models.PrefixDifference), ReconciliationID: f.rec.ID, Reference: g.ID, Kind: models.DiffNotBooked}
		require.NoError(t, a.store.InsertDifferences(context.Background(), []models.Difference{dif}))
		status, _, body = a.do(t, "POST", "/v1/ops/reconciliations/"+f.rec.ID+"/differences/"+dif.ID+"/resolve", `{"action":"retried","note":"reset in Temporal Web"}`)
		require.Equal(t, 200, status, "%s", body)
		var d models.Difference
		require.NoError(t, json.Unmarshal(body, &d))
		require.Equal(t, models.ResolutionRetried, d.Resolution.Action)
		require.Equal(t, g.WorkflowID, d.Resolution.ObjectID)

		// The audit log has the action and ids, not the note.
		entries, _, err := a.store.AuditLog(context.Background(), f.byReference[f.payment.ID].ID, 100, "")
		require.NoError(t, err)
		var results []string
		for _, e := range entries {
			require.Equal(t, "reconciliation.resolve", e.Action)
			require.NotContains(t, e.Reason, "customer refunded")
			results = append(results, e.Result+" "+e.Reason)
		}
		require.Contains(t, results, "accepted reconciliation_id="+f.rec.ID+" action=refunded object_id="+f.refund.ID)
		require.Contains(t, results, "refused reconciliation_id="+f.rec.ID+" action=explained")
		require.Contains(t, results, "refused reconciliation_id="+f.rec.ID+" action=refunded object_id="+f.otherRefund.ID)
	})
}
