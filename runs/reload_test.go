package runs

import (
	"testing"

	"github.com/runctl/runctl/systemdctl"
)

// A start refused for the start rate limit did not run the program: the
// exit status the unit reports is the previous instance's.
func TestProgramRanNotForStartLimit(t *testing.T) {
	for _, tc := range []struct {
		st   systemdctl.State
		want bool
	}{
		{systemdctl.State{Result: "start-limit-hit", ExecMainCode: 2, ExecMainStatus: 15}, false},
		{systemdctl.State{Result: "signal", ExecMainCode: 2, ExecMainStatus: 15}, true},
		{systemdctl.State{Result: "exit-code", ExecMainCode: 1, ExecMainStatus: 3}, true},
		{systemdctl.State{Result: "exit-code", ExecMainCode: 1, ExecMainStatus: 203}, false},
	} {
		if got := ProgramRan(tc.st); got != tc.want {
			t.Errorf("ProgramRan(%+v) = %v, want %v", tc.st, got, tc.want)
		}
	}
}
