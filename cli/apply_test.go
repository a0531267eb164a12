package cli

import (
	"strings"
	"testing"
)

// apply starts whatever its file names and export shows every run's
// environment: a restricted key needs a grant for each, and run's grant
// is not it.
func TestServeSSHStackGrants(t *testing.T) {
	none := &ServeSSHCmd{}
	runOnly := &ServeSSHCmd{Allow: []string{"run"}, AllowProgram: []string{"/usr/bin/sleep"}}
	granted := &ServeSSHCmd{Allow: []string{"apply", "export"}}
	for _, c := range []struct {
		key     *ServeSSHCmd
		command string
		refused string
	}{
		{none, "runctl apply /etc/robot.yaml", "apply needs --allow apply"},
		{runOnly, "runctl apply --prune /etc/robot.yaml", "apply needs --allow apply"},
		{none, "runctl export", "export needs --allow export"},
		{runOnly, "runctl export --stack robot", "export needs --allow export"},
		{granted, "runctl --json apply --dry-run --prune --settle 2s /etc/robot.yaml", ""},
		{granted, "runctl export --stack robot nav", ""},
		{granted, "runctl -H robot-2 apply /etc/robot.yaml", "--host cannot be used"},
	} {
		err := c.key.check(strings.Fields(c.command))
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("%q refused: %v", c.command, err)
		case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("%q: %v, want refused with %q", c.command, err, c.refused)
		}
	}
}
