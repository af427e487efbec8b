package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/payflow/payflow/activities"
	"github.com/payflow/payflow/models"
)

// The identity flows: a bank-card verification, a card's binding to a wallet, and a
// credit report. Each bills the merchant once (a hold on its settlement account
// before the bank is asked, settled into the fees account when it has answered), and
// none ends on a missing answer: a bank or bureau that does not answer is asked again
// under the same request id, which it keeps as its idempotency key.

var identityActs *activities.Identity

// Workflow type names of the identity flows.
const (
	WorkflowVerification = "VerificationWorkflow"
	WorkflowCardBinding  = "CardBindingWorkflow"
	WorkflowCreditReport = "CreditReportWorkflow"
)

// Activity names of the identity flows.
const (
	ActivityLookupVerification    = "LookupVerification"
	ActivityVerifyAtBank          = "VerifyAtBank"
	ActivityFinishIdentity        = "FinishIdentity"
	ActivityStartBindingAtBank    = "StartBindingAtBank"
	ActivityConfirmBindingAtBank  = "ConfirmBindingAtBank"
	ActivityRemoveBindingAtBank   = "RemoveBindingAtBank"
	ActivityRecordBinding         = "RecordBinding"
	ActivityRequestReportAtBureau = "RequestReportAtBureau"
	ActivityQueryReportAtBureau   = "QueryReportAtBureau"
)

// Handlers of the identity flows.
const (
	// UpdateConfirmCard is the customer's one-time code (models.ConfirmCard,
	// answered with models.ConfirmCardResult; POST .../cards/{id}/confirm).
	UpdateConfirmCard = "confirm-card"
	// SignalRemoveCard removes a card (DELETE .../cards/{id}); the API has already
	// recorded it removed.
	SignalRemoveCard = "remove-card"
	// SignalBureauCallback is the bureau's hint that a report is done: the flow
	// asks the bureau.
	SignalBureauCallback = "bureau-callback"
)

// StageActive is a bound card's flow while the card may be used: it waits for the
// card's removal.
const StageActive models.Stage = "active"

// identityCallOptions: a bank or bureau call answers in seconds, or is asked again
// with backoff; a call the service refused is not retried.
func identityCallOptions(ctx workflow.Context, total time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    5 * time.Second,
		ScheduleToCloseTimeout: total,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: 500 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			NonRetryableErrorTypes: []string{models.ErrTypeInvalidInput},
		},
	})
}

// holdFee places the hold that pays an identity call (nothing for a zero fee); a
// failure code says why none could be placed.
func holdFee(ctx workflow.Context, flow models.Flow, objectID, merchantID string, fee int64, c models.Currency) (models.PlaceHoldResult, error) {
	var hold models.PlaceHoldResult
	if fee <= 0 {
		return hold, nil
	}
	err := workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), holdActs.PlaceHold, models.PlaceHoldInput{
		Key: PostingKey(flow, objectID, "fee-hold"), MerchantID: merchantID, Amount: fee, Currency: c,
		Flow: flow, FlowID: objectID,
	}).Get(ctx, &hold)
	if err != nil {
		return hold, fmt.Errorf("fee hold of %s: %w", objectID, err)
	}
	return hold, nil
}

// finishIdentity books the fee (or releases its hold when Fee is 0) and records the
// outcome.
func finishIdentity(ctx workflow.Context, in activities.FinishIdentityInput) error {
	return workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), identityActs.FinishIdentity, in).Get(ctx, nil)
}

