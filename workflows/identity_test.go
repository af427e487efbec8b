package workflows

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/models"
)

// identityEnv is a test environment for the identity flows: the bank's and the
// bureau's calls and the steps that book and record are fakes that count their calls
// (and when, in env time) and keep what they were given.
type identityEnv struct {
	*testsuite.TestWorkflowEnvironment
	start time.Time

	mu       sync.Mutex
	calls    map[string][]time.Duration // activity name → env time of each call since start
	finishes []activities.FinishIdentityInput
	records  []activities.RecordBindingInput
	otps     []string
}

func newIdentityEnv(t *testing.T) *identityEnv {
	env := newEnv(t)
	env.RegisterActivity(&activities.Identity{})
	e := &identityEnv{TestWorkflowEnvironment: env, start: env.Now(), calls: map[string][]time.Duration{}}
	env.OnActivity(identityActs.FinishIdentity, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishIdentityInput) error {
			e.note(ActivityFinishIdentity)
			e.mu.Lock()
			defer e.mu.Unlock()
			e.finishes = append(e.finishes, in)
			return nil
		}).Maybe()
	env.OnActivity(identityActs.RecordBinding, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RecordBindingInput) error {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.records = append(e.records, in)
			return nil
		}).Maybe()
	return e
}

func (e *identityEnv) note(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls[name] = append(e.calls[name], e.Now().Sub(e.start))
	return len(e.calls[name])
}

func (e *identityEnv) count(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.calls[name])
}

func (e *identityEnv) times(name string) []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]time.Duration(nil), e.calls[name]...)
}

// finished is the one FinishIdentity the flow ran.
func (e *identityEnv) finished(t *testing.T) activities.FinishIdentityInput {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	require.Len(t, e.finishes, 1, "the fee and the outcome are booked once")
	return e.finishes[0]
}

// noAnswer is what the identity activities fail with when the bank or the bureau did
// not answer: retried.
func noAnswer() error {
	return temporal.NewApplicationError("identity service unavailable", models.ErrTypeUnknownOutcome)
}

func verificationInput() models.VerificationInput {
	return models.VerificationInput{
		VerificationID: "ver_t1", MerchantID: "mch_demo", Currency: "CNY",
		Identity: models.Identity{CardNumber: "6222020200112233445", Name: "Test Person"},
		Fee:      50, CachedFee: 10, CacheKey: "ck_1", CacheTTL: 24 * time.Hour,
	}
}

