package workflows_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/converter"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/temporalx"
	"github.com/payflow/payflow/worker"
)

// TestReplayRecordedHistories replays every history recorded from a released version
// (testdata/*.json) on the current workflow code, through the data and failure
// converters the worker uses (payloads sealed by the codec). A change that would
// break a flow in flight (a reordered command, a removed activity, a change not
// behind GetVersion) fails here with a non-determinism error. The histories
// recorded before payloads were encrypted replay too: the codec passes what it did
// not seal through.
func TestReplayRecordedHistories(t *testing.T) {
	files := recordedHistories(t)
	for _, w := range worker.Workflows() {
		flow := strings.ToLower(strings.TrimSuffix(w.Name, "Workflow"))
		found := false
		for _, f := range files {
			found = found || strings.Contains(filepath.Base(f), "-"+flow)
		}
		if !found {
			t.Errorf("workflow %s has no recorded history in testdata", w.Name)
		}
	}
	r := newReplayer(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if err := r.ReplayWorkflowHistoryFromJSONFile(replayLogger(), f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}

// TestReplayEncryptedHistories seals every payload of each recorded history with
// the codec, as a worker of this release writes them, and replays the result: a
// flow started on this release replays as well as one started before encryption.
func TestReplayEncryptedHistories(t *testing.T) {
	codec := localCodec(t)
	r := newReplayer(t)
	for _, f := range recordedHistories(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			var h historypb.History
			require.NoError(t, temporalproto.CustomJSONUnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, &h))
			sealed := 0
			err = proxy.VisitPayloads(context.Background(), &h, proxy.VisitPayloadsOptions{
				SkipSearchAttributes: true,
				Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
					sealed += len(ps)
					return codec.Encode(ps)
				},
			})
			require.NoError(t, err)
			require.Positive(t, sealed)
			require.NoError(t, r.ReplayWorkflowHistory(replayLogger(), &h))
		})
	}
}

func recordedHistories(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata: every workflow must have at least one")
	}
	return files
}

// localCodec is the codec of the local default key, the one the histories
// recorded by the end-to-end suite are sealed with.
func localCodec(t *testing.T) *temporalx.Codec {
	t.Helper()
	cfg, err := config.Load()
	require.NoError(t, err)
	c, err := temporalx.NewCodec(cfg.PayloadKeys)
	require.NoError(t, err)
	return c
}

// newReplayer is a replayer with every workflow registered and the worker's
// converters.
func newReplayer(t *testing.T) sdkworker.WorkflowReplayer {
	t.Helper()
	dc := temporalx.NewDataConverter(localCodec(t))
	r, err := sdkworker.NewWorkflowReplayerWithOptions(sdkworker.WorkflowReplayerOptions{
		DataConverter:    dc,
		FailureConverter: temporalx.NewFailureConverter(dc),
	})
	require.NoError(t, err)
	for _, w := range worker.Workflows() {
		r.RegisterWorkflowWithOptions(w.Fn, workflowOptions(w.Name))
	}
	return r
}

func replayLogger() *temporalx.Logger {
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	return temporalx.NewLogger(logrus.NewEntry(log))
}

var _ converter.PayloadCodec = (*temporalx.Codec)(nil)
