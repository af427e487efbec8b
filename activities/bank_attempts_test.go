package activities_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/models"
)

// These tests run the bank activities one attempt at a time in the SDK's
// TestActivityEnvironment: what an attempt leaves in its heartbeat details, and what a
// later attempt does with them (the server hands the last details to the next
// attempt, which env.SetHeartbeatDetails stands for).

// progress is the JSON of the bank activities' heartbeat details, as the server
// keeps them between attempts (a worker of the next release must read them).
type progress struct {
	MayHaveActed   bool   `json:"may_have_acted"`
	Channel        string `json:"channel"`
	RefusedThrough int32  `json:"refused_through,omitempty"`
}

// attemptEnv is an activity environment whose activities see attempt number attempt
// (the test environment always runs attempt 1; the server numbers retries), with the
// last heartbeat details recorded in details.
type attemptEnv struct {
	*testsuite.TestActivityEnvironment
	mu      sync.Mutex
	details *progress
}

func newAttemptEnv(t *testing.T, acts *activities.Bank, attempt int32, prev *progress) *attemptEnv {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	e := &attemptEnv{TestActivityEnvironment: s.NewTestActivityEnvironment()}
	if attempt > 1 {
		e.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&attemptInterceptor{attempt: attempt}}})
	}
	e.RegisterActivity(acts)
	if prev != nil {
		e.SetHeartbeatDetails(*prev)
	}
	e.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var p progress
		if d.HasValues() && d.Get(&p) == nil {
			e.mu.Lock()
			e.details = &p
			e.mu.Unlock()
		}
	})
	return e
}

func (e *attemptEnv) heartbeat() *progress {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.details
}

func (e *attemptEnv) charge(t *testing.T, acts *activities.Bank, in models.ChargeInput) (models.ChargeResult, error) {
	t.Helper()
	v, err := e.ExecuteActivity(acts.Charge, in)
	if err != nil {
		return models.ChargeResult{}, err
	}
	var res models.ChargeResult
	require.NoError(t, v.Get(&res))
	return res, nil
}

// chargeTwice runs a first attempt of the charge in, which must fail with errType
// and leave want as its heartbeat details, then a second attempt given those
// details, and returns the second attempt's answer.
func chargeTwice(t *testing.T, acts *activities.Bank, in models.ChargeInput, errType string, want *progress) (models.ChargeResult, error) {
	t.Helper()
	first := newAttemptEnv(t, acts, 1, nil)
	_, err := first.charge(t, acts, in)
	require.Equal(t, errType, appErrType(t, err))
	require.Equal(t, want, first.heartbeat())
	return newAttemptEnv(t, acts, 2, first.heartbeat()).charge(t, acts, in)
}

// attemptInterceptor makes activity.GetInfo report a later attempt.
type attemptInterceptor struct {
	interceptor.WorkerInterceptorBase
	attempt int32
}

func (a *attemptInterceptor) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &attemptInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, attempt: a.attempt}
}

type attemptInbound struct {
	interceptor.ActivityInboundInterceptorBase
	attempt int32
}

func (a *attemptInbound) Init(outbound interceptor.ActivityOutboundInterceptor) error {
	return a.Next.Init(&attemptOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: outbound}, attempt: a.attempt})
}

type attemptOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	attempt int32
}

func (a *attemptOutbound) GetInfo(ctx context.Context) activity.Info {
	info := a.Next.GetInfo(ctx)
	info.Attempt = a.attempt
	return info
}

func chargeIn(channel string) models.ChargeInput {
	return models.ChargeInput{
		Reference: models.NewID(models.PrefixPayment), MerchantID: "mch_1", Amount: 1050, Currency: "CNY",
		Token: "tok_success", Channel: channel,
	}
}

func appErrType(t *testing.T, err error) string {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%v", err)
	return appErr.Type()
}

// A bank that refuses before acting: the attempt answers bank_unavailable and
// heartbeats that every attempt through this one was refused; the next attempt, given
// those details, sends again without asking the bank (nothing can be there), and the
// charge is booked once.
func TestChargeRefusedBeforeActingIsResumedWithoutAQuery(t *testing.T) {
	b := newModelBank("b", "refuse")
	acts := bankActivities(t, b)
	in := chargeIn("b")

	res, err := chargeTwice(t, acts, in, models.ErrTypeBankUnavailable, &progress{Channel: "b", RefusedThrough: 1})
	require.NoError(t, err)
	require.Equal(t, models.BankSucceeded, res.Status)
	require.Equal(t, 0, b.queries, "refusals proved: no earlier request can be at the bank")
	require.Equal(t, 2, b.charges)
	require.Len(t, b.executed, 1)
	rec, err := acts.Store.BankTransferByReference(context.Background(), in.Reference)
	require.NoError(t, err)
	require.Equal(t, models.BankSucceeded, rec.Status, "the decided charge is recorded for reconciliation")
}

