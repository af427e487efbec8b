package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

type assertCollect = assert.CollectT

func assertNoErr(c *assert.CollectT, err error) bool { return assert.NoError(c, err) }

func assertLen(c *assert.CollectT, v any, n int) { assert.Len(c, v, n) }

func listReq(query string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Query: query}
}

// temporalClient is a client of the stack's namespace, closed when the test ends.
func temporalClient(t *testing.T, s *Stack) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: temporal.Addr, Namespace: s.Opts.Namespace})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}