// A verification bills the merchant once, from a hold placed before the bank is
// asked: the bank's answer costs Fee, a cached one CachedFee and asks no bank, a bank
// that never answers in two minutes costs nothing (the hold goes back), and a
// merchant who cannot cover the fee gets no bank call at all.
func TestIdentityVerification(t *testing.T) {
	match := models.VerificationAnswer{Result: models.VerificationMatch, Card: models.CardInfo{Bank: "ICBC", CardType: "debit", Last4: "3445"}}
	mismatch := models.VerificationAnswer{Result: models.VerificationMismatch, MismatchedFields: []string{models.FieldName}}
	type bankAnswer struct {
		ans models.VerificationAnswer
		err error
	}
	tests := []struct {
		name       string
		cached     *models.VerificationAnswer
		holdAmount int64
		holdCode   models.FailureCode
		bank       []bankAnswer // in turn; the last one repeats
		status     models.VerificationStatus
		code       models.FailureCode
		answer     *models.VerificationAnswer
		fee        int64
		holdID     string
		bankCalls  int           // -1: at least two
		maxEnd     time.Duration // 0: no bound checked
	}{
		{name: "the bank answers match", holdAmount: 50, bank: []bankAnswer{{ans: match}},
			status: models.VerificationSucceeded, answer: &match, fee: 50, holdID: "hold_1", bankCalls: 1},
		{name: "the bank answers mismatch: billed as well", holdAmount: 50, bank: []bankAnswer{{ans: mismatch}},
			status: models.VerificationSucceeded, answer: &mismatch, fee: 50, holdID: "hold_1", bankCalls: 1},
		{name: "cache hit", cached: &match, holdAmount: 10,
			status: models.VerificationSucceeded, answer: &match, fee: 10, holdID: "hold_1", bankCalls: 0},
		{name: "the bank unavailable for more than two minutes", holdAmount: 50, bank: []bankAnswer{{err: noAnswer()}},
			status: models.VerificationFailed, code: models.FailureBankUnavailable, fee: 0, holdID: "hold_1", bankCalls: -1, maxEnd: 2 * time.Minute},
		{name: "the bank times out once, then answers", holdAmount: 50, bank: []bankAnswer{{err: noAnswer()}, {ans: match}},
			status: models.VerificationSucceeded, answer: &match, fee: 50, holdID: "hold_1", bankCalls: 2},
		{name: "the bank refuses the request", holdAmount: 50,
			bank:   []bankAnswer{{err: temporal.NewNonRetryableApplicationError("bad card", models.ErrTypeInvalidInput, nil)}},
			status: models.VerificationFailed, code: models.FailureBankUnavailable, fee: 0, holdID: "hold_1", bankCalls: 1},
		{name: "hold refused", holdAmount: 50, holdCode: models.FailureInsufficientFunds,
			status: models.VerificationFailed, code: models.FailureInsufficientFunds, fee: 0, holdID: "", bankCalls: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newIdentityEnv(t)
			env.OnActivity(identityActs.LookupVerification, mock.Anything, "ck_1").Return(tc.cached, nil).Once()
			expectHold(env.TestWorkflowEnvironment, "verification/ver_t1/fee-hold", "", tc.holdAmount, tc.holdCode)
			env.OnActivity(identityActs.VerifyAtBank, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in models.VerificationInput) (models.VerificationAnswer, error) {
					n := env.note(ActivityVerifyAtBank)
					a := tc.bank[min(n, len(tc.bank))-1]
					return a.ans, a.err
				}).Maybe()

			env.ExecuteWorkflow(VerificationWorkflow, verificationInput())
			out := resultOf[models.VerificationOutcome](t, env.TestWorkflowEnvironment)
			require.Equal(t, tc.status, out.Status)
			require.Equal(t, tc.code, out.FailureCode)
			require.Equal(t, tc.fee, out.Fee)
			require.Equal(t, tc.cached != nil, out.Cached)
			require.Equal(t, tc.answer, out.Answer)

			switch calls := env.count(ActivityVerifyAtBank); tc.bankCalls {
			case -1:
				require.GreaterOrEqual(t, calls, 2, "a bank that does not answer is asked again")
			default:
				require.Equal(t, tc.bankCalls, calls, "bank calls")
			}
			fin := env.finished(t)
			require.Equal(t, tc.fee, fin.Fee, "fee booked")
			require.Equal(t, tc.holdID, fin.HoldID, "the hold settled (fee > 0) or released (fee 0)")
			require.Equal(t, "verification/ver_t1/fee", fin.PostingKey)
			require.Equal(t, "ck_1", fin.CacheKey)
			require.Equal(t, 24*time.Hour, fin.CacheTTL)
			require.NotNil(t, fin.Verification)
			require.Equal(t, out, *fin.Verification, "the outcome recorded is the one answered")
			if tc.maxEnd > 0 {
				// Asked again with backoff, never past the two minutes (the retry
				// that would come after them is not made).
				require.LessOrEqual(t, env.times(ActivityFinishIdentity)[0], tc.maxEnd, "the verification waited on the bank too long")
			}
			require.Equal(t, models.StageDone, queryState[models.FlowState](t, env.TestWorkflowEnvironment).Stage)
		})
	}
}

// A cache that fails is a miss: the bank is asked and the full fee is billed.
func TestIdentityVerificationCacheErrorIsAMiss(t *testing.T) {
	env := newIdentityEnv(t)
	env.OnActivity(identityActs.LookupVerification, mock.Anything, "ck_1").Return(nil, temporal.NewApplicationError("redis down", "cache")).Once()
	expectHold(env.TestWorkflowEnvironment, "verification/ver_t1/fee-hold", "", 50, "")
	match := models.VerificationAnswer{Result: models.VerificationMatch}
	env.OnActivity(identityActs.VerifyAtBank, mock.Anything, mock.Anything).Return(match, nil).Once()
	env.ExecuteWorkflow(VerificationWorkflow, verificationInput())
	out := resultOf[models.VerificationOutcome](t, env.TestWorkflowEnvironment)
	require.Equal(t, models.VerificationSucceeded, out.Status)
	require.False(t, out.Cached)
	require.Equal(t, int64(50), env.finished(t).Fee)
}

