package systemdctl

import (
	"strings"
	"testing"
)

// A start systemd refused for its start rate limit is named so, without the
// previous instance's exit, which the unit still reports.
func TestJobErrorNamesStartLimit(t *testing.T) {
	err := &JobError{Op: "start", Unit: "runctl-x.service", Result: "failed", State: State{Result: "start-limit-hit", ExecMainCode: 2, ExecMainStatus: 15}}
	if msg := err.Error(); !strings.Contains(msg, "start-limit-hit") || strings.Contains(msg, "SIGTERM") {
		t.Errorf("JobError says %q", msg)
	}
}
