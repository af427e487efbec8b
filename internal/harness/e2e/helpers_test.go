package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/temporalx"
)

type assertCollect = assert.CollectT

func assertNoErr(c *assert.CollectT, err error) bool { return assert.NoError(c, err) }

func assertLen(c *assert.CollectT, v any, n int) { assert.Len(c, v, n) }

func listReq(query string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Query: query}
}

// payloadCodec is the payload codec of every stack: its processes inherit this
// process's environment, so that PAYFLOW_PAYLOAD_KEYS (or its local default) is the
// same here and there.
func payloadCodec() *temporalx.Codec {
	return must(temporalx.NewCodec(must(config.Load()).PayloadKeys))
}

// dataConverter reads payloads as payflow's processes write them.
func dataConverter() converter.DataConverter { return temporalx.NewDataConverter(payloadCodec()) }

// temporalClient is a client of the stack's namespace that reads payloads as
// payflow's processes write them (with the codec), closed when the test ends.
func temporalClient(t *testing.T, s *Stack) client.Client {
	t.Helper()
	c, err := client.Dial(temporalx.ClientConfig{Address: temporal.Addr, Namespace: s.Opts.Namespace, Codec: payloadCodec()}.Options())
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}
