package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/models"
)

func subscriptionInput() models.FundOrderInput {
	return models.FundOrderInput{OrderID: "sub_t1", Kind: models.FundSubscription, MerchantID: "mch_demo", AccountID: "acct_w1",
		ProductID: "prd_bond", Currency: "CNY", Amount: 100_000, TradeDate: "2026-10-09", Poll: time.Minute}
}

func redemptionInput() models.FundOrderInput {
	return models.FundOrderInput{OrderID: "red_t1", Kind: models.FundRedemption, MerchantID: "mch_demo", AccountID: "acct_w1",
		ProductID: "prd_bond", Currency: "CNY", Shares: 50_000, TradeDate: "2026-10-09", Poll: time.Minute}
}

// fundEnv fakes the fund company (its answers to the placement and, in order, to
// each query; the last repeats) and records the booked steps.
type fundEnv struct {
	*identityEnv
	mu       sync.Mutex
	finishes []activities.FinishFundOrderInput
	// answer, when set, answers the queries instead of the list.
	answer func() models.FundOrderState
}

func newFundEnv(t *testing.T, placeFails int, placed string, answers []models.FundOrderState, finishFails int) *fundEnv {
	e := &fundEnv{identityEnv: newIdentityEnv(t)}
	e.RegisterActivity(&activities.Fund{})
	e.OnActivity(fundActs.PlaceFundOrder, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in models.FundOrderInput) (models.FundOrderState, error) {
			if n := e.note(ActivityPlaceFundOrder); n <= placeFails {
				return models.FundOrderState{}, temporal.NewApplicationError("fund company unavailable", models.ErrTypeUnknownOutcome)
			}
			return models.FundOrderState{Status: placed}, nil
		}).Maybe()
	e.OnActivity(fundActs.QueryFundOrder, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id string) (models.FundOrderState, error) {
			n := e.note(ActivityQueryFundOrder)
			if e.answer != nil {
				return e.answer(), nil
			}
			return answers[min(n, len(answers))-1], nil
		}).Maybe()
	e.OnActivity(fundActs.FinishFundOrder, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishFundOrderInput) error {
			if n := e.note(ActivityFinishFundOrder); n <= finishFails {
				return temporal.NewApplicationError("database down", models.ErrTypeDatabase)
			}
			e.mu.Lock()
			defer e.mu.Unlock()
			e.finishes = append(e.finishes, in)
			return nil
		}).Maybe()
	e.OnActivity(fundActs.PositionAccount, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in models.FundOrderInput) (string, error) { return "acct_pos1", nil }).Maybe()
	return e
}

func (e *fundEnv) steps() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, f := range e.finishes {
		out = append(out, f.Step)
	}
	return out
}

var (
	fundAccepted    = models.FundOrderState{Status: activities.FundStateAccepted}
	subConfirmed    = models.FundOrderState{Status: activities.FundStateConfirmed, NAV: 10234, Shares: 97_617, Fee: 100}
	fundRejected    = models.FundOrderState{Status: activities.FundStateRejected, Reason: "rejected_by_fund"}
	redConfirmed    = models.FundOrderState{Status: activities.FundStateConfirmed, NAV: 10234, Shares: 50_000, Amount: 50_920, Fee: 250}
	redPaid         = models.FundOrderState{Status: activities.FundStatePaid, NAV: 10234, Shares: 50_000, Amount: 50_920, Fee: 250}
	subConfirmedRes = models.FundOrderResult{Status: models.FundOrderConfirmed, Shares: 97_617, Amount: 100_000, NAV: 10234, Fee: 100}
)

