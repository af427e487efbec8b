package e2e

import (
	"github.com/stretchr/testify/assert"
	"go.temporal.io/api/workflowservice/v1"
)

type assertCollect = assert.CollectT

func assertNoErr(c *assert.CollectT, err error) bool { return assert.NoError(c, err) }

func assertLen(c *assert.CollectT, v any, n int) { assert.Len(c, v, n) }

func listReq(query string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Query: query}
}
