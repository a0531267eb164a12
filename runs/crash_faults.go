//go:build faults

package runs

import (
	"os"
	"syscall"

	"github.com/runctl/runctl/systemdctl"
)

// crashpoint kills runctl at a named point when RUNCTL_CRASH_AT names it:
// the fault tests, built with -tags faults, prove that the next command
// recovers from there.
func crashpoint(point string) {
	if os.Getenv("RUNCTL_CRASH_AT") == point {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}

func init() { systemdctl.Crashpoint = crashpoint }
