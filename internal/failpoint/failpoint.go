// Package failpoint lets a test build end a process at a named point of the code, as
// a crash there would (os.Exit: no deferred function, no answer to a request in
// flight). It is compiled in only with the build tag failpoints (`go build -tags
// failpoints`); every other build gets a Hit that does nothing, so a production
// binary cannot be made to crash by its environment.
//
// A process built with the tag ends at the point whose name is in
// PAYFLOW_FAILPOINT, with ExitCode, so that a test can tell that exit from any other.
package failpoint

// EnvVar names the failpoint a failpoints build ends at.
const EnvVar = "PAYFLOW_FAILPOINT"

// ExitCode is the status a process ends with at its failpoint.
const ExitCode = 86

// AfterCommitBeforeStart is the point of the merchant API where a money object
// (payment, refund, top-up, withdrawal) is committed with its idempotency key and its
// flow is not started yet: a crash there leaves an object without a flow, which the
// flow sweeper finds and starts.
const AfterCommitBeforeStart = "after-commit-before-start"
