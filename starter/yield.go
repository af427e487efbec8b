package starter

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// YieldFlows starts the yield runs' flows (the Starter).
type YieldFlows interface {
	// StartYieldRun starts the run's workflow or finds it running.
	StartYieldRun(ctx context.Context, in models.YieldInput) error
}

// Yield is the balance yield service: wallets' opt-ins and their days, and the
// operators' daily runs.
type Yield struct {
	Deps
	Flows YieldFlows
	// Now is the clock (nil: time.Now): a run is opened only for a day that ended.
	Now func() time.Time
}

// YieldDaysShown is how many of a wallet's latest days GET .../yield answers.
const YieldDaysShown = 30

// ErrDateNotClosed is a run asked for a day that has not ended yet (Asia/Shanghai).
var ErrDateNotClosed = errors.New("the day has not ended")

// ErrYieldCurrency is an opt-in of a wallet whose currency earns no yield (only the
// money-market product's currency, CNY, does).
var ErrYieldCurrency = errors.New("the wallet's currency earns no balance yield")

// WalletYield is a wallet's balance yield as the API shows it.
type WalletYield struct {
	Enabled       bool
	TotalCredited int64
	// Carry is the carried remainder's numerator over models.YieldDenominator.
	Carry int64
	Days  []models.YieldDayRow
}

func (s *Yield) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// wallet checks that id is a wallet of the merchant: ErrNotFound otherwise (another
// merchant's wallet is not found, as on every wallet route).
func (s *Yield) wallet(ctx context.Context, merchantID, id string) (ledger.Account, error) {
	a, err := s.Ledger.Account(ctx, merchantID, id)
	switch {
	case errors.Is(err, ledger.ErrAccountNotFound) || errors.Is(err, store.ErrNotFound) || err == nil && a.Kind != ledger.KindCustomerWallet:
		return ledger.Account{}, ErrNotFound
	case err != nil:
		return ledger.Account{}, fmt.Errorf("get account %s: %w", id, err)
	}
	return a, nil
}

// SetOptIn turns a wallet's yield on or off and answers its yield. ErrNotFound,
// ErrYieldCurrency (turning on a wallet of another currency).
func (s *Yield) SetOptIn(ctx context.Context, merchantID, accountID string, enabled bool) (WalletYield, error) {
	a, err := s.wallet(ctx, merchantID, accountID)
	if err != nil {
		return WalletYield{}, err
	}
	if enabled && a.Currency != models.YieldCurrency {
		return WalletYield{}, ErrYieldCurrency
	}
	if err := s.Store.SetYieldOptIn(ctx, accountID, merchantID, enabled, s.now()); err != nil {
		return WalletYield{}, err
	}
	return s.summary(ctx, accountID)
}

// Wallet answers a wallet's yield: whether it is on, what it earned, the remainder
// it carries and its latest days. ErrNotFound.
func (s *Yield) Wallet(ctx context.Context, merchantID, accountID string) (WalletYield, error) {
	if _, err := s.wallet(ctx, merchantID, accountID); err != nil {
		return WalletYield{}, err
	}
	return s.summary(ctx, accountID)
}

func (s *Yield) summary(ctx context.Context, accountID string) (WalletYield, error) {
	sum, err := s.Store.YieldSummary(ctx, accountID, YieldDaysShown)
	if err != nil {
		return WalletYield{}, err
	}
	return WalletYield{Enabled: sum.Enabled, TotalCredited: sum.TotalCredited, Carry: sum.Carry, Days: sum.Days}, nil
}

// OpenRun opens the run of a product and day: the existing one (created false), or
// a new one whose workflow is started. A failed run is set running again, crediting
// what its wallets still lack. ErrDateNotClosed for a day not yet ended; a store
// error, or *NotStartedError when the run is stored but Temporal did not take it (a
// retry of the request starts it).
func (s *Yield) OpenRun(ctx context.Context, productID, date string) (models.YieldRun, bool, error) {
	end, err := models.YieldDayEnd(date)
	if err != nil {
		return models.YieldRun{}, false, err
	}
	if s.now().Before(end) {
		return models.YieldRun{}, false, ErrDateNotClosed
	}
	run, created, err := s.Store.OpenYieldRun(ctx, models.NewID(models.PrefixYieldRun), productID, date, workflows.YieldWorkflowID(productID, date))
	if err != nil {
		return models.YieldRun{}, false, fmt.Errorf("open yield run: %w", err)
	}
	if run.Status == models.YieldRunFailed {
		if run, err = s.Store.RestartYieldRun(ctx, run.ID); err != nil {
			return models.YieldRun{}, false, err
		}
	}
	if run.Status == models.YieldRunRunning {
		if err := s.Flows.StartYieldRun(ctx, models.YieldInput{RunID: run.ID, ProductID: run.ProductID, Date: run.Date}); err != nil {
			return run, created, &NotStartedError{Kind: "yield run", ObjectID: run.ID, Err: err}
		}
	}
	return run, created, nil
}

// Run returns a run by id; ErrNotFound.
func (s *Yield) Run(ctx context.Context, id string) (models.YieldRun, error) {
	return s.Store.YieldRun(ctx, id)
}

// StartYieldRun starts the workflow of a day's run, yield/<product>/<date>, or finds
// it running (a run of a day is started again, under the same id, once a failed one
// is reopened).
func (s *Starter) StartYieldRun(ctx context.Context, in models.YieldInput) error {
	id := workflows.YieldWorkflowID(in.ProductID, in.Date)
	opts := s.startOptions(id, enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE, enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		temporal.NewSearchAttributes(workflows.SAFlow.ValueSet(string(models.FlowYield))))
	if _, err := s.client.ExecuteWorkflow(ctx, opts, workflows.YieldWorkflow, in); err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	return nil
}

// EnsureYieldSchedule creates (or updates) the Temporal Schedule yield/<product>,
// which opens the previous day's run (Asia/Shanghai calendar) every day at `at`
// after midnight UTC (PAYFLOW_YIELD_AT). An operator's pause is kept; any number of
// calls leave one schedule.
func (s *Starter) EnsureYieldSchedule(ctx context.Context, productID string, at time.Duration) error {
	spec, err := dailySpec("yield", at, "credit the balance yield of "+productID+" for the previous day (Asia/Shanghai)")
	if err != nil {
		return err
	}
	id := workflows.YieldScheduleID(productID)
	action := &client.ScheduleWorkflowAction{
		ID:                    id, // Temporal appends the scheduled time
		Workflow:              workflows.WorkflowScheduledYield,
		Args:                  []any{models.ScheduledYieldInput{ProductID: productID}},
		TaskQueue:             s.cfg.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SAFlow.ValueSet(string(models.FlowYield))),
	}
	return s.ensureSchedule(ctx, id, spec, action, dailyPolicy)
}
