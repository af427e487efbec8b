package activities_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/secretbox"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// flowStarts is a starter that records the input of every start, and fails the
// starts of the objects in fail (Temporal refusing them).
type flowStarts struct {
	mu    sync.Mutex
	calls []any
	fail  map[string]bool
}

func (f *flowStarts) record(id string, in any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[id] {
		return errors.New("temporal: unavailable")
	}
	f.calls = append(f.calls, in)
	return nil
}

func (f *flowStarts) StartPayment(_ context.Context, in models.PaymentInput) error {
	return f.record(in.PaymentID, in)
}

func (f *flowStarts) StartRefund(_ context.Context, in models.RefundInput) error {
	return f.record(in.RefundID, in)
}

func (f *flowStarts) StartTopup(_ context.Context, in models.TopupInput) error {
	return f.record(in.TopupID, in)
}

func (f *flowStarts) StartWithdrawal(_ context.Context, in models.WithdrawalInput) error {
	return f.record(in.WithdrawalID, in)
}

func (f *flowStarts) StartFundOrder(_ context.Context, in models.FundOrderInput) error {
	return f.record(in.OrderID, in)
}

// take returns the starts recorded since the last take.
func (f *flowStarts) take() []any {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// startedIDs are the object ids of starts.
func startedIDs(calls []any) []string {
	ids := []string{}
	for _, c := range calls {
		switch in := c.(type) {
		case models.PaymentInput:
			ids = append(ids, in.PaymentID)
		case models.RefundInput:
			ids = append(ids, in.RefundID)
		case models.TopupInput:
			ids = append(ids, in.TopupID)
		case models.WithdrawalInput:
			ids = append(ids, in.WithdrawalID)
		}
	}
	return ids
}

// sweepFixture is a database of one backend, the sweeper on it with a clock the test
// moves, and its recording starter.
type sweepFixture struct {
	st     *store.Store
	starts *flowStarts
	acts   *activities.Sweeper
	env    *testsuite.TestActivityEnvironment
	now    time.Time
	// heartbeats are the progress the activity heartbeated.
	mu         sync.Mutex
	heartbeats []models.SweepFlowsResult
}

func newSweepFixture(t *testing.T, b testenv.Backend, now time.Time) *sweepFixture {
	t.Helper()
	box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	log := logrus.New()
	log.SetOutput(io.Discard)
	f := &sweepFixture{st: store.New(testenv.Open(t, b), box), starts: &flowStarts{}, now: now}
	f.acts = &activities.Sweeper{
		Store: f.st, Starter: f.starts, Log: logrus.NewEntry(log), HeartbeatEvery: time.Millisecond,
		Now: func() time.Time { return f.now },
	}
	var suite testsuite.WorkflowTestSuite
	f.env = suite.NewTestActivityEnvironment()
	f.env.RegisterActivity(f.acts)
	f.env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p models.SweepFlowsResult
		if details.Get(&p) == nil {
			f.mu.Lock()
			f.heartbeats = append(f.heartbeats, p)
			f.mu.Unlock()
		}
	})
	require.NoError(t, f.st.CreateMerchant(context.Background(), models.Merchant{
		ID: "mch_sweep", Name: "Sweep", ReviewThreshold: 7000, DefaultCurrency: "CNY", Status: models.MerchantActive,
	}, "sweep_secret", ""))
	return f
}

// sweep runs the activity with a grace of a minute.
func (f *sweepFixture) sweep(t *testing.T) (models.SweepFlowsResult, error) {
	t.Helper()
	v, err := f.env.ExecuteActivity(f.acts.SweepFlows, models.SweepFlowsInput{Grace: time.Minute})
	if err != nil {
		return models.SweepFlowsResult{}, err
	}
	var res models.SweepFlowsResult
	require.NoError(t, v.Get(&res))
	return res, nil
}

func (f *sweepFixture) mark(t *testing.T, flow models.Flow) string {
	t.Helper()
	m, err := f.st.SweepMark(context.Background(), flow)
	require.NoError(t, err)
	return m.ID
}

func (f *sweepFixture) payment(t *testing.T, id string, status models.PaymentStatus, created time.Time) models.Payment {
	t.Helper()
	p := models.Payment{
		ID: id, MerchantID: "mch_sweep", Amount: 5000, Currency: "CNY", Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"},
		Channel: "stripe", Status: status, NotifyURL: "https://merchant.example/hooks", WorkflowID: "payment/mch_sweep/" + id,
		CreatedAt: created, UpdatedAt: created,
	}
	require.NoError(t, store.InsertPayment(f.st.DB().DB, p))
	return p
}

func (f *sweepFixture) topup(t *testing.T, id string, created time.Time) {
	t.Helper()
	require.NoError(t, store.InsertTopup(f.st.DB().DB, models.Topup{
		ID: id, MerchantID: "mch_sweep", AccountID: "acc_wallet", Amount: 1500, Currency: "CNY",
		Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_processing"}, Channel: "banksim",
		Status: models.TopupProcessing, WorkflowID: "topup/mch_sweep/" + id, CreatedAt: created, UpdatedAt: created,
	}))
}

