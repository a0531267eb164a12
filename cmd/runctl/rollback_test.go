package main

// --rollback: a replace (run --replace, restart --update-env, apply) whose
// new instance does not come up starts the previous spec again, and still
// fails.

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// cmdline is a run's main process's argv.
func cmdline(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/cmdline", mainPID(t, name))))
	if err != nil {
		t.Fatal(err)
	}
	return nulSplit(b)
}

func TestRunReplaceRollsBack(t *testing.T) {
	shared(t)
	name := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	v1 := []string{"sh", "-c", "sleep 1000; :", "v1"}
	if r := runctl(t, append([]string{"run", "-d", "-n", name, "--"}, v1...)...); r.code != 0 {
		t.Fatalf("run v1: %v", r)
	}
	before := mainPID(t, name)

	// v2 exits at once: it dies in its settle window.
	r := runctl(t, "run", "-d", "--replace", "--rollback", "--settle=500ms", "-n", name, "--", "sh", "-c", "exit 3", "v2")
	if r.code != 1 || !strings.Contains(r.stderr, "rolled back") {
		t.Fatalf("replace by a command that exits at once, with --rollback: want exit 1 and rolled back: %v", r)
	}
	if got := cmdline(t, name); !slices.Equal(got, v1) {
		t.Fatalf("after the rollback the run's argv is %q, want the old %q", got, v1)
	}
	if mainPID(t, name) == before {
		t.Error("the old instance was never stopped")
	}
	// The kept spec is v1 again: a restart starts v1.
	if r := runctl(t, "restart", name); r.code != 0 || !slices.Equal(cmdline(t, name), v1) {
		t.Errorf("restart after the rollback: %v; argv %q", r, cmdline(t, name))
	}

	// --notify without READY=1: the start job fails at TimeoutStartSec.
	r = runctl(t, "--json", "run", "-d", "--replace", "--rollback", "--notify", "-p", "TimeoutStartSec=300ms", "-n", name, "--", "sh", "-c", "sleep 1000; :", "v3")
	var rec struct {
		RolledBack  bool   `json:"rolled_back"`
		RollbackPID int    `json:"rollback_pid"`
		Error       string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || r.code != 1 || !rec.RolledBack || !strings.Contains(rec.Error, "READY=1") {
		t.Fatalf("--notify replace with no READY=1, --rollback --json: %v; %v", err, r)
	}
	if got := cmdline(t, name); !slices.Equal(got, v1) || rec.RollbackPID != mainPID(t, name) {
		t.Errorf("after the rollback: argv %q, pid %d (reported %d); want %q", got, mainPID(t, name), rec.RollbackPID, v1)
	}

	// Without --rollback a failed replace leaves nothing running, as before.
	if r := runctl(t, "run", "-d", "--replace", "--settle=500ms", "-n", name, "--", "sh", "-c", "exit 3", "v4"); r.code != 1 || strings.Contains(r.stderr, "rolled back") {
		t.Errorf("replace without --rollback: %v", r)
	}
	if r := runctl(t, "run", "-d", "--rollback", "-n", name, "--", "true"); r.code != 2 {
		t.Errorf("--rollback without --replace: %v, want exit 2", r)
	}
}

func TestRestartUpdateEnvRollsBack(t *testing.T) {
	shared(t)
	name := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	cmd := runctlCmd(t, "/", "run", "-d", "-n", name, "--", "sh", "-c", `[ "$MODE" = bad ] && exit 3; sleep 1000; :`)
	cmd.Env = append(cmd.Env, "MODE=good")
	if r := finish(t, cmd); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	cmd = runctlCmd(t, "/", "--json", "restart", "--update-env", "--rollback", "--settle=500ms", name)
	cmd.Env = append(cmd.Env, "MODE=bad")
	r := finish(t, cmd)
	var rec struct {
		RolledBack bool   `json:"rolled_back"`
		Error      string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || r.code != 1 || !rec.RolledBack {
		t.Fatalf("restart --update-env into an environment the program exits in, --rollback: %v; %v", err, r)
	}
	environ, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/environ", mainPID(t, name))))
	if env := nulSplit(environ); !slices.Contains(env, "MODE=good") {
		t.Errorf("after the rollback the run's environment is %q, want MODE=good again", env)
	}
}

func TestApplyRollsBack(t *testing.T) {
	shared(t)
	n := stackNames(t, 1)
	name := n[0]
	stackName := "s" + name
	file := stackFile(t, "/var/tmp/"+stackName, "")
	write := func(script, version string) {
		t.Helper()
		text := fmt.Sprintf("name: %s\nruns:\n  - name: %s\n    command: [sh, -c, '%s', %s]\n", stackName, name, script, version)
		if err := os.WriteFile(sbOf(t).Path(file), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sleep 1000; :", "v1")
	if r := runctl(t, "apply", file); r.code != 0 {
		t.Fatalf("apply v1: %v", r)
	}
	v1 := cmdline(t, name)
	write("exit 3", "v2")
	r := runctl(t, "--json", "apply", "--rollback", "--settle=500ms", file)
	var rep applyJSON
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 1 || len(rep.Runs) != 1 || rep.Runs[0].Result != "rolled back" || !strings.Contains(r.stdout, `"rolled_back": true`) {
		t.Fatalf("apply --rollback of a run that exits at once: %v; %v", err, r)
	}
	if got := cmdline(t, name); !slices.Equal(got, v1) {
		t.Errorf("after the rollback the run's argv is %q, want the old %q", got, v1)
	}
	// The file still asks for v2: the next apply tries it again.
	r = runctl(t, "apply", "--dry-run", file)
	if !strings.Contains(r.stdout, "would replace "+name) {
		t.Errorf("dry run after the rollback: %v", r)
	}
}