func cardBindingInput() models.CardBindingInput {
	return models.CardBindingInput{
		CardID: "card_t1", MerchantID: "mch_demo", AccountID: "acct_w1", OTPWindow: models.OTPWindow,
		Identity: models.Identity{CardNumber: "6222020200112233445", Name: "Test Person", IDNumber: "110101199001011234", Phone: "13800000000"},
	}
}

const rightOTP = "424242"

var boundCardInfo = models.CardInfo{Bank: "ICBC", CardType: "debit", Last4: "3445"}

// bindingBank fakes the bank's binding calls: StartBinding answers start, the right
// code makes the card active, wrong codes are answered with wrong in turn (the last
// repeats).
func (e *identityEnv) bindingBank(start models.BindingState, wrong ...string) {
	e.OnActivity(identityActs.StartBindingAtBank, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in models.CardBindingInput) (models.BindingState, error) {
			e.note(ActivityStartBindingAtBank)
			return start, nil
		}).Maybe()
	wrongs := 0
	e.OnActivity(identityActs.ConfirmBindingAtBank, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ConfirmBindingInput) (models.BindingState, error) {
			e.note(ActivityConfirmBindingAtBank)
			e.mu.Lock()
			defer e.mu.Unlock()
			e.otps = append(e.otps, in.OTP)
			if in.OTP == rightOTP {
				return models.BindingState{Status: "active", AgreementNo: "agr_1", Card: boundCardInfo}, nil
			}
			wrongs++
			return models.BindingState{Status: wrong[min(wrongs, len(wrong))-1]}, nil
		}).Maybe()
	e.OnActivity(identityActs.RemoveBindingAtBank, mock.Anything, "card_t1").Return(
		func(_ context.Context, id string) error {
			e.note(ActivityRemoveBindingAtBank)
			return nil
		}).Maybe()
}

func otpSent() models.BindingState {
	return models.BindingState{Status: "otp_sent", Card: boundCardInfo}
}

// confirmAt sends a code at env time at; its answer lands in res, a refusal in
// refused.
func (e *identityEnv) confirmAt(at time.Duration, otp string, res *models.ConfirmCardResult, refused *error) {
	e.RegisterDelayedCallback(func() {
		e.UpdateWorkflow(UpdateConfirmCard, "", updateResult(res, refused), models.ConfirmCard{OTP: otp})
	}, at)
}

func (e *identityEnv) removeAt(at time.Duration) {
	e.RegisterDelayedCallback(func() { e.SignalWorkflow(SignalRemoveCard, nil) }, at)
}

func (e *identityEnv) bindingEnds(t *testing.T, status models.BoundCardStatus, code models.FailureCode) {
	t.Helper()
	e.ExecuteWorkflow(CardBindingWorkflow, cardBindingInput())
	res := resultOf[models.CardBindingResult](t, e.TestWorkflowEnvironment)
	require.Equal(t, models.CardBindingResult{Status: status, FailureCode: code}, res)
	require.Equal(t, 1, e.count(ActivityStartBindingAtBank), "the bank sends one code")
}

func (e *identityEnv) recorded() []activities.RecordBindingInput {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]activities.RecordBindingInput(nil), e.records...)
}

func intp(i int) *int { return &i }

// The right code makes the card active (recorded with its agreement); it stays so
// until removed, when the bank ends the agreement once and the card is removed.
func TestIdentityCardBindingRightCodeThenRemoved(t *testing.T) {
	env := newIdentityEnv(t)
	env.bindingBank(otpSent())
	var res models.ConfirmCardResult
	var stage models.Stage
	env.confirmAt(time.Minute, rightOTP, &res, nil)
	env.RegisterDelayedCallback(func() { stage = queryState[models.FlowState](t, env.TestWorkflowEnvironment).Stage }, 2*time.Minute)
	env.RegisterDelayedCallback(func() {
		require.Equal(t, 0, env.count(ActivityRemoveBindingAtBank), "an active card is not removed before it is asked")
	}, time.Hour)
	env.removeAt(2 * time.Hour) // long after the code's window: an active card does not expire
	env.bindingEnds(t, models.BoundCardRemoved, "")
	require.Equal(t, models.ConfirmCardResult{Status: models.BoundCardActive, Correct: true}, res)
	require.Equal(t, StageActive, stage)
	require.Equal(t, 1, env.count(ActivityRemoveBindingAtBank))
	require.Equal(t, []activities.RecordBindingInput{
		{CardID: "card_t1", Status: models.BoundCardActive, Card: &boundCardInfo, AgreementNo: "agr_1"},
		{CardID: "card_t1", Status: models.BoundCardRemoved},
	}, env.recorded())
}

