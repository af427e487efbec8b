// Package temporalx connects payflow to Temporal: the client, the logrus adapter of
// the SDK's logger, and (later) the payload codec and metrics bridge.
package temporalx

import (
	"fmt"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/log"
)

// Logger adapts a logrus entry to the SDK's log.Logger, so that workflow and activity
// logs (workflow.GetLogger, replay-safe) come out structured with the rest.
type Logger struct {
	entry *logrus.Entry
}

var _ log.Logger = (*Logger)(nil)
var _ log.WithLogger = (*Logger)(nil)

// NewLogger wraps entry.
func NewLogger(entry *logrus.Entry) *Logger { return &Logger{entry: entry} }

func (l *Logger) fields(keyvals []any) *logrus.Entry {
	if len(keyvals) == 0 {
		return l.entry
	}
	f := make(logrus.Fields, len(keyvals)/2)
	for i := 0; i+1 < len(keyvals); i += 2 {
		f[toSnake(fmt.Sprint(keyvals[i]))] = keyvals[i+1]
	}
	if len(keyvals)%2 == 1 {
		f["extra"] = keyvals[len(keyvals)-1]
	}
	return l.entry.WithFields(f)
}

// Debug implements log.Logger.
func (l *Logger) Debug(msg string, keyvals ...any) { l.fields(keyvals).Debug(msg) }

// Info implements log.Logger.
func (l *Logger) Info(msg string, keyvals ...any) { l.fields(keyvals).Info(msg) }

// Warn implements log.Logger.
func (l *Logger) Warn(msg string, keyvals ...any) { l.fields(keyvals).Warn(msg) }

// Error implements log.Logger.
func (l *Logger) Error(msg string, keyvals ...any) { l.fields(keyvals).Error(msg) }

// With implements log.WithLogger.
func (l *Logger) With(keyvals ...any) log.Logger { return &Logger{entry: l.fields(keyvals)} }

// toSnake maps the SDK's keys (WorkflowID, RunID) to the house's snake_case
// (workflow_id, run_id).
func toSnake(s string) string {
	switch s {
	case "WorkflowID":
		return "workflow_id"
	case "RunID":
		return "run_id"
	case "WorkflowType":
		return "workflow_type"
	case "ActivityID":
		return "activity_id"
	case "ActivityType":
		return "activity_type"
	case "TaskQueue":
		return "task_queue"
	case "Namespace":
		return "namespace"
	case "Attempt":
		return "attempt"
	}
	return s
}
