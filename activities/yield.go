package activities

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/internal/yield"
	"github.com/payflow/payflow/models"
)

// IncomeSource is the fund company's published daily income (fund.Income, on the
// fund company's client).
type IncomeSource interface {
	// Income is the money-market product's income per 10,000 units of date, in
	// 1/10,000 of a minor unit: ErrIncomeNotPublished until published,
	// ErrFundRejected for a request it refuses, any other error is worth asking
	// again.
	Income(ctx context.Context, date string) (int64, error)
}

// ErrIncomeNotPublished is a day whose income the fund company has not published
// yet: asked again until it is.
var ErrIncomeNotPublished = errors.New("the day's income is not published yet")

// YieldStarter starts the workflow of a day's yield run (package starter).
type YieldStarter interface {
	// StartYieldRun starts the run's workflow, or finds it running.
	StartYieldRun(ctx context.Context, in models.YieldInput) error
}

// Yield holds the activities of the balance yield's daily runs.
type Yield struct {
	Engine  *yield.Engine
	Store   *store.Store
	Income  IncomeSource
	Starter YieldStarter
	Log     *logrus.Entry
	// HeartbeatEvery is how often a range heartbeats its checkpoint between pages;
	// 0 is DefaultHeartbeatEvery.
	HeartbeatEvery time.Duration
}

// OpenYieldRun finds or creates the run of a product and day and makes sure its
// workflow runs: what the yield schedule does every day. A failed run is set running
// again (the day is credited by whatever its wallets still lack).
func (y *Yield) OpenYieldRun(ctx context.Context, in models.OpenYieldRunInput) (models.OpenYieldRunResult, error) {
	run, created, err := openYieldRun(ctx, y.Store, y.Starter, in)
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			return models.OpenYieldRunResult{}, err
		}
		return models.OpenYieldRunResult{}, retryableError(models.ErrTypeTemporal, err)
	}
	logger(ctx, y.Log).WithFields(logrus.Fields{"yield_run_id": run.ID, "product_id": run.ProductID, "date": run.Date, "created": created}).Info("yield run opened")
	return models.OpenYieldRunResult{RunID: run.ID, Status: run.Status, Created: created}, nil
}

// openYieldRun opens the run of a product and day as the ops API's service does
// (starter.Yield.OpenRun): the existing run, or a new one; a run not completed gets
// its workflow started. Invalid input is a non-retryable ApplicationError of type
// invalid_input.
func openYieldRun(ctx context.Context, st *store.Store, starter YieldStarter, in models.OpenYieldRunInput) (models.YieldRun, bool, error) {
	if in.ProductID != models.YieldProduct {
		return models.YieldRun{}, false, temporal.NewNonRetryableApplicationError(fmt.Sprintf("product %q pays no balance yield", in.ProductID), models.ErrTypeInvalidInput, nil)
	}
	if _, err := models.YieldDayEnd(in.Date); err != nil {
		return models.YieldRun{}, false, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeInvalidInput, nil)
	}
	run, created, err := st.OpenYieldRun(ctx, models.NewID(models.PrefixYieldRun), in.ProductID, in.Date, models.YieldWorkflowID(in.ProductID, in.Date))
	if err != nil {
		return models.YieldRun{}, false, err
	}
	if run.Status == models.YieldRunFailed {
		if run, err = st.RestartYieldRun(ctx, run.ID); err != nil {
			return models.YieldRun{}, false, err
		}
	}
	if run.Status == models.YieldRunRunning {
		if err := starter.StartYieldRun(ctx, models.YieldInput{RunID: run.ID, ProductID: run.ProductID, Date: run.Date}); err != nil {
			return run, created, fmt.Errorf("start yield run %s: %w", run.ID, err)
		}
	}
	return run, created, nil
}

// YieldIncome asks the fund company for the day's published income. Not published
// yet is a retried error of type income_not_published: the workflow's options keep
// asking for as long as a late publication may take.
func (y *Yield) YieldIncome(ctx context.Context, in models.YieldIncomeInput) (models.YieldIncomeResult, error) {
	if in.ProductID != models.YieldProduct {
		return models.YieldIncomeResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("product %q pays no balance yield", in.ProductID), models.ErrTypeInvalidInput, nil)
	}
	inc, err := y.Income.Income(ctx, in.Date)
	switch {
	case errors.Is(err, ErrIncomeNotPublished):
		logger(ctx, y.Log).WithField("date", in.Date).Info("the day's income is not published yet")
		return models.YieldIncomeResult{}, retryableError(models.ErrTypeIncomeNotPublished, err)
	case errors.Is(err, ErrFundRejected):
		return models.YieldIncomeResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeInvalidInput, err)
	case err != nil:
		return models.YieldIncomeResult{}, retryableError(models.ErrTypeBankUnavailable, err)
	case inc < 0:
		return models.YieldIncomeResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("income of %s is negative (%d)", in.Date, inc), models.ErrTypeInvalidInput, nil)
	}
	return models.YieldIncomeResult{IncomePer10k: inc}, nil
}

