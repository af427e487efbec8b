package workflows_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/payflow/payflow/internal/temporalx"
	"github.com/payflow/payflow/worker"
)

// TestReplayRecordedHistories replays every history recorded from a released version
// (testdata/*.json) on the current workflow code. A change that would break a flow in
// flight (a reordered command, a removed activity, a change not behind GetVersion)
// fails here with a non-determinism error.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recorded histories in testdata: every workflow must have at least one")
	}
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
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := sdkworker.NewWorkflowReplayer()
			for _, w := range worker.Workflows() {
				r.RegisterWorkflowWithOptions(w.Fn, workflowOptions(w.Name))
			}
			if err := r.ReplayWorkflowHistoryFromJSONFile(temporalx.NewLogger(logrus.NewEntry(log)), f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