// A subscription holds the money, waits for the fund company as long as its NAV
// takes (polling, or woken by a callback), and books its confirmation once; a
// refusal or a rejection fails it and releases the hold; a wallet without the money
// never reaches the fund company.
func TestFundSubscription(t *testing.T) {
	tests := []struct {
		name        string
		hold        models.FailureCode
		placeFails  int
		placed      string
		answers     []models.FundOrderState
		callbacks   []time.Duration
		finishFails int
		want        models.FundOrderResult
		steps       []string
		queries     int // -1: not checked
		queriedAt   []time.Duration
	}{
		{name: "NAV published late: confirmed on the fourth question", placed: "accepted",
			answers: []models.FundOrderState{fundAccepted, fundAccepted, fundAccepted, subConfirmed},
			want:    subConfirmedRes, steps: []string{"confirm"}, queries: 4,
			queriedAt: []time.Duration{time.Minute, 3 * time.Minute, 7 * time.Minute, 15 * time.Minute}},
		{name: "the callback wakes the flow before its timer", placed: "accepted",
			answers: []models.FundOrderState{subConfirmed}, callbacks: []time.Duration{20 * time.Second},
			want: subConfirmedRes, steps: []string{"confirm"}, queries: 1, queriedAt: []time.Duration{20 * time.Second}},
		{name: "confirmed twice: booked once", placed: "accepted",
			answers: []models.FundOrderState{subConfirmed}, callbacks: []time.Duration{20 * time.Second, 21 * time.Second},
			want: subConfirmedRes, steps: []string{"confirm"}, queries: 1},
		{name: "the fund company down, then it takes the order", placeFails: 4, placed: "accepted",
			answers: []models.FundOrderState{subConfirmed}, want: subConfirmedRes, steps: []string{"confirm"}, queries: 1},
		{name: "refused when placed", placed: "rejected",
			want: models.FundOrderResult{Status: models.FundOrderFailed, FailureCode: models.FailureRejectedByFund}, steps: []string{"fail"}, queries: 0},
		{name: "rejected at confirmation", placed: "accepted", answers: []models.FundOrderState{fundAccepted, fundRejected},
			want: models.FundOrderResult{Status: models.FundOrderFailed, FailureCode: models.FailureRejectedByFund}, steps: []string{"fail"}, queries: 2},
		{name: "not enough money", hold: models.FailureInsufficientFunds,
			want: models.FundOrderResult{Status: models.FundOrderFailed, FailureCode: models.FailureInsufficientFunds}, steps: []string{"fail"}, queries: 0},
		{name: "a crash between the confirmation and its booking", placed: "accepted", answers: []models.FundOrderState{subConfirmed},
			finishFails: 2, want: subConfirmedRes, steps: []string{"confirm"}, queries: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newFundEnv(t, tc.placeFails, tc.placed, tc.answers, tc.finishFails)
			in := subscriptionInput()
			expectHold(env.TestWorkflowEnvironment, "subscription/sub_t1/hold", "acct_w1", 100_000, tc.hold)
			for _, at := range tc.callbacks {
				env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalFundCallback, nil) }, at)
			}
			env.ExecuteWorkflow(FundOrderWorkflow, in)
			res := resultOf[models.FundOrderResult](t, env.TestWorkflowEnvironment)
			require.Equal(t, tc.want, res)
			require.Equal(t, tc.steps, env.steps(), "the steps booked, each once")
			require.Equal(t, tc.queries, env.count(ActivityQueryFundOrder), "questions to the fund company")
			if tc.queriedAt != nil {
				require.Equal(t, tc.queriedAt, env.times(ActivityQueryFundOrder))
			}
			if tc.placeFails > 0 {
				require.Equal(t, tc.placeFails+1, env.count(ActivityPlaceFundOrder), "placed again under the same id")
			}
			fin := env.finishes[0]
			require.Equal(t, "subscription/sub_t1/cash", fin.CashKey)
			require.Equal(t, "subscription/sub_t1/shares", fin.SharesKey)
			if tc.hold == "" {
				require.Equal(t, "hold_1", fin.HoldID, "the hold settles or is released")
			} else {
				require.Empty(t, fin.HoldID)
				require.Zero(t, env.count(ActivityPlaceFundOrder), "no order without the money")
			}
			if res.Status == models.FundOrderConfirmed {
				require.Equal(t, subConfirmed, fin.State)
			}
		})
	}
}

