package workflows

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/payflow/payflow/activities"
)

// newEnv is a test environment with every activity the worker registers (a test
// mocks those its workflow calls, through the receivers of names.go) that checks the
// mocks' expectations when the test ends.
func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	for _, acts := range []any{
		&activities.Bank{}, &activities.Payments{}, &activities.Topups{}, &activities.Holds{}, &activities.Withdrawals{},
		&activities.Refunds{}, &activities.Webhooks{}, &activities.Reconciliation{}, &activities.Sweeper{}, &activities.Maintenance{},
		&activities.Yield{},
	} {
		env.RegisterActivity(acts)
	}
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

// resultOf is the result of a workflow that completed without an error.
func resultOf[R any](t *testing.T, env *testsuite.TestWorkflowEnvironment) R {
	t.Helper()
	require.NoError(t, env.GetWorkflowError())
	var res R
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

// queryState is the workflow's answer to the state query, as a T.
func queryState[T any](t *testing.T, env *testsuite.TestWorkflowEnvironment) T {
	t.Helper()
	v, err := env.QueryWorkflow(QueryState)
	require.NoError(t, err)
	var st T
	require.NoError(t, v.Get(&st))
	return st
}
