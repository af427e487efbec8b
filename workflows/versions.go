package workflows

// Each change to a released workflow goes behind workflow.GetVersion with a change id
// named here and a predicate that says which shape to run, so that histories recorded
// before the change replay unchanged (see docs/upgrades.md and replay_test.go).