// A redemption holds the shares, books the confirmation (shares out), then waits for
// the fund company's payment (money in); more shares than the wallet has never reach
// the fund company.
func TestFundRedemption(t *testing.T) {
	t.Run("confirmed, then paid", func(t *testing.T) {
		env := newFundEnv(t, 0, "accepted", []models.FundOrderState{fundAccepted, redConfirmed, redConfirmed, redPaid}, 0)
		expectHold(env.TestWorkflowEnvironment, "redemption/red_t1/hold", "acct_pos1", 50_000, "")
		env.ExecuteWorkflow(FundOrderWorkflow, redemptionInput())
		res := resultOf[models.FundOrderResult](t, env.TestWorkflowEnvironment)
		require.Equal(t, models.FundOrderResult{Status: models.FundOrderPaid, Shares: 50_000, Amount: 50_920, NAV: 10234, Fee: 250}, res)
		require.Equal(t, []string{"confirm", "pay"}, env.steps())
		require.Equal(t, redConfirmed, env.finishes[0].State)
		require.Equal(t, redPaid, env.finishes[1].State)
		require.Equal(t, "hold_1", env.finishes[0].HoldID)
	})
	t.Run("paid by the first answer", func(t *testing.T) {
		env := newFundEnv(t, 0, "accepted", []models.FundOrderState{redPaid}, 0)
		expectHold(env.TestWorkflowEnvironment, "redemption/red_t1/hold", "acct_pos1", 50_000, "")
		env.ExecuteWorkflow(FundOrderWorkflow, redemptionInput())
		res := resultOf[models.FundOrderResult](t, env.TestWorkflowEnvironment)
		require.Equal(t, models.FundOrderPaid, res.Status)
		require.Equal(t, []string{"confirm", "pay"}, env.steps())
		require.Equal(t, 1, env.count(ActivityQueryFundOrder))
	})
	t.Run("more shares than free", func(t *testing.T) {
		env := newFundEnv(t, 0, "accepted", nil, 0)
		expectHold(env.TestWorkflowEnvironment, "redemption/red_t1/hold", "acct_pos1", 50_000, models.FailureInsufficientFunds)
		env.ExecuteWorkflow(FundOrderWorkflow, redemptionInput())
		res := resultOf[models.FundOrderResult](t, env.TestWorkflowEnvironment)
		require.Equal(t, models.FundOrderResult{Status: models.FundOrderFailed, FailureCode: models.FailureInsufficientShares}, res)
		require.Equal(t, []string{"fail"}, env.steps())
		require.Zero(t, env.count(ActivityPlaceFundOrder))
	})
}

func TestFundOrderRefusesInvalidInput(t *testing.T) {
	env := newEnv(t)
	in := subscriptionInput()
	in.Amount = 0
	env.ExecuteWorkflow(FundOrderWorkflow, in)
	require.Error(t, env.GetWorkflowError())
}

// An order placed on a Friday after the cut-off before a three-day holiday trades
// the next trading day and is confirmed a trading day later: the flow waits the six
// days, asking at most hourly (each wait doubles from Poll up to an hour), never
// giving up, and books the confirmation once when it comes.
func TestFundOrderWaitsOverWeekendsAndHolidays(t *testing.T) {
	env := newFundEnv(t, 0, "accepted", nil, 0)
	confirmAfter := 6 * 24 * time.Hour
	env.answer = func() models.FundOrderState {
		if env.Now().Sub(env.start) < confirmAfter {
			return fundAccepted
		}
		return subConfirmed
	}
	expectHold(env.TestWorkflowEnvironment, "subscription/sub_t1/hold", "acct_w1", 100_000, "")
	env.ExecuteWorkflow(FundOrderWorkflow, subscriptionInput())
	res := resultOf[models.FundOrderResult](t, env.TestWorkflowEnvironment)
	require.Equal(t, subConfirmedRes, res)
	require.Equal(t, []string{"confirm"}, env.steps())
	times := env.times(ActivityQueryFundOrder)
	last := times[len(times)-1]
	require.GreaterOrEqual(t, last, confirmAfter)
	require.Less(t, last, confirmAfter+time.Hour+time.Minute, "confirmed within an hour of the fund company's confirmation")
	for i := 1; i < len(times); i++ {
		require.LessOrEqual(t, times[i]-times[i-1], time.Hour+time.Second, "no wait longer than an hour")
	}
	require.Less(t, len(times), 6*24+10, "about one question an hour, not a storm")
}
