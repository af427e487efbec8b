//go:build failpoints

package failpoint

import (
	"fmt"
	"os"
)

// Enabled reports whether this build can end at a failpoint.
const Enabled = true

// armed is the failpoint named in the environment when the process started.
var armed = os.Getenv(EnvVar)

// Hit ends the process with ExitCode when name is the armed failpoint.
func Hit(name string) {
	if name == "" || name != armed {
		return
	}
	fmt.Fprintf(os.Stderr, "failpoint %s: exiting with status %d\n", name, ExitCode)
	os.Exit(ExitCode)
}
