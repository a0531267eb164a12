package cli

import (
	"slices"
	"strings"
	"testing"
)

// Every flag of the verbs the operator service runs, and every global
// flag, is either allowed or refused with a reason: a new flag is decided,
// not let through by default.
func TestOperatorKnowsEveryFlag(t *testing.T) {
	var root CLI
	app := Parser(&root, "test").Model
	for _, f := range app.Flags {
		if _, ok := operatorFlags[f.Name]; !ok && f.Name != "help" && f.Name != "version" && !fleetFlag(f.Name) {
			t.Errorf("global flag --%s is not in operatorFlags", f.Name)
		}
	}
	for _, verb := range app.Children {
		if !slices.Contains(operatorVerbs, verb.Name) {
			continue
		}
		for _, f := range verb.Flags {
			if _, ok := operatorFlags[f.Name]; !ok && f.Name != "help" {
				t.Errorf("flag --%s of %s is not in operatorFlags", f.Name, verb.Name)
			}
		}
	}
}

// fleetFlag: -H and its company, which a request never carries (the
// client fans out before it asks) and the service refuses.
func fleetFlag(name string) bool {
	return serveSSHFlags[name] == "-" && name != "fleet-protocol"
}

func TestCheckOperator(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // "" allowed; else in the error
	}{
		{[]string{"stop", "nav"}, ""},
		{[]string{"--system", "stop", "--all"}, ""},
		{[]string{"--json", "restart", "nav", "cam"}, ""},
		{[]string{"--fleet-protocol=1", "--system", "restart", "--settle=2s", "nav"}, ""},
		{[]string{"start", "nav"}, ""},
		{[]string{"stop", "--stack", "robot"}, ""},
		{[]string{"stop", "-f", "nav"}, "needs root"},
		{[]string{"stop", "-qf", "nav"}, "unknown flag -q"},
		{[]string{"restart", "--force", "nav"}, "needs root"},
		{[]string{"restart", "--timeout=1ns", "nav"}, "needs root"},
		{[]string{"stop", "--timeout", "1s", "nav"}, "needs root"},
		{[]string{"restart", "--update-env", "nav"}, "needs root"},
		{[]string{"--user", "stop", "nav"}, "system manager"},
		{[]string{"-H", "robot", "stop", "nav"}, "does not take it"},
		{[]string{"rm", "-f", "nav"}, "runs only stop, start, restart"},
		{[]string{"run", "-d", "--", "id"}, "runs only"},
		{[]string{"enable", "nav"}, "runs only"},
		{[]string{"serve-operator"}, "runs only"},
		{[]string{"ls"}, "runs only"},
		{[]string{}, "expected one of"},
		{[]string{"stop", "../x"}, ""}, // names are the verb's to check: invalid run name
	} {
		_, _, _, err := checkOperator(tc.args)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: refused: %v", tc.args, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: got %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}