// VerificationWorkflow verifies a card's elements at the bank (or answers from the
// cache, as the starter found it) and bills the merchant once.
func VerificationWorkflow(ctx workflow.Context, in models.VerificationInput) (models.VerificationOutcome, error) {
	if in.VerificationID == "" || in.MerchantID == "" || !in.Currency.Valid() || in.Fee < 0 || in.CachedFee < 0 {
		return models.VerificationOutcome{}, invalidInput("invalid verification input %q", in.VerificationID)
	}
	t, err := newTracker(ctx, models.FlowState{
		Flow: models.FlowVerification, ObjectID: in.VerificationID, Stage: models.StageValidating,
		Status: string(models.VerificationProcessing),
	}, stateQuery, "verification_id", in.VerificationID, "merchant_id", in.MerchantID)
	if err != nil {
		return models.VerificationOutcome{}, err
	}
	fin := activities.FinishIdentityInput{
		Flow: models.FlowVerification, ObjectID: in.VerificationID, MerchantID: in.MerchantID, Currency: in.Currency,
		PostingKey: PostingKey(models.FlowVerification, in.VerificationID, "fee"), CacheKey: in.CacheKey, CacheTTL: in.CacheTTL,
	}
	end := func(out models.VerificationOutcome) (models.VerificationOutcome, error) {
		t.setStage(ctx, models.StagePosting)
		fin.Fee, fin.Verification = out.Fee, &out
		if err := finishIdentity(ctx, fin); err != nil {
			return models.VerificationOutcome{}, t.finalizeFailed(err)
		}
		t.finished(ctx, in.MerchantID, "", string(out.Status), out.FailureCode)
		return out, nil
	}
	var cached *models.VerificationAnswer
	if err := workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 5 * time.Second, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	}), identityActs.LookupVerification, in.CacheKey).Get(ctx, &cached); err != nil {
		cached = nil // a cache that does not answer is a miss
	}
	fee := in.Fee
	if cached != nil {
		fee = in.CachedFee
	}
	hold, err := holdFee(ctx, models.FlowVerification, in.VerificationID, in.MerchantID, fee, in.Currency)
	if err != nil {
		return models.VerificationOutcome{}, err
	}
	if hold.FailureCode != models.FailureNone {
		return end(models.VerificationOutcome{Status: models.VerificationFailed, FailureCode: hold.FailureCode})
	}
	fin.HoldID = hold.HoldID
	if cached != nil {
		return end(models.VerificationOutcome{Status: models.VerificationSucceeded, Answer: cached, Cached: true, Fee: fee})
	}
	t.setStage(ctx, models.StageWaitingBank)
	var ans models.VerificationAnswer
	if err := workflow.ExecuteActivity(identityCallOptions(ctx, 2*time.Minute), identityActs.VerifyAtBank, in).Get(ctx, &ans); err != nil {
		// The bank never answered in two minutes (or refused the request): nothing
		// is billed, the hold goes back.
		t.state.LastError = err.Error()
		return end(models.VerificationOutcome{Status: models.VerificationFailed, FailureCode: models.FailureBankUnavailable})
	}
	return end(models.VerificationOutcome{Status: models.VerificationSucceeded, Answer: &ans, Fee: in.Fee})
}

// cardBindingFlow binds a card to a wallet: the bank checks the four elements and
// sends a code, the customer types it (the confirm Update: three wrong tries or the
// window end it), and the card is active until it is removed.
type cardBindingFlow struct {
	*tracker
	in           models.CardBindingInput
	status       models.BoundCardStatus
	attemptsLeft int
	busy         bool
	removed      bool
}

// CardBindingWorkflow runs a card's binding and, once active, waits for its removal.
func CardBindingWorkflow(ctx workflow.Context, in models.CardBindingInput) (models.CardBindingResult, error) {
	return runFlow(ctx, in, newCardBindingFlow)
}

