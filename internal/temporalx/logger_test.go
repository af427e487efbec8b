package temporalx

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
)

func TestToSnake(t *testing.T) {
	for in, want := range map[string]string{
		"WorkflowID":       "workflow_id",
		"RunID":            "run_id",
		"ActivityType":     "activity_type",
		"ActivityRunID":    "activity_run_id",
		"TaskFirstEventID": "task_first_event_id",
		"LinkURL":          "link_url",
		"Error":            "error",
		"Attempt":          "attempt",
		"payment_id":       "payment_id",
		"error":            "error",
	} {
		require.Equal(t, want, toSnake(in), in)
	}
}

// The SDK's activity and workflow loggers carry WorkflowID and RunID: they come out
// as workflow_id and run_id, the keys payflow's own lines use.
func TestLoggerFieldsAreSnakeCase(t *testing.T) {
	var buf bytes.Buffer
	l := logrus.New()
	l.SetOutput(&buf)
	l.SetFormatter(&logrus.JSONFormatter{})
	log := NewLogger(logrus.NewEntry(l)).With("WorkflowID", "payment/mch_demo/pay_1", "RunID", "r-1")
	log.Info("activity started", "ActivityType", "Charge", "Attempt", 1)
	var line map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	require.Equal(t, "payment/mch_demo/pay_1", line["workflow_id"])
	require.Equal(t, "r-1", line["run_id"])
	require.Equal(t, "Charge", line["activity_type"])
	require.EqualValues(t, 1, line["attempt"])
}
