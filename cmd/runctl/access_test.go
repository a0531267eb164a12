package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/runctl/runctl/cli/clitest"
	"github.com/runctl/runctl/sandbox"
)

// asUser runs runctl inside the sandbox as a non-root user, with the
// supplementary groups /etc/group gives them.
func asUser(t *testing.T, user string, env []string, args ...string) result {
	t.Helper()
	cmd := sbOf(t).CommandIn(bounded(t), "/", "setpriv", append([]string{"--reuid=" + user, "--regid=" + user, "--init-groups", binDir + "/runctl"}, clitest.NoSettle(args)...)...)
	cmd.Env = append(os.Environ(), append([]string{"HOME=/home/" + user, "USER=" + user}, env...)...)
	return finish(t, cmd)
}

func ensureUser(t *testing.T, name string, groups ...string) {
	t.Helper()
	g := ""
	if len(groups) > 0 {
		g = " -G " + strings.Join(groups, ",")
	}
	inside(t, "sh", "-c", "getent group runctl >/dev/null || groupadd --system runctl; id "+name+" >/dev/null 2>&1 || useradd -m -U"+g+" "+name)
}

// userManager makes the user name, starts their manager for the test, and
// returns their uid and the environment that reaches that manager.
func userManager(t *testing.T, name string) (uid string, env []string) {
	t.Helper()
	sandbox.Need(t, sbOf(t))
	ensureUser(t, name)
	uid = strings.TrimSpace(inside(t, "id", "-u", name))
	inside(t, "systemctl", "start", "user@"+uid+".service")
	t.Cleanup(func() { sbOf(t).Command(context.Background(), "systemctl", "stop", "user@"+uid+".service").Run() })
	return uid, []string{"XDG_RUNTIME_DIR=/run/user/" + uid}
}

// A non-root user's runs live in their own user manager, by default.
func TestUserManager(t *testing.T) {
	alone(t)
	_, env := userManager(t, "robot")
	r := asUser(t, "robot", env, "run", "-d", "-n", "mine", "--", "sh", "-c", "echo user-run-out; exec sleep 1000")
	if r.code != 0 || !strings.Contains(r.stdout, "runctl --user logs -f mine") {
		t.Fatalf("run as a user: %v", r)
	}
	if r := asUser(t, "robot", env, "--json", "ls"); r.code != 0 || !strings.Contains(r.stdout, `"manager": "user"`) {
		t.Fatalf("ls as a user: %v", r)
	}
	if r := asUser(t, "robot", env, "status", "mine"); r.code != 0 || !strings.Contains(r.stdout, "user manager") {
		t.Fatalf("status as a user: %v", r)
	}
	waitFor(t, func() bool { return strings.Contains(asUser(t, "robot", env, "logs", "mine").stdout, "user-run-out") }, "the user run's output")
	if r := asUser(t, "robot", env, "restart", "mine"); r.code != 0 {
		t.Fatalf("restart as a user: %v", r)
	}
	if r := asUser(t, "robot", env, "logs", "-I", "previous", "mine"); !strings.Contains(r.stdout, "user-run-out") {
		t.Fatalf("logs -I previous as a user: %v", r)
	}
	if r := asUser(t, "robot", env, "stop", "mine"); r.code != 0 {
		t.Fatalf("stop as a user: %v", r)
	}
	// How user runs ended is recorded in the user's own folders: the
	// recorder's templates and markers under $XDG_RUNTIME_DIR (%t).
	if r := asUser(t, "robot", env, "run", "-d", "--settle=0", "-n", "done", "--", "sh", "-c", "sleep 0.2; exit 0"); r.code != 0 {
		t.Fatalf("run as a user: %v", r)
	}
	for name, want := range map[string]string{"mine": "stopped by runctl", "done": "exit status 0"} {
		waitFor(t, func() bool {
			var list []struct {
				Name, State string
				LastExit    string `json:"last_exit"`
			}
			r := asUser(t, "robot", env, "--json", "ls")
			json.Unmarshal([]byte(r.stdout), &list)
			for _, run := range list {
				if run.Name == name {
					return run.State == "stopped" && run.LastExit == want
				}
			}
			return false
		}, "last_exit "+want+" of the user run "+name)
	}
	// The system manager knows nothing of it.
	if u := runctlUnits(t); strings.Contains(u, "runctl-mine") {
		t.Fatalf("a user run reached the system manager:\n%s", u)
	}
	// Without a user manager: a clear message with the fix.
	r = asUser(t, "robot", []string{"XDG_RUNTIME_DIR=/nonexistent", "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent"}, "ls")
	if r.code == 0 || !strings.Contains(r.stderr, "cannot reach your user manager") || !strings.Contains(r.stderr, "enable-linger robot") {
		t.Fatalf("without a user manager: %v", r)
	}
}

