package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/payflow/payflow/models"
)

// A purge runs the purge activity with the schedule's ages, retries it while the
// database refuses, and returns what it deleted; a purge that gives up fails the run.
func TestPurgeWorkflow(t *testing.T) {
	in := models.PurgeInput{NonceMaxAge: 10 * time.Minute, IdempotencyMaxAge: 24 * time.Hour}
	deleted := models.PurgeResult{Nonces: 3, IdempotencyKeys: 2, ExpiredSecrets: 1}
	t.Run("retried until the database answers", func(t *testing.T) {
		env := newEnv(t)
		env.OnActivity(maintenanceActs.Purge, mock.Anything, in).Return(models.PurgeResult{}, temporal.NewApplicationError("database down", "database")).Once()
		env.OnActivity(maintenanceActs.Purge, mock.Anything, in).Return(deleted, nil).Once()
		env.ExecuteWorkflow(PurgeWorkflow, in)
		env.AssertExpectations(t)
		res := resultOf[models.PurgeResult](t, env)
		require.Equal(t, deleted, res)
	})
	t.Run("gives up", func(t *testing.T) {
		env := newEnv(t)
		env.OnActivity(maintenanceActs.Purge, mock.Anything, in).Return(models.PurgeResult{},
			temporal.NewNonRetryableApplicationError("bad ages", models.ErrTypeInvalidInput, nil)).Once()
		env.ExecuteWorkflow(PurgeWorkflow, in)
		env.AssertExpectations(t)
		require.ErrorContains(t, env.GetWorkflowError(), "purge")
	})
}

// A ledger check that finds a violation completes with the counts (a result, shown in
// Temporal Web), not a failed run; one that could not run fails the run.
func TestLedgerCheckWorkflow(t *testing.T) {
	broken := models.LedgerCheckResult{OK: false, Journals: 10, Entries: 30, Unbalanced: 1}
	env := newEnv(t)
	env.OnActivity(maintenanceActs.CheckLedger, mock.Anything, models.LedgerCheckInput{}).Return(broken, nil).Once()
	env.ExecuteWorkflow(LedgerCheckWorkflow, models.LedgerCheckInput{})
	env.AssertExpectations(t)
	res := resultOf[models.LedgerCheckResult](t, env)
	require.Equal(t, broken, res)

	env = newEnv(t)
	env.OnActivity(maintenanceActs.CheckLedger, mock.Anything, models.LedgerCheckInput{}).Return(models.LedgerCheckResult{},
		temporal.NewNonRetryableApplicationError("no database", "database", nil)).Once()
	env.ExecuteWorkflow(LedgerCheckWorkflow, models.LedgerCheckInput{})
	require.ErrorContains(t, env.GetWorkflowError(), "ledger check")
}

// A measure runs the Measure activity and returns what it stored; one that cannot
// count, after its retries, fails the run (the stored value stays as it was).
func TestMeasureWorkflow(t *testing.T) {
	counted := models.MeasureResult{WebhookBacklog: 4, MeasuredAt: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	env := newEnv(t)
	env.OnActivity(maintenanceActs.Measure, mock.Anything, models.MeasureInput{}).Return(models.MeasureResult{}, temporal.NewApplicationError("database down", "database")).Once()
	env.OnActivity(maintenanceActs.Measure, mock.Anything, models.MeasureInput{}).Return(counted, nil).Once()
	env.ExecuteWorkflow(MeasureWorkflow, models.MeasureInput{})
	require.Equal(t, counted, resultOf[models.MeasureResult](t, env))

	env = newEnv(t)
	env.OnActivity(maintenanceActs.Measure, mock.Anything, models.MeasureInput{}).Return(models.MeasureResult{},
		temporal.NewNonRetryableApplicationError("no database", "database", nil)).Once()
	env.ExecuteWorkflow(MeasureWorkflow, models.MeasureInput{})
	require.ErrorContains(t, env.GetWorkflowError(), "measure")
}