// One wrong code leaves two tries; the right one then makes the card active.
func TestIdentityCardBindingWrongThenRight(t *testing.T) {
	env := newIdentityEnv(t)
	env.bindingBank(otpSent(), "otp_incorrect")
	var first, second models.ConfirmCardResult
	env.confirmAt(time.Minute, "111111", &first, nil)
	env.confirmAt(2*time.Minute, rightOTP, &second, nil)
	env.removeAt(time.Hour)
	env.bindingEnds(t, models.BoundCardRemoved, "")
	require.Equal(t, models.ConfirmCardResult{Status: models.BoundCardPendingOTP, AttemptsLeft: 2}, first)
	require.Equal(t, models.ConfirmCardResult{Status: models.BoundCardActive, Correct: true}, second)
	require.Equal(t, []string{"111111", rightOTP}, env.otps)
	rec := env.recorded()
	require.Len(t, rec, 3)
	require.Equal(t, activities.RecordBindingInput{CardID: "card_t1", AttemptsLeft: intp(2)}, rec[0])
	require.Equal(t, models.BoundCardActive, rec[1].Status)
	require.Equal(t, models.BoundCardRemoved, rec[2].Status)
}

// Three wrong codes fail the binding otp_attempts_exceeded, whether the bank says so
// on the third or the flow counts them; a code that arrives while the last try is at
// the bank is answered failed and never reaches the bank.
func TestIdentityCardBindingThreeWrong(t *testing.T) {
	for _, tc := range []struct {
		name  string
		wrong []string
	}{
		{"the bank says so on the third", []string{"otp_incorrect", "otp_incorrect", "otp_attempts_exceeded"}},
		{"the flow counts them", []string{"otp_incorrect"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newIdentityEnv(t)
			env.bindingBank(otpSent(), tc.wrong...)
			var r1, r2, r3, r4 models.ConfirmCardResult
			env.confirmAt(time.Minute, "111111", &r1, nil)
			env.confirmAt(2*time.Minute, "222222", &r2, nil)
			env.RegisterDelayedCallback(func() {
				env.UpdateWorkflow(UpdateConfirmCard, "third", updateResult(&r3), models.ConfirmCard{OTP: "333333"})
				env.UpdateWorkflow(UpdateConfirmCard, "late", updateResult(&r4), models.ConfirmCard{OTP: rightOTP})
			}, 3*time.Minute)
			env.bindingEnds(t, models.BoundCardFailed, models.FailureOTPAttemptsExceeded)
			require.Equal(t, models.ConfirmCardResult{Status: models.BoundCardPendingOTP, AttemptsLeft: 2}, r1)
			require.Equal(t, models.ConfirmCardResult{Status: models.BoundCardPendingOTP, AttemptsLeft: 1}, r2)
			failed := models.ConfirmCardResult{Status: models.BoundCardFailed, FailureCode: models.FailureOTPAttemptsExceeded}
			require.Equal(t, failed, r3)
			require.Equal(t, failed, r4, "the code after the last try is answered with the binding's end")
			require.Equal(t, []string{"111111", "222222", "333333"}, env.otps, "the late code never reaches the bank")
			rec := env.recorded()
			require.Len(t, rec, 3)
			require.Equal(t, activities.RecordBindingInput{CardID: "card_t1", Status: models.BoundCardFailed,
				FailureCode: models.FailureOTPAttemptsExceeded, AttemptsLeft: intp(0)}, rec[2])
			require.Equal(t, 0, env.count(ActivityRemoveBindingAtBank))
		})
	}
}

