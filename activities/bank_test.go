package activities_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/bank/auto"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// modelBank is an in-process bank that executes each reference at most once and
// can be told, per call, to refuse, to act and then lose the answer, or to act and
// then "crash" the caller (a panic: the worker died with the request sent).
type modelBank struct {
	name string
	mu   sync.Mutex
	// executed: reference -> status.
	executed map[string]models.BankStatus
	// plan answers the n-th Charge (1-based): "refuse", "timeout" (acts, answer
	// lost), "crash" (acts, then the caller dies), "inflight" (lost on its way; the
	// bank executes it only when it is told to) or "" (acts and answers).
	plan    []string
	charges int
	queries int
	// inflight holds references sent but not yet arrived.
	inflight map[string]bool
}

func newModelBank(name string, plan ...string) *modelBank {
	return &modelBank{name: name, plan: plan, executed: map[string]models.BankStatus{}, inflight: map[string]bool{}}
}

func (b *modelBank) Name() string { return b.name }

func (b *modelBank) Charge(_ context.Context, r bank.ChargeRequest) (bank.Transfer, error) {
	b.mu.Lock()
	b.charges++
	step := ""
	if b.charges <= len(b.plan) {
		step = b.plan[b.charges-1]
	}
	t := bank.Transfer{Reference: r.Reference, Channel: b.name, Kind: bank.KindCharge, Amount: r.Amount, Currency: r.Currency, Status: models.BankSucceeded}
	switch step {
	case "refuse":
		b.mu.Unlock()
		return bank.Transfer{}, fmt.Errorf("%s: %w", b.name, bank.ErrUnavailable)
	case "inflight":
		b.inflight[r.Reference] = true
		b.mu.Unlock()
		return bank.Transfer{}, fmt.Errorf("%s: timeout: %w", b.name, bank.ErrUnknownOutcome)
	}
	b.executed[r.Reference] = models.BankSucceeded
	b.mu.Unlock()
	switch step {
	case "timeout":
		return bank.Transfer{}, fmt.Errorf("%s: timeout: %w", b.name, bank.ErrUnknownOutcome)
	case "crash":
		panic("worker died after the request left")
	}
	return t, nil
}

// arrive executes the requests still on their way.
func (b *modelBank) arrive() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ref := range b.inflight {
		b.executed[ref] = models.BankSucceeded
	}
	b.inflight = map[string]bool{}
}

func (b *modelBank) Payout(ctx context.Context, r bank.PayoutRequest) (bank.Transfer, error) {
	return b.Charge(ctx, bank.ChargeRequest{Reference: r.Reference, Amount: r.Amount, Currency: r.Currency})
}

func (b *modelBank) Refund(ctx context.Context, r bank.RefundRequest) (bank.Transfer, error) {
	return b.Charge(ctx, bank.ChargeRequest{Reference: r.Reference, Amount: r.Amount, Currency: r.Currency})
}

func (b *modelBank) Query(_ context.Context, ref string) (bank.Transfer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queries++
	if st, ok := b.executed[ref]; ok {
		return bank.Transfer{Reference: ref, Channel: b.name, Kind: bank.KindCharge, Status: st}, nil
	}
	return bank.Transfer{}, fmt.Errorf("%s: %w", b.name, bank.ErrNotFound)
}

func (b *modelBank) Cancel(_ context.Context, ref string) (bank.Transfer, error) {
	return bank.Transfer{}, fmt.Errorf("%s: %w", b.name, bank.ErrNotCancelable)
}

func (b *modelBank) Statement(context.Context, time.Time) (io.ReadCloser, error) {
	return nil, errors.New("no statement")
}

// chargeWithRetries runs the Charge activity with the bank activities' retry shape.
func chargeWithRetries(ctx workflow.Context, in models.ChargeInput) (models.ChargeResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second, ScheduleToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Second, MaximumAttempts: 4},
	})
	var acts *activities.Bank
	var res models.ChargeResult
	err := workflow.ExecuteActivity(ctx, acts.Charge, in).Get(ctx, &res)
	return res, err
}