func (f *sweepFixture) fundOrder(t *testing.T, id string, status models.FundOrderStatus, created time.Time) {
	t.Helper()
	o := models.FundOrder{ID: id, AccountID: "acc_wallet", ProductID: "prd_bond", Status: status, Currency: "CNY",
		Amount: 100_000, TradeDate: "2026-03-02", ExpectedConfirmDate: "2026-03-03", CreatedAt: created}
	if o.Kind() == models.FundRedemption {
		o.Amount, o.Shares = 0, 5000
	}
	require.NoError(t, store.InsertFundOrder(f.st.DB().DB, "mch_sweep", "https://merchant.example/hooks", o))
}

func (f *sweepFixture) withdrawal(t *testing.T, id string, status models.WithdrawalStatus, created time.Time) {
	t.Helper()
	require.NoError(t, store.InsertWithdrawal(f.st.DB().DB, models.Withdrawal{
		ID: id, MerchantID: "mch_sweep", AccountID: "acc_wallet", Amount: 8000, Currency: "CNY",
		Destination: models.Destination{BankAccount: "ba_success"}, Channel: "banksim", Status: status,
		WorkflowID: "withdrawal/mch_sweep/" + id, CreatedAt: created, UpdatedAt: created,
	}))
}

// Objects still processing and older than the grace get their flow started once, with
// the input the API starts them with (a refund's from its payment, a withdrawal's with
// its merchant's review threshold); finished objects, objects whose flow moved them on
// and objects younger than the grace are left; the marks advance, so the next sweep
// starts nothing again, and an object that comes of age is taken by a later sweep.
func TestSweepStartsFlowsOfObjectsLeftWithoutOne(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			f := newSweepFixture(t, b, now)
			paid := f.payment(t, "pay_paid", models.PaymentSucceeded, now.Add(-10*time.Minute))
			old := f.payment(t, "pay_old", models.PaymentProcessing, now.Add(-5*time.Minute))
			f.payment(t, "pay_done", models.PaymentFailed, now.Add(-5*time.Minute))
			f.payment(t, "pay_young", models.PaymentProcessing, now.Add(-30*time.Second))
			require.NoError(t, store.InsertRefund(f.st.DB().DB, models.Refund{
				ID: "re_old", MerchantID: "mch_sweep", PaymentID: paid.ID, Amount: 1200, Currency: "CNY", Channel: paid.Channel,
				Status: models.RefundProcessing, WorkflowID: "refund/mch_sweep/re_old", CreatedAt: now.Add(-4 * time.Minute), UpdatedAt: now.Add(-4 * time.Minute),
			}))
			f.topup(t, "tu_old", now.Add(-3*time.Minute))
			f.withdrawal(t, "wd_old", models.WithdrawalProcessing, now.Add(-2*time.Minute))
			f.withdrawal(t, "wd_waiting", models.WithdrawalPendingApproval, now.Add(-2*time.Minute))
			f.fundOrder(t, "sub_old", models.FundOrderProcessing, now.Add(-2*time.Minute))
			f.fundOrder(t, "sub_done", models.FundOrderConfirmed, now.Add(-2*time.Minute))
			f.fundOrder(t, "red_old", models.FundOrderProcessing, now.Add(-90*time.Second))

			res, err := f.sweep(t)
			require.NoError(t, err)
			require.Equal(t, []any{
				models.PaymentInput{PaymentID: "pay_old", MerchantID: "mch_sweep", Amount: 5000, Currency: "CNY",
					Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"}, Channel: "stripe", NotifyURL: "https://merchant.example/hooks"},
				models.RefundInput{RefundID: "re_old", PaymentID: "pay_paid", MerchantID: "mch_sweep", Amount: 1200, Currency: "CNY",
					Channel: "stripe", Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_success"}},
				models.TopupInput{TopupID: "tu_old", MerchantID: "mch_sweep", AccountID: "acc_wallet", Amount: 1500, Currency: "CNY",
					Token: "tok_processing", Channel: "banksim"},
				models.WithdrawalInput{WithdrawalID: "wd_old", MerchantID: "mch_sweep", AccountID: "acc_wallet", Amount: 8000, Currency: "CNY",
					BankAccount: "ba_success", Channel: "banksim", ReviewThreshold: 7000},
				models.FundOrderInput{OrderID: "sub_old", Kind: models.FundSubscription, MerchantID: "mch_sweep", AccountID: "acc_wallet",
					ProductID: "prd_bond", Currency: "CNY", Amount: 100_000, TradeDate: "2026-03-02", NotifyURL: "https://merchant.example/hooks",
					Poll: time.Minute, CreatedAt: now.Add(-2 * time.Minute)},
				models.FundOrderInput{OrderID: "red_old", Kind: models.FundRedemption, MerchantID: "mch_sweep", AccountID: "acc_wallet",
					ProductID: "prd_bond", Currency: "CNY", Shares: 5000, TradeDate: "2026-03-02", NotifyURL: "https://merchant.example/hooks",
					Poll: time.Minute, CreatedAt: now.Add(-90 * time.Second)},
			}, f.starts.take())
			require.Equal(t, now.Add(-time.Minute), res.Until)
			require.Len(t, res.Kinds, 6)
			for i, want := range []struct {
				flow models.Flow
				mark string
			}{{models.FlowPayment, "pay_old"}, {models.FlowRefund, "re_old"}, {models.FlowTopup, "tu_old"}, {models.FlowWithdrawal, "wd_old"},
				{models.FlowSubscription, "sub_old"}, {models.FlowRedemption, "red_old"}} {
				k := res.Kinds[i]
				require.Equal(t, want.flow, k.Flow)
				require.Equal(t, 1, k.Started, want.flow)
				require.True(t, k.Done, want.flow)
				require.Equal(t, want.mark, k.MarkID)
				require.Equal(t, want.mark, f.mark(t, want.flow), "the mark in the database")
			}
			require.True(t, old.CreatedAt.Equal(res.Kinds[0].MarkCreatedAt))
			f.mu.Lock()
			require.NotEmpty(t, f.heartbeats, "the sweep heartbeats its progress")
			require.Equal(t, now.Add(-time.Minute), f.heartbeats[0].Until)
			f.mu.Unlock()

			// Swept objects are not started again, even while still processing.
			res, err = f.sweep(t)
			require.NoError(t, err)
			require.Empty(t, f.starts.take())
			for _, k := range res.Kinds {
				require.Zero(t, k.Started, k.Flow)
				require.True(t, k.Done, k.Flow)
			}

			// A minute later the young payment is past its grace.
			f.now = now.Add(time.Minute)
			_, err = f.sweep(t)
			require.NoError(t, err)
			require.Equal(t, []string{"pay_young"}, startedIDs(f.starts.take()))
			require.Equal(t, "pay_young", f.mark(t, models.FlowPayment))
		})
	}
}