// No code within the window: failed otp_expired when the window closes, nothing
// asked of the bank.
func TestIdentityCardBindingExpired(t *testing.T) {
	env := newIdentityEnv(t)
	env.bindingBank(otpSent(), "otp_incorrect")
	env.bindingEnds(t, models.BoundCardFailed, models.FailureOTPExpired)
	require.Empty(t, env.otps)
	require.GreaterOrEqual(t, env.Now().Sub(env.start), models.OTPWindow, "failed before the window closed")
	require.Equal(t, []activities.RecordBindingInput{{CardID: "card_t1", Status: models.BoundCardFailed,
		FailureCode: models.FailureOTPExpired, AttemptsLeft: intp(0)}}, env.recorded())
}

// The bank checks the elements before it sends a code: a refusal fails the binding
// with its reason, and no code is awaited.
func TestIdentityCardBindingRefusedByTheBank(t *testing.T) {
	for _, tc := range []struct {
		reason string
		code   models.FailureCode
	}{
		{"verification_failed", models.FailureVerificationFailed},
		{"unsupported_card", models.FailureUnsupportedCard},
	} {
		t.Run(tc.reason, func(t *testing.T) {
			env := newIdentityEnv(t)
			env.bindingBank(models.BindingState{Status: "failed", Reason: tc.reason, Card: models.CardInfo{Bank: "ICBC"}})
			env.bindingEnds(t, models.BoundCardFailed, tc.code)
			require.Equal(t, []activities.RecordBindingInput{{CardID: "card_t1", Status: models.BoundCardFailed,
				FailureCode: tc.code, Card: &models.CardInfo{Bank: "ICBC"}}}, env.recorded())
			require.Equal(t, 0, env.count(ActivityConfirmBindingAtBank))
			require.Equal(t, 0, env.count(ActivityRemoveBindingAtBank))
		})
	}
}

// A card removed before any code: the bank ends the binding once, the card is
// removed at once (the window does not run out first).
func TestIdentityCardBindingRemovedWhilePending(t *testing.T) {
	env := newIdentityEnv(t)
	env.bindingBank(otpSent())
	env.removeAt(time.Minute)
	env.bindingEnds(t, models.BoundCardRemoved, "")
	require.Equal(t, 1, env.count(ActivityRemoveBindingAtBank))
	require.Less(t, env.times(ActivityRemoveBindingAtBank)[0], models.OTPWindow)
	require.Equal(t, 0, env.count(ActivityConfirmBindingAtBank))
	require.Equal(t, []activities.RecordBindingInput{{CardID: "card_t1", Status: models.BoundCardRemoved}}, env.recorded())
}

// The confirm Update's validator refuses a code that is not 6 digits, and any code
// once the card is no longer waiting for one: none of them reaches the bank or costs
// a try.
func TestIdentityCardBindingConfirmValidator(t *testing.T) {
	env := newIdentityEnv(t)
	env.bindingBank(otpSent())
	malformed := []string{"", "12345", "1234567", "12a456", "١٢٣٤٥٦"}
	refusals := make([]error, len(malformed))
	for i, otp := range malformed {
		var res models.ConfirmCardResult
		env.confirmAt(time.Minute, otp, &res, &refusals[i])
	}
	var ok models.ConfirmCardResult
	env.confirmAt(2*time.Minute, rightOTP, &ok, nil)
	var afterEnd error
	var late models.ConfirmCardResult
	env.confirmAt(3*time.Minute, rightOTP, &late, &afterEnd)
	env.removeAt(4 * time.Minute)
	env.bindingEnds(t, models.BoundCardRemoved, "")
	for i, err := range refusals {
		require.Error(t, err, "code %q must be refused", malformed[i])
	}
	require.Equal(t, models.ConfirmCardResult{Status: models.BoundCardActive, Correct: true}, ok, "the refused codes cost no try")
	require.ErrorContains(t, afterEnd, "no code is awaited")
	require.Equal(t, []string{rightOTP}, env.otps)
}

func creditReportInput() models.CreditReportInput {
	return models.CreditReportInput{
		ReportID: "cr_t1", MerchantID: "mch_demo", Currency: "CNY", Fee: 300, Purpose: "loan_review",
		Subject: models.Subject{Name: "Test Person", IDNumber: "110101199001011234"},
		Poll:    10 * time.Second, Deadline: time.Hour, Retention: 90 * 24 * time.Hour,
	}
}