func bankActivities(t *testing.T, channels ...bank.Channel) *activities.Bank {
	t.Helper()
	reg := bank.NewRegistry(channels...)
	lg := logrus.New()
	lg.SetOutput(io.Discard)
	st := store.New(testenv.Open(t, testenv.SQLite), nil)
	return &activities.Bank{Channels: reg, Store: st, Log: logrus.NewEntry(lg)}
}

func runCharge(t *testing.T, acts *activities.Bank, channel string) (models.ChargeResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(chargeWithRetries)
	env.RegisterActivity(acts)
	env.ExecuteWorkflow(chargeWithRetries, models.ChargeInput{
		Reference: models.NewID(models.PrefixPayment), MerchantID: "mch_1", Amount: 1050, Currency: "CNY", Token: "tok_success", Channel: channel,
	})
	require.True(t, env.IsWorkflowCompleted())
	var res models.ChargeResult
	err := env.GetWorkflowError()
	if err == nil {
		require.NoError(t, env.GetWorkflowResult(&res))
	}
	return res, err
}

// A worker that dies after the request left writes no heartbeat: the next attempt
// must still ask the bank first, and find the charge there, instead of charging
// again (through a router, again at another bank). Before the fix the retry skipped
// the query and the router sent the reference to the other bank: two charges.
func TestChargeAfterAWorkerDiedMidCallQueriesFirst(t *testing.T) {
	a := newModelBank("a", "refuse") // refuses the first charge only
	b := newModelBank("b", "crash")  // executes, then the worker dies
	routes, err := auto.ParseRoutes(`[{"channels":["a","b"]}]`)
	require.NoError(t, err)
	router, err := auto.New(routes, bank.NewRegistry(a, b).Get)
	require.NoError(t, err)
	acts := bankActivities(t, a, b, router)
	res, err := runCharge(t, acts, "auto")
	require.NoError(t, err)
	require.Equal(t, models.BankSucceeded, res.Status)
	require.Equal(t, "b", res.Channel)
	require.Empty(t, a.executed, "the reference executed at a second bank")
	require.Equal(t, 1, b.charges)
}

// Once an attempt may have acted, "not found" followed by a refusal proves nothing
// (the first request may still be on its way): the activity answers unknown_outcome,
// never bank_unavailable (which would let the flow try another bank). Before the fix
// it answered bank_unavailable.
func TestRefusalAfterAnUnknownOutcomeIsStillUnknown(t *testing.T) {
	b := newModelBank("b", "inflight", "refuse", "refuse", "refuse")
	acts := bankActivities(t, b)
	_, err := runCharge(t, acts, "b")
	require.Equal(t, models.ErrTypeUnknownOutcome, appErrType(t, err))
	b.arrive()
	require.Len(t, b.executed, 1)
}

// Every attempt refused before acting is bank_unavailable: the only answer that lets
// a flow move on to another bank.
func TestRefusedEveryTimeIsBankUnavailable(t *testing.T) {
	b := newModelBank("b", "refuse", "refuse", "refuse", "refuse")
	acts := bankActivities(t, b)
	_, err := runCharge(t, acts, "b")
	require.Equal(t, models.ErrTypeBankUnavailable, appErrType(t, err))
	require.Equal(t, 0, b.queries, "no attempt could have acted: nothing to ask")
}

// Through a router, a retry that finds the reference at no bank does not resend
// through the router (which could pick another bank than the one whose request is on
// its way); the flow decides, pinned to a channel.
func TestRouterRetryDoesNotResend(t *testing.T) {
	a := newModelBank("a")
	b := newModelBank("b", "inflight")
	routes, err := auto.ParseRoutes(`[{"channels":["b","a"]}]`)
	require.NoError(t, err)
	router, err := auto.New(routes, bank.NewRegistry(a, b).Get)
	require.NoError(t, err)
	acts := bankActivities(t, a, b, router)
	_, err = runCharge(t, acts, "auto")
	require.Equal(t, models.ErrTypeUnknownOutcome, appErrType(t, err))
	b.arrive()
	require.Empty(t, a.executed)
	require.Len(t, b.executed, 1)
}
