package journal

import "testing"

// TestMachineryLeftOut: the manager's lines about the exit recorder that
// every run names are runctl's machinery, not the run's: left out; its
// other lines about the run stay.
func TestMachineryLeftOut(t *testing.T) {
	for _, c := range []struct {
		line string
		keep bool
	}{
		{`{"MESSAGE":"Triggering OnSuccess= dependencies.","_PID":"1","UNIT":"runctl-a.service","INVOCATION_ID":"x"}`, false},
		{`{"MESSAGE":"Triggering OnFailure= dependencies.","_PID":"1","UNIT":"runctl-a.service","INVOCATION_ID":"x"}`, false},
		{`{"MESSAGE":"Started runctl-a.service - runctl run a: sleep 1.","_PID":"1","UNIT":"runctl-a.service"}`, true},
		{`{"MESSAGE":"Triggering OnSuccess= dependencies.","_PID":"7","_SYSTEMD_UNIT":"runctl-a.service"}`, true}, // the program's own line
	} {
		if _, ok := decode([]byte(c.line)); ok != c.keep {
			t.Errorf("decode(%s) kept %v, want %v", c.line, ok, c.keep)
		}
	}
}
