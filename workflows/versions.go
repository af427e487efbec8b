package workflows

// Each change to a released workflow goes behind workflow.GetVersion with a change id
// named here and a predicate that says which shape to run, so that histories recorded
// before the change replay unchanged (see docs/upgrades.md and replay_test.go).

import "go.temporal.io/sdk/workflow"

// ChangeNotifyWebhooks is the change that makes flows notify their outcome (store the
// event and start its delivery, see notifyOutcome) once it is recorded. Version 1.
const ChangeNotifyWebhooks = "notify-webhooks"

// notifiesWebhooks reports whether this execution notifies its outcome: executions that
// reach the notification on code with the change record version 1; histories recorded
// before it have no marker, replay as DefaultVersion and notify nothing.
func notifiesWebhooks(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, ChangeNotifyWebhooks, workflow.DefaultVersion, 1) >= 1
}