// bureau fakes the bureau: RequestReport fails retryably requestFails times (-1:
// always), the queries are answered with answers in turn (the last repeats; an empty
// status is no answer).
func (e *identityEnv) bureau(requestFails int, answers ...models.BureauAnswer) {
	e.OnActivity(identityActs.RequestReportAtBureau, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in models.CreditReportInput) error {
			n := e.note(ActivityRequestReportAtBureau)
			if requestFails < 0 || n <= requestFails {
				return noAnswer()
			}
			return nil
		}).Maybe()
	e.OnActivity(identityActs.QueryReportAtBureau, mock.Anything, "cr_t1").Return(
		func(_ context.Context, id string) (models.BureauAnswer, error) {
			n := e.note(ActivityQueryReportAtBureau)
			a := answers[min(n, len(answers))-1]
			if a.Status == "" {
				return models.BureauAnswer{}, noAnswer()
			}
			return a, nil
		}).Maybe()
}

var reportContent = json.RawMessage(`{"score":712,"accounts":3}`)

// A credit report bills the merchant once the bureau has answered (ready or
// no_record), from a hold placed first; a bureau that never takes the request or
// never answers by the deadline costs nothing (the hold goes back), and the report
// fails then, not long after.
func TestIdentityCreditReport(t *testing.T) {
	processing := models.BureauAnswer{Status: "processing"}
	ready := models.BureauAnswer{Status: "ready", Report: reportContent}
	tests := []struct {
		name         string
		deadline     time.Duration
		holdCode     models.FailureCode
		requestFails int
		answers      []models.BureauAnswer
		callbackAt   time.Duration
		status       models.CreditReportStatus
		code         models.FailureCode
		fee          int64
		holdID       string
		content      json.RawMessage
		requests     int // -1: at least two
		queries      int // -1: at least two
	}{
		{name: "ready after a poll", answers: []models.BureauAnswer{processing, ready},
			status: models.CreditReportReady, fee: 300, holdID: "hold_1", content: reportContent, requests: 1, queries: 2},
		{name: "the callback wakes the flow before the poll", answers: []models.BureauAnswer{ready}, callbackAt: 3 * time.Second,
			status: models.CreditReportReady, fee: 300, holdID: "hold_1", content: reportContent, requests: 1, queries: 1},
		{name: "the bureau down, then up", requestFails: 3, answers: []models.BureauAnswer{ready},
			status: models.CreditReportReady, fee: 300, holdID: "hold_1", content: reportContent, requests: 4, queries: 1},
		{name: "the bureau never takes the request", deadline: 10 * time.Minute, requestFails: -1,
			status: models.CreditReportFailed, code: models.FailureBureauUnavailable, fee: 0, holdID: "hold_1", requests: -1, queries: 0},
		{name: "no record: billed", answers: []models.BureauAnswer{processing, {Status: "no_record"}},
			status: models.CreditReportFailed, code: models.FailureNoRecord, fee: 300, holdID: "hold_1", requests: 1, queries: 2},
		{name: "never ready until the deadline", answers: []models.BureauAnswer{processing},
			status: models.CreditReportFailed, code: models.FailureBureauUnavailable, fee: 0, holdID: "hold_1", requests: 1, queries: -1},
		{name: "the bureau stops answering queries until the deadline", answers: []models.BureauAnswer{processing, {}},
			status: models.CreditReportFailed, code: models.FailureBureauUnavailable, fee: 0, holdID: "hold_1", requests: 1, queries: -1},
		{name: "hold refused", holdCode: models.FailureInsufficientFunds,
			status: models.CreditReportFailed, code: models.FailureInsufficientFunds, fee: 0, holdID: "", requests: 0, queries: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newIdentityEnv(t)
			in := creditReportInput()
			if tc.deadline > 0 {
				in.Deadline = tc.deadline
			}
			expectHold(env.TestWorkflowEnvironment, "credit_report/cr_t1/fee-hold", "", 300, tc.holdCode)
			env.bureau(tc.requestFails, tc.answers...)
			if tc.callbackAt > 0 {
				env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalBureauCallback, nil) }, tc.callbackAt)
			}
			env.ExecuteWorkflow(CreditReportWorkflow, in)
			res := resultOf[models.CreditReportResult](t, env.TestWorkflowEnvironment)
			require.Equal(t, models.CreditReportResult{Status: tc.status, FailureCode: tc.code}, res)

			for name, want := range map[string]int{ActivityRequestReportAtBureau: tc.requests, ActivityQueryReportAtBureau: tc.queries} {
				if want < 0 {
					require.GreaterOrEqual(t, env.count(name), 2, name)
				} else {
					require.Equal(t, want, env.count(name), name)
				}
			}
			fin := env.finished(t)
			require.Equal(t, tc.fee, fin.Fee, "fee booked")
			require.Equal(t, tc.holdID, fin.HoldID, "the hold settled (fee > 0) or released (fee 0)")
			require.Equal(t, "credit_report/cr_t1/fee", fin.PostingKey)
			require.Equal(t, &res, fin.Report, "the outcome recorded is the one answered")
			require.Equal(t, tc.content, fin.Content, "the content handed over to be sealed")
			require.Equal(t, in.Retention, fin.Retention)
			ended := env.times(ActivityFinishIdentity)[0]
			if tc.code == models.FailureBureauUnavailable {
				// A bureau that took the request is asked until the deadline; one
				// that never took it is given up on when the next retry would come
				// after the deadline. Either way the report fails by the deadline
				// (and a minute for the last question), not up to an hour later.
				if tc.requests >= 0 {
					require.GreaterOrEqual(t, ended, in.Deadline, "given up before the deadline")
				}
				require.LessOrEqual(t, ended, in.Deadline+time.Minute, "a report failing long after its deadline")
			}
			if tc.callbackAt > 0 {
				q := env.times(ActivityQueryReportAtBureau)
				require.GreaterOrEqual(t, q[0], tc.callbackAt)
				require.Less(t, q[0], in.Poll, "the callback must wake the flow before the poll timer")
			}
			if tc.name == "ready after a poll" {
				q := env.times(ActivityQueryReportAtBureau)
				require.Equal(t, []time.Duration{in.Poll, 3 * in.Poll}, q, "asked after Poll, then after twice as long")
			}
		})
	}
}