// A bank that acted but whose answer was lost: the attempt answers unknown_outcome and
// heartbeats that it may have acted; the next attempt asks the bank first, finds the
// charge and answers it, without charging again.
func TestChargeRetryQueriesBeforeResending(t *testing.T) {
	b := newModelBank("b", "timeout")
	acts := bankActivities(t, b)
	in := chargeIn("b")

	res, err := chargeTwice(t, acts, in, models.ErrTypeUnknownOutcome, &progress{MayHaveActed: true, Channel: "b"})
	require.NoError(t, err)
	require.Equal(t, models.BankSucceeded, res.Status)
	require.Equal(t, "b", res.Channel)
	require.Equal(t, 1, b.queries)
	require.Equal(t, 1, b.charges, "the charge was not sent twice")
	rec, err := acts.Store.BankTransferByReference(context.Background(), in.Reference)
	require.NoError(t, err)
	require.Equal(t, models.BankSucceeded, rec.Status)
}

// A later attempt with no heartbeat at all (the worker died with the request sent)
// may have been preceded by one that acted: it asks the bank first; the bank never saw
// the reference, so it is sent again to the same bank under the same reference.
func TestChargeRetryWithoutDetailsQueriesThenSendsAgain(t *testing.T) {
	b := newModelBank("b")
	acts := bankActivities(t, b)
	in := chargeIn("b")
	env := newAttemptEnv(t, acts, 2, nil)
	res, err := env.charge(t, acts, in)
	require.NoError(t, err)
	require.Equal(t, models.BankSucceeded, res.Status)
	require.Equal(t, 1, b.queries, "asked before sending")
	require.Equal(t, 1, b.charges)
}

// Refusals proved through attempt 1 say nothing about attempt 2: attempt 3 with those
// details asks the bank first.
func TestChargeRefusalsProvedOnlyThroughTheirAttempt(t *testing.T) {
	b := newModelBank("b")
	acts := bankActivities(t, b)
	in := chargeIn("b")
	env := newAttemptEnv(t, acts, 3, &progress{Channel: "b", RefusedThrough: 1})
	_, err := env.charge(t, acts, in)
	require.NoError(t, err)
	require.Equal(t, 1, b.queries)
}

// Once an attempt may have acted, a refusal of the resend is still unknown_outcome
// (never bank_unavailable, which would let the flow try another bank), and the
// details keep saying it may have acted.
func TestChargeRefusalAfterMayHaveActedStaysUnknown(t *testing.T) {
	b := newModelBank("b", "refuse")
	acts := bankActivities(t, b)
	env := newAttemptEnv(t, acts, 2, &progress{MayHaveActed: true, Channel: "b"})
	_, err := env.charge(t, acts, chargeIn("b"))
	require.Equal(t, models.ErrTypeUnknownOutcome, appErrType(t, err))
	require.Equal(t, 1, b.queries)
	require.Equal(t, &progress{MayHaveActed: true, Channel: "b"}, env.heartbeat())
	require.Empty(t, b.executed)
}

// A payout the bank declines without a code is the non-retryable business failure
// account_closed (the payout's default code), and is recorded (it is on the bank's
// statement).
func TestPayoutDeclinedIsRecordedWithItsCode(t *testing.T) {
	b := &decliningBank{modelBank: newModelBank("b")}
	acts := bankActivities(t, b)
	env := newAttemptEnv(t, acts, 1, nil)
	in := models.PayoutInput{Reference: models.NewID(models.PrefixWithdrawal), MerchantID: "mch_1", Amount: 500, Currency: "CNY", BankAccount: "ba_closed", Channel: "b"}
	_, err := env.ExecuteActivity(acts.Payout, in)
	require.Equal(t, string(models.FailureAccountClosed), appErrType(t, err))
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr))
	require.True(t, appErr.NonRetryable())
	rec, err := acts.Store.BankTransferByReference(context.Background(), in.Reference)
	require.NoError(t, err)
	require.Equal(t, models.BankFailed, rec.Status)
	require.Equal(t, models.FailureNone, rec.FailureCode, "the bank gave no code; the payout's default is the answer")
}

// decliningBank fails every payout without a code (a closed account, in the words of
// a bank that says no more).
type decliningBank struct {
	*modelBank
}

func (b *decliningBank) Payout(_ context.Context, r bank.PayoutRequest) (bank.Transfer, error) {
	return bank.Transfer{Reference: r.Reference, Channel: b.name, Kind: bank.KindPayout, Amount: r.Amount, Currency: r.Currency,
		Status: models.BankFailed}, nil
}