// PlanYieldRanges splits the opted-in wallets into ranges by account id.
func (y *Yield) PlanYieldRanges(ctx context.Context, in models.PlanYieldRangesInput) (models.PlanYieldRangesResult, error) {
	ranges, err := y.Engine.Plan(ctx, in.RangeSize, in.MaxRanges)
	if errors.Is(err, models.ErrYieldInput) {
		return models.PlanYieldRangesResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeInvalidInput, nil)
	}
	if err != nil {
		return models.PlanYieldRangesResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	return models.PlanYieldRangesResult{Ranges: ranges}, nil
}

// CreditYieldRange credits one range of wallets for the day, a page at a time. It
// heartbeats its checkpoint (the last wallet recorded and the totals so far) after
// every page and every few seconds; a retry after a crash reads the last one and goes
// on after it, and a page begun before the crash is found done (journals by their
// keys, rows by their primary key), so that no wallet is credited twice.
func (y *Yield) CreditYieldRange(ctx context.Context, in models.CreditYieldRangeInput) (models.CreditYieldRangeResult, error) {
	log := logger(ctx, y.Log).WithFields(logrus.Fields{"yield_run_id": in.RunID, "date": in.Date, "after": in.Range.After, "up_to": in.Range.UpTo})
	inActivity := activity.IsActivity(ctx)
	job := yield.Job{RunID: in.RunID, Day: in.Date, IncomePer10k: in.IncomePer10k, Range: in.Range}
	if inActivity && activity.HasHeartbeatDetails(ctx) {
		var cp yield.Checkpoint
		if err := activity.GetHeartbeatDetails(ctx, &cp); err != nil {
			log.WithError(err).Warn("unreadable checkpoint; crediting the range from its start")
		} else {
			job.Resume = &cp
			log.WithFields(logrus.Fields{"last_account": cp.LastAccount, "wallets": cp.Totals.Wallets}).Info("resuming the range from its checkpoint")
		}
	}
	var (
		mu sync.Mutex
		cp yield.Checkpoint
	)
	if job.Resume != nil {
		cp = *job.Resume
	}
	if inActivity {
		job.Progress = func(c yield.Checkpoint) {
			mu.Lock()
			cp = c
			mu.Unlock()
			activity.RecordHeartbeat(ctx, c)
		}
		every := y.HeartbeatEvery
		if every <= 0 {
			every = DefaultHeartbeatEvery
		}
		stop := heartbeatEvery(ctx, every, func() any {
			mu.Lock()
			defer mu.Unlock()
			return cp
		})
		defer stop()
	}
	start := time.Now()
	totals, err := y.Engine.Credit(ctx, job)
	switch {
	case errors.Is(err, models.ErrYieldInput) || errors.Is(err, yield.ErrDayNotEnded):
		return models.CreditYieldRangeResult{}, temporal.NewNonRetryableApplicationError(err.Error(), models.ErrTypeInvalidInput, nil)
	case errors.Is(err, yield.ErrRejected):
		log.WithError(err).Error("the ledger refused yield credits")
		return models.CreditYieldRangeResult{}, businessError(models.FailureLedgerRejected, err.Error())
	case err != nil:
		log.WithError(err).Warn("yield range interrupted")
		return models.CreditYieldRangeResult{}, retryableError(models.ErrTypeInterrupted, err)
	}
	log.WithFields(logrus.Fields{"wallets": totals.Wallets, "credited": totals.Credited, "resumed": job.Resume != nil,
		"duration_ms": time.Since(start).Milliseconds()}).Info("yield range credited")
	return models.CreditYieldRangeResult{Totals: totals, Resumed: job.Resume != nil}, nil
}

// FinishYieldRun records the end of a run (once; a retry finds it recorded).
func (y *Yield) FinishYieldRun(ctx context.Context, in models.FinishYieldRunInput) (models.FinishYieldRunResult, error) {
	recorded, err := y.Store.FinishYieldRun(ctx, in)
	if err != nil {
		return models.FinishYieldRunResult{}, retryableError(models.ErrTypeDatabase, err)
	}
	if recorded {
		logger(ctx, y.Log).WithFields(logrus.Fields{"yield_run_id": in.RunID, "status": in.Status, "wallets": in.Totals.Wallets,
			"credited": in.Totals.Credited}).Info("yield run finished")
	}
	return models.FinishYieldRunResult{Recorded: recorded}, nil
}
