//go:build !failpoints

package failpoint

// Enabled reports whether this build can end at a failpoint.
const Enabled = false

// Hit does nothing: this build has no failpoints.
func Hit(string) {}
