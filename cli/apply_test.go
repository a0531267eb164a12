package cli

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runctl/runctl/stack"
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

// A failed run's line says once what could not be done: apply adds
// "cannot apply NAME" only to an error that does not say it already.
func TestApplyFailureNamesTheVerbOnce(t *testing.T) {
	for _, c := range []struct {
		a    Applied
		want string
	}{
		{Applied{Step: stack.Step{Name: "nav", Action: stack.Start, Error: "cannot start nav: the unit file /etc/x: permission denied"}, Result: "failed"},
			"runctl: cannot start nav: the unit file /etc/x: permission denied\n"},
		{Applied{Step: stack.Step{Name: "nav", Action: stack.Adopt, Error: `cannot lock run "nav": /x/nav.lock: read-only file system`}, Result: "failed"},
			"runctl: cannot lock run \"nav\": /x/nav.lock: read-only file system\n"},
		{Applied{Step: stack.Step{Name: "nav", Action: stack.Replace, Error: "nav ended within its settle window"}, Result: "failed"},
			"runctl: cannot apply nav: nav ended within its settle window\n"},
		{Applied{Step: stack.Step{Name: "nav", Action: stack.Start, Error: "cannot keep the run's spec: /x/a.json: read-only file system"}, Result: "failed"},
			"runctl: run nav: cannot keep the run's spec: /x/a.json: read-only file system\n"},
		{Applied{Step: stack.Step{Name: "a", Action: stack.Refuse, Error: "it starts after b, which is neither in the file nor a run runctl keeps"}, Result: "failed"},
			"runctl: cannot apply a: it starts after b, which is neither in the file nor a run runctl keeps\n"},
	} {
		var stderr strings.Builder
		printApplied(&Output{Stdout: io.Discard, Stderr: &stderr}, c.a, false)
		if stderr.String() != c.want {
			t.Errorf("%+v printed %q, want %q", c.a, stderr.String(), c.want)
		}
	}
}

// A stack's source that fails names the key once; run's --source says
// "cannot read --source", and apply says "cannot apply stack" around it.
func TestStackSourceErrorNamesTheKey(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "setup.sh")
	if err := os.WriteFile(script, []byte("false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := stackSource(t.Context())([]string{script}, nil, dir)
	if err == nil || !strings.HasPrefix(err.Error(), "source "+script+": ") || strings.Contains(err.Error(), "cannot") {
		t.Errorf("stack source of a failing script: %v, want it to say source %s once", err, script)
	}
	_, err = sourceEnv(t.Context(), []string{script}, nil, dir)
	if err == nil || !strings.HasPrefix(err.Error(), "cannot read --source "+script+": ") {
		t.Errorf("--source of a failing script: %v", err)
	}
}