// A start that fails (Temporal down) keeps the mark before the object: the sweep
// fails, the other kinds are swept all the same, and the next sweep starts the object.
// The mark moves a page at a time, so the objects of the failed page before it are
// started again (idempotent starts find their flows).
func TestSweepKeepsTheMarkWhenAStartFails(t *testing.T) {
	tests := []struct {
		name     string
		pageSize int
		// markAfterFailure is the payments' mark after the failed sweep.
		markAfterFailure string
		// retried are the payments the next sweep starts.
		retried []string
	}{
		{"a page of one", 1, "pay_1", []string{"pay_2", "pay_3"}},
		{"one page", 10, "", []string{"pay_1", "pay_2", "pay_3"}},
	}
	for _, b := range testenv.Backends {
		for _, tc := range tests {
			t.Run(string(b)+"/"+tc.name, func(t *testing.T) {
				now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
				f := newSweepFixture(t, b, now)
				f.acts.PageSize = tc.pageSize
				f.acts.Parallel = 1
				f.payment(t, "pay_1", models.PaymentProcessing, now.Add(-5*time.Minute))
				f.payment(t, "pay_2", models.PaymentProcessing, now.Add(-4*time.Minute))
				f.payment(t, "pay_3", models.PaymentProcessing, now.Add(-3*time.Minute))
				f.topup(t, "tu_1", now.Add(-5*time.Minute))
				f.starts.fail = map[string]bool{"pay_2": true}

				_, err := f.sweep(t)
				require.ErrorContains(t, err, "start the flow of pay_2")
				started := startedIDs(f.starts.take())
				require.NotContains(t, started, "pay_3", "the sweep went on past the failed start")
				require.Contains(t, started, "tu_1", "the top-ups are swept although a payment failed")
				require.Equal(t, tc.markAfterFailure, f.mark(t, models.FlowPayment))
				require.Equal(t, "tu_1", f.mark(t, models.FlowTopup))

				f.starts.mu.Lock()
				f.starts.fail = nil
				f.starts.mu.Unlock()
				_, err = f.sweep(t)
				require.NoError(t, err)
				require.Equal(t, tc.retried, startedIDs(f.starts.take()))
				require.Equal(t, "pay_3", f.mark(t, models.FlowPayment))
			})
		}
	}
}

// A sweep takes at most Limit objects of a kind; the next goes on from the mark.
func TestSweepStopsAtItsLimit(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f := newSweepFixture(t, testenv.SQLite, now)
	f.acts.PageSize, f.acts.Limit = 2, 3
	for i, id := range []string{"pay_a", "pay_b", "pay_c", "pay_d", "pay_e"} {
		f.payment(t, id, models.PaymentProcessing, now.Add(-time.Hour+time.Duration(i)*time.Second))
	}
	res, err := f.sweep(t)
	require.NoError(t, err)
	// Starts of a page run in parallel, in any order.
	require.ElementsMatch(t, []string{"pay_a", "pay_b", "pay_c"}, startedIDs(f.starts.take()))
	require.False(t, res.Kinds[0].Done, "the limit stopped it before the window's end")
	require.Equal(t, "pay_c", f.mark(t, models.FlowPayment))

	res, err = f.sweep(t)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"pay_d", "pay_e"}, startedIDs(f.starts.take()))
	require.True(t, res.Kinds[0].Done)
}
