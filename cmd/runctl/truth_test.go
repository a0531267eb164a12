package main

// Issue 12, parts 4-6: runctl tells the truth about a run that dies at
// start, about how a run ended, and stays attached to a run that systemd
// or runctl restarts.

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// run -d watches the program for the settle window: a program that dies
// within it is reported, with how it ended and its last lines, exit 1 and
// no "started". 10 tries each, since the start job and the program's end
// race inside systemd.
func TestRunDaemonReportsEarlyDeath(t *testing.T) {
	for _, tc := range []struct {
		what  string
		args  []string // after run -d -n NAME
		ended string
		line  string // a last line the report must show
	}{
		{"false", []string{"--", "false"}, "exit status 1", ""},
		{"sleep then exit 3", []string{"--", "sh", "-c", "echo about-to-fail; sleep 0.1; exit 3"}, "exit status 3", "about-to-fail"},
		{"python import error", []string{"--", "python3", "-c", "import nosuchmod"}, "exit status 1", "ModuleNotFoundError: No module named 'nosuchmod'"},
		{"crash with --restart", []string{"--restart=on-failure", "--", "sh", "-c", "echo crash; sleep 0.1; exit 2"}, "exit status 2", "crash"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			for i := range 10 {
				name := runName(t)
				r := runctl(t, append([]string{"run", "-d", "-n", name}, tc.args...)...)
				if r.code == 0 || strings.Contains(r.stdout, "started") || !strings.Contains(r.stderr, name+" exited") || !strings.Contains(r.stderr, "("+tc.ended+")") {
					t.Fatalf("try %d: %v\nwant exit 1 and that it exited (%s)", i, r, tc.ended)
				}
				if !strings.Contains(r.stderr, tc.line) {
					t.Errorf("try %d: the report lacks the program's last line %q:\n%s", i, tc.line, r.stderr)
				}
				if strings.HasPrefix(tc.args[0], "--restart") {
					if !strings.Contains(r.stderr, "systemd restarts it") {
						t.Errorf("try %d: the report does not say systemd restarts it:\n%s", i, r.stderr)
					}
					if r := runctl(t, "stop", name); r.code != 0 {
						t.Errorf("stop of the crash loop: %v", r)
					}
				}
			}
		})
	}
}

// restart and start into a program that no longer starts (a Python syntax
// error deployed meanwhile) fail with its traceback; --settle 0 returns once
// the program was executed, without a settle step.
func TestRestartAndStartIntoBrokenProgram(t *testing.T) {
	name := runName(t)
	script := fmt.Sprintf("/var/tmp/%s.py", name)
	t.Cleanup(func() { os.Remove(sb.Path(script)) })
	if err := os.WriteFile(sb.Path(script), []byte("import time\ntime.sleep(1000)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runctl(t, "run", "-d", "-n", name, "--", "python3", script); r.code != 0 {
		t.Fatal(r)
	}
	var rec restartRecord
	r := runctl(t, "--json", "restart", "--settle", "0", name)
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || r.code != 0 || len(rec.Steps) != 2 {
		t.Fatalf("restart --settle 0: %v (%v), want stop and start steps only", r, err)
	}
	r = runctl(t, "--json", "restart", name)
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || r.code != 0 || len(rec.Steps) != 3 || rec.Steps[2].Step != "settle" || rec.Steps[2].Outcome != "still running" {
		t.Fatalf("restart: %v (%v), want a settle step: still running", r, err)
	}
	if err := os.WriteFile(sb.Path(script), []byte("import time\ndef broken(:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runctl(t, "restart", name)
	if r.code == 0 || strings.Contains(r.stdout, "restarted "+name) || !strings.Contains(r.stderr, "SyntaxError") || !strings.Contains(r.stderr, "(exit status 1)") {
		t.Fatalf("restart into a syntax error: %v\nwant a failure showing the SyntaxError", r)
	}
	runctl(t, "stop", name)
	r = runctl(t, "start", name)
	if r.code == 0 || strings.Contains(r.stdout, "started "+name) || !strings.Contains(r.stderr, "SyntaxError") {
		t.Fatalf("start into a syntax error: %v\nwant a failure showing the SyntaxError", r)
	}
	if r := runctl(t, "run", "-d", "--settle=-1s", "-n", name, "--", "true"); r.code == 0 || !strings.Contains(r.stderr, "invalid --settle") {
		t.Fatalf("--settle -1s: %v", r)
	}
}