// A bank that never answers the binding's start: failed bank_unavailable, no code
// awaited, nothing to remove.
func TestIdentityCardBindingBankUnavailable(t *testing.T) {
	env := newIdentityEnv(t)
	env.OnActivity(identityActs.StartBindingAtBank, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in models.CardBindingInput) (models.BindingState, error) {
			env.note(ActivityStartBindingAtBank)
			return models.BindingState{}, noAnswer()
		}).Maybe()
	env.ExecuteWorkflow(CardBindingWorkflow, cardBindingInput())
	res := resultOf[models.CardBindingResult](t, env.TestWorkflowEnvironment)
	require.Equal(t, models.CardBindingResult{Status: models.BoundCardFailed, FailureCode: models.FailureBankUnavailable}, res)
	require.GreaterOrEqual(t, env.count(ActivityStartBindingAtBank), 2, "a bank that does not answer is asked again")
	require.Equal(t, []activities.RecordBindingInput{{CardID: "card_t1", Status: models.BoundCardFailed,
		FailureCode: models.FailureBankUnavailable, AttemptsLeft: intp(0)}}, env.recorded())
}

// A code that arrives while the bank's first answer is still on its way (the SMS can
// be faster than the answer) waits for the flow to take it, and is tried once: it is
// not refused, nor counted wrong (a defect make chaos found: the API answered such a
// right code otp_incorrect).
func TestIdentityCardBindingCodeBeforeTheBanksAnswer(t *testing.T) {
	env := newIdentityEnv(t)
	env.OnActivity(identityActs.StartBindingAtBank, mock.Anything, mock.Anything).After(10 * time.Second).Return(
		func(_ context.Context, in models.CardBindingInput) (models.BindingState, error) {
			env.note(ActivityStartBindingAtBank)
			return otpSent(), nil
		})
	env.bindingBank(otpSent())
	var res models.ConfirmCardResult
	var refused error
	env.confirmAt(time.Second, rightOTP, &res, &refused)
	env.removeAt(time.Hour)
	env.bindingEnds(t, models.BoundCardRemoved, "")
	require.NoError(t, refused)
	require.Equal(t, models.ConfirmCardResult{Status: models.BoundCardActive, Correct: true}, res)
	require.Equal(t, 1, env.count(ActivityConfirmBindingAtBank))
}
