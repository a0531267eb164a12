package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// runctl waiting on a stop while the manager reloads or re-executes (which
// drops every client connection) reconnects and completes.
func TestWaitSurvivesManagerReloadAndReexec(t *testing.T) {
	alone(t)
	for _, op := range []string{"daemon-reload", "daemon-reexec"} {
		t.Run(op, func(t *testing.T) {
			name := runName(t)
			// The stop lasts a second: the reload or reexec lands while
			// runctl waits (a program that ends while PID 1 re-executes:
			// TestStopAcrossReexecKnowsHowTheProgramEnded).
			script := `trap "echo stopping; sleep 1; exit 0" TERM; echo ready; while :; do sleep 0.05; done`
			if r := runctl(t, "run", "-d", "-n", name, "--", "sh", "-c", script); r.code != 0 {
				t.Fatal(r)
			}
			waitFor(t, func() bool { return strings.Contains(inside(t, "journalctl", "-t", name, "-o", "cat"), "ready") }, "the trap")
			old := mainPID(t, name)
			restart := runctlCmd(t, "/", "--json", "restart", name)
			var out lockedBuffer
			restart.Stdout, restart.Stderr = &out, &out
			if err := restart.Start(); err != nil {
				t.Fatal(err)
			}
			// The program logs when SIGTERM reached it: the stop has begun
			// and lasts another second.
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(inside(t, "journalctl", "-t", name, "-o", "cat"), "stopping") {
				if time.Now().After(deadline) {
					t.Fatalf("the stop never began; restart so far:\n%s", out.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			inside(t, "systemctl", op)
			if err := restart.Wait(); err != nil {
				t.Fatalf("restart across %s: %v\n%s", op, err, out.String())
			}
			if pid := mainPID(t, name); pid == old || countProcs(t, "sh", "-c", name) > 1 {
				t.Fatalf("after %s: pid %d (was %d)\n%s", op, pid, old, out.String())
			}
			if !strings.Contains(out.String(), `"old_ended": "exit status 0"`) {
				t.Errorf("the old instance's end was not reported:\n%s", out.String())
			}
		})
	}
}

// Killed at each point of run, stop and restart, the next command reports a
// consistent state and finishes the job.
func TestCrashPointsOfRunAndStop(t *testing.T) {
	alone(t)
	t.Run("run/start-enqueued", func(t *testing.T) {
		name := runName(t)
		cmd := runctlCmd(t, "/", "run", "-d", "-n", name, "--", "sleep", "1000")
		cmd.Env = append(cmd.Env, "RUNCTL_CRASH_AT=start-enqueued")
		if r := finish(t, cmd); r.code != 137 {
			t.Fatalf("not killed: %v", r)
		}
		// systemd runs the job anyway: the run is there, listed, stoppable.
		waitFor(t, func() bool { return strings.Contains(runctl(t, "status", name).stdout, "active (running)") }, "the run to be active")
		if r := runctl(t, "stop", name); r.code != 0 {
			t.Fatal(r)
		}
	})
	t.Run("stop/stop-enqueued", func(t *testing.T) {
		name := runName(t)
		runIgnoringTERM(t, name)
		cmd := runctlCmd(t, "/", "stop", name)
		cmd.Env = append(cmd.Env, "RUNCTL_CRASH_AT=stop-enqueued")
		if r := finish(t, cmd); r.code != 137 {
			t.Fatalf("not killed: %v", r)
		}
		// The stop job goes on in systemd; a second stop joins and finishes it.
		begin := time.Now()
		r := runctl(t, "stop", "--timeout", "300ms", name)
		if r.code != 0 || !strings.Contains(r.stdout, "killed by SIGKILL") || time.Since(begin) > 30*time.Second { // not the default 90 s timeout
			t.Fatalf("second stop: %v", r)
		}
		if u := unitLeft(t, name); u != "" {
			t.Fatalf("unit left:\n%s", u)
		}
	})
}

// Without dbus-daemon, root still works over the manager's private socket;
// a non-root user, who needs the bus, is told so.
func TestWithoutDBusDaemon(t *testing.T) {
	alone(t)
	name := runName(t)
	inside(t, "systemctl", "stop", "dbus.socket", "dbus.service")
	t.Cleanup(func() { sbOf(t).Command(context.Background(), "systemctl", "start", "dbus.socket").Run() })
	if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run as root without dbus-daemon: %v", r)
	}
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatalf("restart as root without dbus-daemon: %v", r)
	}
	if r := runctl(t, "stop", name); r.code != 0 {
		t.Fatalf("stop as root without dbus-daemon: %v", r)
	}
	cmd := sbOf(t).CommandIn(bounded(t), "/", "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", binDir+"/runctl", "--system", "ls")
	r := finish(t, cmd)
	if r.code == 0 || !strings.Contains(r.stderr, "cannot reach the system manager") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("non-root without dbus-daemon: %v", fmt.Sprint(r))
	}
}

// foreignUnitFile takes run name's unit name with an admin's unit file in
// /etc, loaded by a daemon-reload, until the test ends.
func foreignUnitFile(t *testing.T, name string) {
	t.Helper()
	unit := "/etc/systemd/system/runctl-" + name + ".service"
	if err := os.WriteFile(sbOf(t).Path(unit), []byte("[Service]\nExecStart=/bin/sleep 1000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Remove(sbOf(t).Path(unit))
		sbOf(t).Command(context.Background(), "systemctl", "daemon-reload").Run()
	})
	inside(t, "systemctl", "daemon-reload")
}

// A unit name taken by something runctl did not make is a clear error,
// and the other unit is left alone.
func TestNameTakenByOtherUnit(t *testing.T) {
	shared(t)
	name := runName(t)
	foreignUnitFile(t, name)
	r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "2000")
	if r.code == 0 || !strings.Contains(r.stderr, "defined outside runctl") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("run on a name taken by a unit file: %v", r)
	}
	if out := inside(t, "sh", "-c", "ls /var/lib/runctl/runs/ | grep -c '^"+name+"\\.json$' || true"); strings.TrimSpace(out) != "0" {
		t.Fatalf("a spec was left for the refused run")
	}
	// Started by hand, it runs its own command and runctl does not take it over.
	inside(t, "systemctl", "start", "runctl-"+name+".service")
	if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "2000"); r.code == 0 || !strings.Contains(r.stderr, "defined outside runctl") {
		t.Fatalf("run on a running foreign unit: %v", r)
	}
}
