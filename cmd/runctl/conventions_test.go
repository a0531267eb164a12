package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runctl/runctl/sandbox"
)

// systemctlCode is systemctl's exit code for args inside the sandbox.
func systemctlCode(t *testing.T, args ...string) int {
	t.Helper()
	err := sbOf(t).Command(t.Context(), "systemctl", args...).Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	t.Fatalf("systemctl %q: %v", args, err)
	return 0
}

// Stopping a stopped run and starting a running one succeed and say so,
// as systemctl's stop of an inactive unit and start of an active one do
// (exit 0), text and JSON. (A stopped run's transient unit is unloaded, so
// systemctl itself would call it unknown; runctl still knows the run.)
func TestStopStoppedAndStartRunningSucceed(t *testing.T) {
	shared(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "--settle", "0", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	if r := runctl(t, "start", name); r.code != 0 || r.stdout != name+" is already running\n" {
		t.Errorf("start of a running run: %v", r)
	}
	r := runctl(t, "--json", "start", name)
	var started map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &started); r.code != 0 || err != nil || started["already_running"] != true || started["name"] != name {
		t.Errorf("start --json of a running run: %v (%v)", r, err)
	}
	if r := runctl(t, "stop", name); r.code != 0 || !strings.Contains(r.stdout, "stopped "+name) {
		t.Fatal(r)
	}
	if r := runctl(t, "stop", name); r.code != 0 || r.stdout != name+" is not running\n" || r.stderr != "" {
		t.Errorf("stop of a stopped run: %v", r)
	}
	r = runctl(t, "--json", "stop", name)
	var stopped map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &stopped); r.code != 0 || err != nil || stopped["not_running"] != true || stopped["error"] != nil {
		t.Errorf("stop --json of a stopped run: %v (%v)", r, err)
	}
}

// A name runctl does not know exits as systemctl does for a unit it does
// not know: the code of `systemctl start|stop|restart nosuch.service`
// (EXIT_NOTINSTALLED, 5); status has systemctl status's 4.
func TestUnknownNameExitsAsSystemctl(t *testing.T) {
	shared(t)
	name := runName(t) // never started
	unit := "runctl-" + name + ".service"
	for _, verb := range []string{"stop", "start", "restart"} {
		want := systemctlCode(t, verb, unit)
		if want == 0 || want == 1 {
			t.Fatalf("systemctl %s of an unknown unit exits %d", verb, want)
		}
		for _, args := range [][]string{{verb, name}, {"--json", verb, name}} {
			if r := runctl(t, args...); r.code != want || !strings.Contains(r.stderr, "knows no run named "+name) {
				t.Errorf("runctl %q: %v; want exit %d as systemctl %s %s", args, r, want, verb, unit)
			}
		}
	}
	if r := runctl(t, "stop", "no-such-run-x", name); r.code != systemctlCode(t, "stop", "no-such-unit-x.service", unit) {
		t.Errorf("stop of two unknown names: %v", r)
	}
	want := systemctlCode(t, "status", unit)
	if r := runctl(t, "status", name); r.code != want {
		t.Errorf("status of an unknown name: %v; want exit %d as systemctl status", r, want)
	}
}

// Colour goes with NO_COLOR (any value), SYSTEMD_COLORS=0 and TERM=dumb.
// runctl colours the host prefixes of -H logs on a terminal; the hosts
// here are this machine, reached by an ssh stand-in that runs the remote
// command locally (colour is decided on the caller's side).
// The lines the hosts send are escaped on a terminal, as logs' own are.
func TestColourConventions(t *testing.T) {
	shared(t)
	fake, dir := sshStandIn(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sh", "-c", `printf 'hello-colour \033[2J\n'; exec sleep 1000`); r.code != 0 {
		t.Fatal(r)
	}
	waitFor(t, func() bool { return strings.Contains(runctl(t, "logs", name).stdout, "hello-colour") }, "the run's line")
	base := []string{"RUNCTL_SSH=" + fake, "XDG_RUNTIME_DIR=" + dir, "TERM=xterm", "NO_COLOR=", "SYSTEMD_COLORS="}
	for _, tc := range []struct {
		env    []string
		colour bool
	}{
		{nil, true},
		{[]string{"NO_COLOR=1"}, false},
		{[]string{"NO_COLOR=0"}, false},
		{[]string{"SYSTEMD_COLORS=0"}, false},
		{[]string{"SYSTEMD_COLORS=false"}, false},
		{[]string{"TERM=dumb"}, false},
	} {
		got, code := onTerminal(t, append(base, tc.env...), "-H", "here-1", "logs", "-n", "5", name)
		// The host's lines are escaped on a terminal as local ones are.
		if code != 0 || !strings.Contains(got, `hello-colour \x1b[2J`) || strings.Contains(got, "\x1b[2J") {
			t.Fatalf("-H logs with %q: exit %d, %q", tc.env, code, got)
		}
		if coloured := strings.Contains(got, "\x1b[36mhere-1\x1b[0m | "); coloured != tc.colour || !tc.colour && strings.Contains(got, "\x1b[") {
			t.Errorf("-H logs on a terminal with %q: %q; want colour %v", tc.env, got, tc.colour)
		}
	}
}

// sshStandIn is an ssh that runs the remote command on this machine (-G,
// the config, fails), and a private folder beside it for XDG_RUNTIME_DIR.
func sshStandIn(t *testing.T) (ssh, dir string) {
	t.Helper()
	sandbox.Need(t, sbOf(t))
	dir, err := os.MkdirTemp(sandbox.StateRoot(), "bin-ssh-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ssh = filepath.Join(dir, "ssh")
	script := "#!/bin/sh\nfor a; do case $a in -G) exit 255;; esac; last=$a; done\nexec sh -c \"$last\"\n"
	if err := os.WriteFile(ssh, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return ssh, dir
}
