//go:build faults

package runs

import (
	"os"
	"syscall"
	"time"

	"github.com/runctl/runctl/systemdctl"
)

// crashpoint kills runctl at a named point when RUNCTL_CRASH_AT names it:
// the fault tests, built with -tags faults, prove that the next command
// recovers from there. When RUNCTL_PAUSE_AT names the point, runctl
// creates the file RUNCTL_PAUSE_FILE there and goes on once a test has
// removed it (at most a minute later): the test acts on the manager
// while runctl, its connection's reader aside, stands still.
func crashpoint(point string) {
	if os.Getenv("RUNCTL_CRASH_AT") == point {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	if f := os.Getenv("RUNCTL_PAUSE_FILE"); f != "" && os.Getenv("RUNCTL_PAUSE_AT") == point {
		if os.WriteFile(f, nil, 0o644) != nil {
			return
		}
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if _, err := os.Stat(f); err != nil {
				return
			}
		}
	}
}

func init() { systemdctl.Crashpoint = crashpoint }