// The runctl group stops, starts and restarts runctl's runs through the
// operator service, and nothing else: no other unit, no signal, and no
// transient unit as root.
func TestOperatorGroupMatrix(t *testing.T) {
	alone(t)
	sandbox.Need(t, sbOf(t))
	operatorMember(t)
	ensureUser(t, "rctlvis")

	name, enabled := runName(t), runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "-E", "SECRET=topsecret", "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	if r := runctl(t, "run", "-d", "--enable", "-n", enabled, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	t.Cleanup(func() { runctl(t, "rm", "-f", enabled) })
	sys := func(user string, args ...string) result {
		return asUser(t, user, nil, append([]string{"--system"}, args...)...)
	}

	// Everyone may look.
	for _, u := range []string{"rctlop", "rctlvis"} {
		if r := sys(u, "ls"); r.code != 0 || !strings.Contains(r.stdout, name) {
			t.Errorf("ls as %s: %v", u, r)
		}
		if r := sys(u, "status", name); r.code != 0 {
			t.Errorf("status as %s: %v", u, r)
		}
	}
	// A non-member may not stop; a member may.
	if r := sys("rctlvis", "stop", name); r.code == 0 || !strings.Contains(r.stderr, "permission denied") {
		t.Errorf("stop as a non-member: %v", r)
	}
	// A member restarts enabled and transient runs alike: the operator
	// service restarts them from their specs, as root's runctl does.
	if r := sys("rctlop", "restart", enabled); r.code != 0 || !strings.Contains(r.stdout, "restarted "+enabled) {
		t.Errorf("restart of an enabled run as a member: %v", r)
	}
	if r := sys("rctlop", "restart", name); r.code != 0 || !strings.Contains(r.stdout, "restarted "+name) {
		t.Errorf("restart of a transient run as a member: %v", r)
	}
	// No signals: SIGSTOP would freeze a root run. A stop (SIGTERM, then
	// SIGKILL by systemd at the stop timeout) is what members get.
	if out, err := sbOf(t).CommandIn(t.Context(), "/", "setpriv", "--reuid=rctlop", "--regid=rctlop", "--init-groups", "systemctl", "kill", "-s", "SIGSTOP", "runctl-"+enabled+".service").CombinedOutput(); err == nil {
		t.Errorf("a member sent SIGSTOP to a root run: %s", out)
	}
	if r := sys("rctlop", "stop", "--force", enabled); r.code == 0 || !strings.Contains(r.stderr, "needs root") {
		t.Errorf("stop --force as a member: %v", r)
	}
	// rm needs root: refused before anything is stopped.
	if r := sys("rctlop", "rm", "-f", enabled); r.code == 0 || !strings.Contains(r.stderr, "permission denied") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Errorf("rm -f as a member: %v", r)
	}
	if st := strings.TrimSpace(mustOutRoot(t, "systemctl", "is-active", "runctl-"+enabled+".service")); st != "active" {
		t.Errorf("after a member's refused stop --force and rm -f the run is %s, want active", st)
	}
	if r := sys("rctlop", "stop", name); r.code != 0 || !strings.Contains(r.stdout, "stopped "+name) {
		t.Errorf("stop as a member: %v", r)
	}
	// Nothing else: another unit, or a transient unit (as root) created
	// through runctl or directly.
	if out, err := sbOf(t).CommandIn(t.Context(), "/", "setpriv", "--reuid=rctlop", "--regid=rctlop", "--init-groups", "systemctl", "stop", "cron.service").CombinedOutput(); err == nil {
		t.Errorf("a member stopped cron.service: %s", out)
	}
	if r := asUser(t, "rctlop", []string{"RUNCTL_STATE_DIR=/tmp/rctlop-runs"}, "--system", "run", "-d", "-n", "rootly", "--", "id"); r.code == 0 || !strings.Contains(r.stderr, "permission denied") {
		t.Errorf("a member created a transient unit through runctl: %v", r)
	}
	if out, err := sbOf(t).CommandIn(t.Context(), "/", "setpriv", "--reuid=rctlop", "--regid=rctlop", "--init-groups", "systemd-run", "--no-ask-password", "-p", "User=root", "true").CombinedOutput(); err == nil {
		t.Errorf("a member started a transient unit as root with systemd-run: %s", out)
	}
	if u := runctlUnits(t); strings.Contains(u, "rootly") {
		t.Errorf("a unit was created: %s", u)
	}

	// The environment runctl captured is readable by no other user: not
	// through D-Bus properties, the transient unit file, the spec and
	// environment files, or an enabled unit file.
	if r := runctl(t, "start", name); r.code != 0 {
		t.Fatal(r)
	}
	leaks := map[string]string{
		"systemctl show": string(mustOut(t, "rctlvis", "systemctl", "show", "runctl-"+name+".service")),
		"transient file": string(mustOut(t, "rctlvis", "cat", "/run/systemd/transient/runctl-"+name+".service")),
		"enabled unit":   string(mustOut(t, "rctlvis", "cat", "/etc/systemd/system/runctl-"+enabled+".service")),
	}
	for where, text := range leaks {
		if strings.Contains(text, "topsecret") {
			t.Errorf("the secret is readable through %s", where)
		}
	}
	for _, f := range append(envFiles(t, name), "/var/lib/runctl/runs/"+name+".json") {
		if out, err := sbOf(t).CommandIn(t.Context(), "/", "setpriv", "--reuid=rctlvis", "--regid=rctlvis", "--init-groups", "cat", f).CombinedOutput(); err == nil {
			t.Errorf("another user read %s: %s", f, out)
		}
	}
}

// mustOutRoot is a command's output inside the sandbox, as root, whatever
// its exit status.
func mustOutRoot(t *testing.T, name string, args ...string) string {
	out, _ := sbOf(t).Command(t.Context(), name, args...).CombinedOutput()
	return string(out)
}

func mustOut(t *testing.T, user string, args ...string) []byte {
	t.Helper()
	out, _ := sbOf(t).CommandIn(t.Context(), "/", "setpriv", append([]string{"--reuid=" + user, "--regid=" + user, "--init-groups"}, args...)...).CombinedOutput()
	return out
}
