package main

import (
	"context"
	"strings"
	"testing"
)

// A user manager's runs have their program's lines in status (for a
// non-root user, from their own journal) and in root's --user logs and
// status (root's user manager logs to the system journal).
func TestUserRunsLogsInStatus(t *testing.T) {
	alone(t)
	_, env := userManager(t, "robolog")
	if r := asUser(t, "robolog", env, "run", "-d", "-n", "ulog", "--", "sh", "-c", "echo user-status-out; exec sleep 1000"); r.code != 0 {
		t.Fatalf("run as a user: %v", r)
	}
	waitFor(t, func() bool {
		return strings.Contains(asUser(t, "robolog", env, "logs", "ulog").stdout, "user-status-out")
	}, "the user run's output in logs")
	if r := asUser(t, "robolog", env, "status", "ulog"); !strings.Contains(r.stdout, "user-status-out") {
		t.Errorf("status of a user's run lacks its output:\n%v", r)
	}

	inside(t, "systemctl", "start", "user@0.service")
	t.Cleanup(func() { sbOf(t).Command(context.Background(), "systemctl", "stop", "user@0.service").Run() })
	asRoot := func(args ...string) result {
		t.Helper()
		cmd := runctlCmd(t, "/", append([]string{"--user"}, args...)...)
		cmd.Env = append(cmd.Env, "XDG_RUNTIME_DIR=/run/user/0")
		return finish(t, cmd)
	}
	if r := asRoot("run", "-d", "-n", "rootlog", "--", "sh", "-c", "echo root-user-out; exec sleep 1000"); r.code != 0 {
		t.Fatalf("root's --user run: %v", r)
	}
	waitFor(t, func() bool { return strings.Contains(asRoot("logs", "rootlog").stdout, "root-user-out") }, "root's --user logs to show the run's output")
	if r := asRoot("status", "rootlog"); !strings.Contains(r.stdout, "root-user-out") {
		t.Errorf("root's --user status lacks the run's output:\n%v", r)
	}
}
