package main

// Issue 12, parts 4-6: runctl tells the truth about a run that dies at
// start, about how a run ended, and stays attached to a run that systemd
// or runctl restarts.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runctl/runctl/cli/clitest"
	"github.com/runctl/runctl/sandbox"
)

// run -d watches the program for the settle window: a program that dies
// within it is reported, with how it ended and its last lines, exit 1 and
// no "started". 10 tries each, since the start job and the program's end
// race inside systemd.
func TestRunDaemonReportsEarlyDeath(t *testing.T) {
	shared(t)
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
				r := runctl(t, append([]string{"run", "-d", settle, "-n", name}, tc.args...)...)
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
	shared(t)
	name := runName(t)
	script := fmt.Sprintf("/var/tmp/%s.py", name)
	t.Cleanup(func() { os.Remove(sbOf(t).Path(script)) })
	if err := os.WriteFile(sbOf(t).Path(script), []byte("import time\ntime.sleep(1000)\n"), 0o644); err != nil {
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
	r = runctl(t, "--json", "restart", settle, name)
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil || r.code != 0 || len(rec.Steps) != 3 || rec.Steps[2].Step != "settle" || rec.Steps[2].Outcome != "still running" {
		t.Fatalf("restart: %v (%v), want a settle step: still running", r, err)
	}
	if err := os.WriteFile(sbOf(t).Path(script), []byte("import time\ndef broken(:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runctl(t, "restart", settle, name)
	if r.code == 0 || strings.Contains(r.stdout, "restarted "+name) || !strings.Contains(r.stderr, "SyntaxError") || !strings.Contains(r.stderr, "(exit status 1)") {
		t.Fatalf("restart into a syntax error: %v\nwant a failure showing the SyntaxError", r)
	}
	runctl(t, "stop", name)
	r = runctl(t, "start", settle, name)
	if r.code == 0 || strings.Contains(r.stdout, "started "+name) || !strings.Contains(r.stderr, "SyntaxError") {
		t.Fatalf("start into a syntax error: %v\nwant a failure showing the SyntaxError", r)
	}
	if r := runctl(t, "run", "-d", "--settle=-1s", "-n", name, "--", "true"); r.code == 0 || !strings.Contains(r.stderr, "invalid --settle") {
		t.Fatalf("--settle -1s: %v", r)
	}
}

// An attached run with --restart stays attached through systemd's
// automatic restarts, printing a line for each, until the program ends
// for good, and exits with its final status. With Restart= the manager
// shows a crashed program's unit "failed" just before "auto-restart": the
// attached runctl used to take that for the end (~2 tries in 3).
func TestAttachedRunSurvivesAutomaticRestarts(t *testing.T) {
	shared(t)
	for i := range 10 {
		name := runName(t)
		// Crashes 3 times, then ends well: on-failure does not restart that.
		script := fmt.Sprintf(`f=/run/%s.count; n=$(( $(cat $f 2>/dev/null || echo 0) + 1 )); echo $n > $f; echo "instance $n"; sleep 0.2; [ $n -gt 3 ] && exit 0; exit 1`, name)
		r := runctl(t, "run", "-n", name, "--restart=on-failure", "--restart-delay=100ms", "--", "sh", "-c", script)
		if r.code != 0 {
			t.Fatalf("try %d: %v\nwant exit 0, the last instance's status", i, r)
		}
		for n := 1; n <= 4; n++ {
			if !strings.Contains(r.stdout, fmt.Sprintf("instance %d\n", n)) {
				t.Fatalf("try %d: instance %d's output was not streamed:\n%v", i, n, r)
			}
		}
		for n := 1; n <= 3; n++ {
			if want := fmt.Sprintf("%s ended (exit status 1); systemd restarted it (restart %d), still attached", name, n); !strings.Contains(r.stderr, want) {
				t.Fatalf("try %d: no line %q:\n%v", i, want, r)
			}
		}
		if u := unitLeft(t, name); u != "" {
			t.Fatalf("try %d: the run's unit is left after runctl returned:\n%s", i, u)
		}
	}
}

// A `runctl restart` from another terminal does not end the attached
// runctl: the restart holds the run's lock from before its stop to after
// its start, and the attached runctl, seeing the old instance over, waits
// for the lock and finds the run running again. It follows the new
// instance until the run is stopped, and exits with its status.
func TestAttachedRunSurvivesManualRestart(t *testing.T) {
	shared(t)
	name := runName(t)
	// --log-level debug: on a failure, stderr shows what the attached
	// runctl saw.
	cmd := runctlCmd(t, "/", "--log-level", "debug", "run", "-n", name, "--", "sh", "-c", `trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.05; done`)
	var out, errb lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitFor(t, func() bool { return strings.Contains(out.String(), "ready\n") }, "the attached run to start")
	if r := runctl(t, "restart", "--settle=0", name); r.code != 0 {
		t.Fatalf("restart from another terminal: %v", r)
	}
	waitFor(t, func() bool { return strings.Count(out.String(), "ready\n") == 2 }, "the attached runctl to stream the new instance")
	marker := name + " was restarted from elsewhere (exit status 3), still attached"
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(errb.String(), marker); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no line %q\nstdout %s\nstderr %s", marker, &out, &errb)
		}
	}
	select {
	case err := <-done:
		t.Fatalf("the attached runctl ended after the restart: %v\nstdout %s\nstderr %s", err, &out, &errb)
	default:
	}
	if r := runctl(t, "stop", name); r.code != 0 {
		t.Fatalf("stop: %v", r)
	}
	err := <-done
	if code := clitest.ExitCode(err); code != 3 {
		t.Fatalf("the attached runctl exited %d (%v), want the final instance's 3\nstdout %s\nstderr %s", code, err, &out, &errb)
	}
}

// SIGHUP (terminal closed, ssh dropped) stops an attached run, as a shell
// does with its job; runctl exits with the program's status.
func TestAttachedRunStopsOnHangup(t *testing.T) {
	shared(t)
	name := runName(t)
	cmd, out, errb := fgStart(t, name, `trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.05; done`)
	syscall.Kill(sandbox.ChildPID(cmd.Process.Pid), syscall.SIGHUP)
	err := cmd.Wait()
	if code := clitest.ExitCode(err); code != 0 || !strings.Contains(errb.String(), "hangup: stopping "+name) {
		t.Fatalf("after SIGHUP: exit %d (%v), want 0 and a word that it stops the run\nstdout %s\nstderr %s", code, err, out, errb)
	}
	if u := unitLeft(t, name); u != "" {
		t.Fatalf("the run is left after SIGHUP:\n%s", u)
	}
}

// How a run ended stays known after systemd collected its unit: ls --json
// (last_exit), ls and status show it, and a deliberate stop is told apart
// from a crash. The record is written by the run's ExecStopPost with
// full privileges, so a run under --uid has one too.
func TestLastExitSurvivesCollection(t *testing.T) {
	shared(t)
	for _, tc := range []struct {
		what  string
		args  []string // after run -n NAME
		ended string
	}{
		{"-d, exit 0", []string{"-d", "--settle=0", "--", "sh", "-c", "exit 0"}, "exit status 0"},
		{"-d, exit 5", []string{"-d", "--settle=0", "--", "sh", "-c", "sleep 0.2; exit 5"}, "exit status 5"},
		{"-d, exit 6 as nobody", []string{"-d", "--settle=0", "--uid", "nobody", "--", "sh", "-c", "exit 6"}, "exit status 6"},
		{"-d, SIGKILL", []string{"-d", "--settle=0", "--", "sh", "-c", "kill -KILL $$"}, "killed by SIGKILL"},
		{"attached, exit 7", []string{"--", "sh", "-c", "exit 7"}, "exit status 7"},
	} {
		t.Run(tc.what, func(t *testing.T) {
			name := runName(t)
			runctl(t, append([]string{"run", "-n", name}, tc.args...)...)
			waitFor(t, func() bool {
				s := prop(t, "runctl-"+name+".service", "ActiveState")
				return s == "inactive" || s == "failed"
			}, "the run to end")
			// Collected: a failed unit once reset (stop does that), an
			// inactive one at once.
			inside(t, "sh", "-c", "systemctl reset-failed runctl-"+name+".service 2>/dev/null; true")
			checkLastExit(t, name, tc.ended)
		})
	}
	t.Run("stopped by runctl", func(t *testing.T) {
		name := runName(t)
		if r := runctl(t, "run", "-d", "--settle=0", "-n", name, "--", "sleep", "1000"); r.code != 0 {
			t.Fatal(r)
		}
		if r := runctl(t, "stop", name); r.code != 0 {
			t.Fatal(r)
		}
		checkLastExit(t, name, "stopped by runctl")
	})
}

// A run's end is recorded by units its own unit triggers once it is over
// (OnSuccess=, OnFailure=), not by a command its stop job waits for; a stop
// by runctl, which records it itself, holds the recorder off, so that PID
// 1 forks nothing for it.
func TestStopSpawnsNoRecorder(t *testing.T) {
	shared(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "--settle=0", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	unit := "runctl-" + name + ".service"
	p := unitShow(t, unit, "ExecStopPost", "OnSuccess", "OnFailure")
	if p["ExecStopPost"] != "" || !strings.HasPrefix(p["OnSuccess"], "runctl.ended-") || !strings.HasPrefix(p["OnFailure"], "runctl.failed-") {
		t.Fatalf("the run's unit: %q, want no ExecStopPost, and OnSuccess/OnFailure recorders", p)
	}
	if r := runctl(t, "stop", name); r.code != 0 {
		t.Fatal(r)
	}
	recorder := p["OnSuccess"]
	waitFor(t, func() bool {
		return strings.Contains(inside(t, "journalctl", "-o", "cat", "_PID=1", "UNIT="+recorder), "skipped because of an unmet condition check")
	}, "the recorder "+recorder+" held off")
	checkLastExit(t, name, "stopped by runctl")
}

// After runctl stopped a run, the instance runctl starts next has its end
// recorded again, whether the stopped unit was collected (start, run
// --replace) or not.
func TestLastExitAfterStopAndStart(t *testing.T) {
	shared(t)
	name := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	flag := "/run/" + name + ".quit"
	t.Cleanup(func() { sbOf(t).Command(context.Background(), "rm", "-f", flag).Run() })
	argv := []string{"sh", "-c", "while [ ! -e " + flag + " ]; do sleep 0.05; done; exit 0"}
	for _, start := range [][]string{{"start", "--settle=0", name}, append([]string{"run", "-d", "--settle=0", "--replace", "-n", name, "--"}, argv...)} {
		if r := runctl(t, append([]string{"run", "-d", "--settle=0", "--replace", "-n", name, "--"}, argv...)...); r.code != 0 {
			t.Fatal(r)
		}
		if r := runctl(t, "stop", name); r.code != 0 {
			t.Fatal(r)
		}
		checkLastExit(t, name, "stopped by runctl")
		inside(t, "rm", "-f", flag)
		if r := runctl(t, start...); r.code != 0 {
			t.Fatalf("%q: %v", start, r)
		}
		inside(t, "touch", flag)
		waitFor(t, func() bool {
			got, ok := lsRunNamed(t, name)
			return ok && got.LastExit == "exit status 0"
		}, fmt.Sprintf("last_exit of the instance %q started", start))
		inside(t, "rm", "-f", flag)
	}
}

// After runctl stopped an enabled run, an instance someone else starts
// (systemctl start, a group member, the boot) has its end recorded again.
func TestLastExitAfterOthersStart(t *testing.T) {
	alone(t)
	name := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	flag := "/run/" + name + ".quit"
	if r := runctl(t, "run", "-d", "--settle=0", "--enable", "-n", name, "--", "sh", "-c", "while [ ! -e "+flag+" ]; do sleep 0.05; done; exit 0"); r.code != 0 {
		t.Fatal(r)
	}
	if r := runctl(t, "stop", name); r.code != 0 {
		t.Fatal(r)
	}
	checkLastExit(t, name, "stopped by runctl")
	inside(t, "systemctl", "start", "runctl-"+name+".service")
	t.Cleanup(func() { sbOf(t).Command(context.Background(), "rm", "-f", flag).Run() })
	inside(t, "touch", flag)
	waitFor(t, func() bool {
		got, ok := lsRunNamed(t, name)
		return ok && got.LastExit == "exit status 0"
	}, "last_exit of the instance systemctl started")
}

// checkLastExit checks what ls --json, ls and status say of how a stopped
// run ended.
func checkLastExit(t *testing.T, name, ended string) {
	t.Helper()
	if got, ok := lsRunNamed(t, name); !ok || got.State != "stopped" || got.LastExit != ended {
		t.Errorf("ls --json: %+v (listed %v), want stopped, last_exit %q", got, ok, ended)
	}
	want := "stopped (" + ended + ")"
	if strings.HasPrefix(ended, "stopped") {
		want = ended
	}
	if ls := runctl(t, "ls"); !strings.Contains(ls.stdout, want) {
		t.Errorf("ls does not say %q:\n%s", want, ls.stdout)
	}
	if st := runctl(t, "status", name); !strings.Contains(st.stdout, "Last exit: "+ended+" at ") {
		t.Errorf("status does not say how it ended (%s), and when:\n%s", ended, st.stdout)
	}
}
