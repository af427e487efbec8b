// Package temporalx connects payflow to Temporal: the client, the logrus adapter of
// the SDK's logger, and the payload codec that encrypts what payflow writes to Temporal.
package temporalx

import (
	"fmt"
	"strings"
	"unicode"

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

// toSnake maps the SDK's CamelCase keys (WorkflowID, RunID, ActivityType, Error)
// to the house's snake_case (workflow_id, run_id, activity_type, error), so that
// the SDK's own lines are found by the same keys as payflow's; snake_case keys pass
// unchanged.
func toSnake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			prevLowerOrDigit := i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]))
			// The last capital of an acronym followed by a word: LinkURLPath.
			acronymEnd := i > 0 && unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLowerOrDigit || acronymEnd {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