func newCardBindingFlow(ctx workflow.Context, in models.CardBindingInput) (*cardBindingFlow, error) {
	if in.CardID == "" || in.AccountID == "" || in.OTPWindow <= 0 {
		return nil, invalidInput("invalid card binding input %q", in.CardID)
	}
	t, err := newTracker(ctx, models.FlowState{
		Flow: models.FlowCardBinding, ObjectID: in.CardID, Stage: models.StageValidating,
		Status: string(models.BoundCardPendingOTP),
	}, stateQuery, "card_id", in.CardID, "merchant_id", in.MerchantID)
	if err != nil {
		return nil, err
	}
	f := &cardBindingFlow{tracker: t, in: in, status: models.BoundCardPendingOTP, attemptsLeft: models.OTPAttempts}
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateConfirmCard, f.confirm, workflow.UpdateHandlerOptions{
		Validator: func(ctx workflow.Context, c models.ConfirmCard) error {
			if len(c.OTP) != 6 {
				return fmt.Errorf("the code is 6 digits")
			}
			for _, r := range c.OTP {
				if r < '0' || r > '9' {
					return fmt.Errorf("the code is 6 digits")
				}
			}
			if f.status != models.BoundCardPendingOTP || f.removed {
				return fmt.Errorf("the card is %s: no code is awaited", f.status)
			}
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("register confirm update: %w", err)
	}
	return f, nil
}

func (f *cardBindingFlow) record(ctx workflow.Context, in activities.RecordBindingInput) error {
	in.CardID = f.in.CardID
	return workflow.ExecuteLocalActivity(ledgerLocalOptions(ctx), identityActs.RecordBinding, in).Get(ctx, nil)
}

// confirm hands one code to the bank, one at a time: a right code makes the card
// active, the last wrong one fails the binding.
func (f *cardBindingFlow) confirm(ctx workflow.Context, c models.ConfirmCard) (models.ConfirmCardResult, error) {
	// A code typed as the bank's first answer comes back (the SMS can be faster than
	// the answer) waits for the flow to take it, or to have failed.
	if err := workflow.Await(ctx, func() bool {
		return !f.busy && (f.state.Stage == models.StageWaitingCustomer || f.status != models.BoundCardPendingOTP || f.removed)
	}); err != nil {
		return models.ConfirmCardResult{}, err
	}
	f.busy = true
	defer func() { f.busy = false }()
	if f.status != models.BoundCardPendingOTP {
		return models.ConfirmCardResult{Status: f.status, FailureCode: f.state.FailureCode}, nil
	}
	var st models.BindingState
	err := workflow.ExecuteActivity(identityCallOptions(ctx, time.Minute), identityActs.ConfirmBindingAtBank,
		activities.ConfirmBindingInput{CardID: f.in.CardID, OTP: c.OTP}).Get(ctx, &st)
	if err != nil {
		return models.ConfirmCardResult{}, fmt.Errorf("the bank did not take the code, try again: %w", err)
	}
	switch st.Status {
	case "active":
		info := st.Card
		if err := f.record(ctx, activities.RecordBindingInput{Status: models.BoundCardActive, Card: &info, AgreementNo: st.AgreementNo}); err != nil {
			return models.ConfirmCardResult{}, err
		}
		f.status = models.BoundCardActive
		return models.ConfirmCardResult{Status: f.status, Correct: true}, nil
	case "otp_expired":
		return f.fail(ctx, models.FailureOTPExpired)
	}
	f.attemptsLeft--
	if f.attemptsLeft <= 0 || st.Status == "otp_attempts_exceeded" {
		return f.fail(ctx, models.FailureOTPAttemptsExceeded)
	}
	left := f.attemptsLeft
	if err := f.record(ctx, activities.RecordBindingInput{AttemptsLeft: &left}); err != nil {
		return models.ConfirmCardResult{}, err
	}
	return models.ConfirmCardResult{Status: f.status, AttemptsLeft: left}, nil
}

func (f *cardBindingFlow) fail(ctx workflow.Context, code models.FailureCode) (models.ConfirmCardResult, error) {
	zero := 0
	if err := f.record(ctx, activities.RecordBindingInput{Status: models.BoundCardFailed, FailureCode: code, AttemptsLeft: &zero}); err != nil {
		return models.ConfirmCardResult{}, err
	}
	f.status, f.state.FailureCode = models.BoundCardFailed, code
	return models.ConfirmCardResult{Status: f.status, FailureCode: code}, nil
}

func (f *cardBindingFlow) run(ctx workflow.Context) (models.CardBindingResult, error) {
	removeCh := workflow.GetSignalChannel(ctx, SignalRemoveCard)
	workflow.Go(ctx, func(ctx workflow.Context) {
		removeCh.Receive(ctx, nil)
		f.removed = true
	})
	var st models.BindingState
	if err := workflow.ExecuteActivity(identityCallOptions(ctx, 10*time.Minute), identityActs.StartBindingAtBank, f.in).Get(ctx, &st); err != nil {
		f.state.LastError = err.Error()
		if _, ferr := f.fail(ctx, models.FailureBankUnavailable); ferr != nil {
			return models.CardBindingResult{}, ferr
		}
		return f.end(ctx)
	}
	if st.Status != "otp_sent" {
		code := models.FailureVerificationFailed
		if st.Reason == string(models.FailureUnsupportedCard) {
			code = models.FailureUnsupportedCard
		}
		info := st.Card
		if err := f.record(ctx, activities.RecordBindingInput{Status: models.BoundCardFailed, FailureCode: code, Card: &info}); err != nil {
			return models.CardBindingResult{}, err
		}
		f.status, f.state.FailureCode = models.BoundCardFailed, code
		return f.end(ctx)
	}
	f.setStage(ctx, models.StageWaitingCustomer)
	ok, err := workflow.AwaitWithTimeout(ctx, f.in.OTPWindow, func() bool {
		return f.status != models.BoundCardPendingOTP || f.removed
	})
	if err != nil {
		return models.CardBindingResult{}, err
	}
	if !ok && f.status == models.BoundCardPendingOTP {
		// The window closed: a code in flight finishes first, so that a right code
		// that reached the bank is not thrown away.
		if err := workflow.Await(ctx, func() bool { return !f.busy }); err != nil {
			return models.CardBindingResult{}, err
		}
		if f.status == models.BoundCardPendingOTP {
			if _, err := f.fail(ctx, models.FailureOTPExpired); err != nil {
				return models.CardBindingResult{}, err
			}
		}
	}
	if f.status == models.BoundCardActive {
		f.setStage(ctx, StageActive)
		f.state.Status = string(f.status)
		if err := workflow.Await(ctx, func() bool { return f.removed }); err != nil {
			return models.CardBindingResult{}, err
		}
	}
	if f.removed && f.status != models.BoundCardFailed {
		// The API recorded the removal; the bank ends the agreement, so that nothing
		// can use it any more, even with the agreement number.
		if err := workflow.Await(ctx, func() bool { return !f.busy }); err != nil {
			return models.CardBindingResult{}, err
		}
		if err := workflow.ExecuteActivity(identityCallOptions(ctx, 24*time.Hour), identityActs.RemoveBindingAtBank, f.in.CardID).Get(ctx, nil); err != nil {
			return models.CardBindingResult{}, err
		}
		if err := f.record(ctx, activities.RecordBindingInput{Status: models.BoundCardRemoved}); err != nil {
			return models.CardBindingResult{}, err
		}
		f.status = models.BoundCardRemoved
	}
	return f.end(ctx)
}

func (f *cardBindingFlow) end(ctx workflow.Context) (models.CardBindingResult, error) {
	// Updates already accepted finish before the flow ends.
	if err := workflow.Await(ctx, func() bool { return !f.busy && workflow.AllHandlersFinished(ctx) }); err != nil {
		return models.CardBindingResult{}, err
	}
	f.finished(ctx, f.in.MerchantID, "", string(f.status), f.state.FailureCode)
	return models.CardBindingResult{Status: f.status, FailureCode: f.state.FailureCode}, nil
}

// CreditReportWorkflow asks the bureau for a subject's report, waits for it (a
// callback is a hint, the bureau's answer to a query decides), bills the merchant
// once the bureau has answered, and stores the report sealed.
func CreditReportWorkflow(ctx workflow.Context, in models.CreditReportInput) (models.CreditReportResult, error) {
	if in.ReportID == "" || in.MerchantID == "" || !in.Currency.Valid() || in.Poll <= 0 || in.Deadline <= 0 {
		return models.CreditReportResult{}, invalidInput("invalid credit report input %q", in.ReportID)
	}
	t, err := newTracker(ctx, models.FlowState{
		Flow: models.FlowCreditReport, ObjectID: in.ReportID, Stage: models.StageValidating,
		Status: string(models.CreditReportProcessing),
	}, stateQuery, "report_id", in.ReportID, "merchant_id", in.MerchantID)
	if err != nil {
		return models.CreditReportResult{}, err
	}
	fin := activities.FinishIdentityInput{
		Flow: models.FlowCreditReport, ObjectID: in.ReportID, MerchantID: in.MerchantID, Currency: in.Currency,
		PostingKey: PostingKey(models.FlowCreditReport, in.ReportID, "fee"), Retention: in.Retention,
	}
	end := func(res models.CreditReportResult, fee int64, content []byte) (models.CreditReportResult, error) {
		t.setStage(ctx, models.StagePosting)
		fin.Fee, fin.Report, fin.Content = fee, &res, content
		if err := finishIdentity(ctx, fin); err != nil {
			return models.CreditReportResult{}, t.finalizeFailed(err)
		}
		t.finished(ctx, in.MerchantID, in.NotifyURL, string(res.Status), res.FailureCode)
		return res, nil
	}
	hold, err := holdFee(ctx, models.FlowCreditReport, in.ReportID, in.MerchantID, in.Fee, in.Currency)
	if err != nil {
		return models.CreditReportResult{}, err
	}
	if hold.FailureCode != models.FailureNone {
		return end(models.CreditReportResult{Status: models.CreditReportFailed, FailureCode: hold.FailureCode}, 0, nil)
	}
	fin.HoldID = hold.HoldID
	if in.ReusedFrom != "" {
		return end(models.CreditReportResult{Status: models.CreditReportReady}, in.Fee, nil)
	}
	t.setStage(ctx, models.StageWaitingBank)
	started := workflow.Now(ctx)
	if err := workflow.ExecuteActivity(identityCallOptions(ctx, in.Deadline), identityActs.RequestReportAtBureau, in).Get(ctx, nil); err != nil {
		// The bureau never took the request: nothing to bill.
		t.state.LastError = err.Error()
		return end(models.CreditReportResult{Status: models.CreditReportFailed, FailureCode: models.FailureBureauUnavailable}, 0, nil)
	}
	callbacks := workflow.GetSignalChannel(ctx, SignalBureauCallback)
	deadline := started.Add(in.Deadline)
	wait := in.Poll
	for {
		var ans models.BureauAnswer
		// The last wait ends at the deadline: a report is asked for one last time
		// then, and fails then, not up to an hour later.
		if left := deadline.Sub(workflow.Now(ctx)); left > 0 {
			woke := false
			if _, err := workflow.AwaitWithTimeout(ctx, min(wait, left), func() bool {
				woke = callbacks.ReceiveAsync(nil) || woke
				return woke
			}); err != nil {
				return models.CreditReportResult{}, err
			}
		}
		// A query the bureau does not answer is asked again until the deadline (a
		// minute at least for the last one); the flow then fails bureau_unavailable
		// and releases the hold instead of failing with the hold kept.
		total := min(time.Hour, max(deadline.Sub(workflow.Now(ctx)), time.Minute))
		if err := workflow.ExecuteActivity(identityCallOptions(ctx, total), identityActs.QueryReportAtBureau, in.ReportID).Get(ctx, &ans); err != nil {
			t.state.LastError = err.Error()
		} else {
			t.state.Attempts++
		}
		switch ans.Status {
		case "ready":
			return end(models.CreditReportResult{Status: models.CreditReportReady}, in.Fee, ans.Report)
		case "no_record":
			// The bureau answered: the query is billed.
			return end(models.CreditReportResult{Status: models.CreditReportFailed, FailureCode: models.FailureNoRecord}, in.Fee, nil)
		}
		if !workflow.Now(ctx).Before(deadline) {
			// Asked and never answered: the merchant pays nothing for it.
			return end(models.CreditReportResult{Status: models.CreditReportFailed, FailureCode: models.FailureBureauUnavailable}, 0, nil)
		}
		wait = min(wait*2, time.Hour)
	}
}
