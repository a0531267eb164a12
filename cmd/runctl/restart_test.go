package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// restartRecord is the --json record of restart.
type restartRecord struct {
	Name         string `json:"name"`
	Environment  string `json:"environment"`
	WasState     string `json:"was_state"`
	OldEnded     string `json:"old_ended"`
	Escalated    bool   `json:"escalated"`
	PID          int    `json:"pid"`
	InvocationID string `json:"invocation_id"`
	Steps        []struct {
		Step    string  `json:"step"`
		TookSec float64 `json:"took_sec"`
		Outcome string  `json:"outcome"`
	} `json:"steps"`
	TookSec float64 `json:"took_sec"`
}

func restartJSON(t *testing.T, args ...string) (restartRecord, result) {
	t.Helper()
	r := runctl(t, append([]string{"--json", "restart"}, args...)...)
	var rec restartRecord
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatalf("restart --json: %v\n%v", err, r)
	}
	return rec, r
}

func invocationOf(t *testing.T, name string) string {
	t.Helper()
	return prop(t, "runctl-"+name+".service", "InvocationID")
}

func TestRestartSteps(t *testing.T) {
	shared(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	oldPID, oldInv := mainPID(t, name), invocationOf(t, name)
	rec, r := restartJSON(t, settle, name)
	if r.code != 0 {
		t.Fatal(r)
	}
	if len(rec.Steps) != 3 || rec.Steps[0].Step != "stop" || rec.Steps[1].Step != "start" || rec.Steps[2].Step != "settle" {
		t.Fatalf("steps %+v, want stop, start, settle", rec.Steps)
	}
	if rec.WasState != "active" || rec.OldEnded != "killed by SIGTERM" || rec.Escalated || rec.Environment != "replayed" {
		t.Fatalf("record %+v: want the old instance active, ended by SIGTERM, environment replayed", rec)
	}
	newPID, newInv := mainPID(t, name), invocationOf(t, name)
	if rec.PID != newPID || newPID == oldPID || rec.InvocationID != newInv || newInv == oldInv {
		t.Fatalf("record pid %d inv %s; systemd says pid %d inv %s; before pid %d inv %s", rec.PID, rec.InvocationID, newPID, newInv, oldPID, oldInv)
	}
	// The human form names each step with its duration.
	r = runctl(t, "restart", name)
	if r.code != 0 || !strings.Contains(r.stdout, "stop ") || !strings.Contains(r.stdout, "start ") || !strings.Contains(r.stdout, "restarted "+name) {
		t.Fatalf("restart: %v", r)
	}
}

func TestRestartEscalatesAndForce(t *testing.T) {
	shared(t)
	name := runName(t)
	runIgnoringTERM(t, name)
	rec, r := restartJSON(t, "--timeout", "500ms", name)
	if r.code != 0 || !rec.Escalated || rec.OldEnded != "killed by SIGKILL" || rec.Steps[0].TookSec < 0.5 {
		t.Fatalf("restart --timeout 500ms of a SIGTERM-ignorer: %+v\n%v", rec, r)
	}
	rec, r = restartJSON(t, "--force", name)
	if r.code != 0 || rec.OldEnded != "killed by SIGKILL" || rec.Steps[0].TookSec > 1 {
		t.Fatalf("restart --force: %+v\n%v", rec, r)
	}
	if mainPID(t, name) != rec.PID {
		t.Fatal("the new instance is not the unit's main process")
	}
}

// The old instance takes 2 s to shut down and holds a lock meanwhile; the
// new one exits if it cannot take the lock at once, so a restart that
// started it early would fail. Its shutdown sleep ignores SIGTERM: systemd
// signals the processes of the cgroup until no new one appears, and a
// sleep forked by the trap early enough would get it too.
func TestRestartWaitsForCleanShutdown(t *testing.T) {
	shared(t)
	name := runName(t)
	script := fmt.Sprintf(`trap "trap '' TERM; sleep 2; exit 0" TERM; exec 9>/run/lock-%s; flock -n 9 || { echo LOCK-BUSY; exit 1; }; echo got-lock; while :; do sleep 0.05; done`, name)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sh", "-c", script); r.code != 0 {
		t.Fatal(r)
	}
	waitFor(t, func() bool { return strings.Contains(inside(t, "journalctl", "-t", name, "-o", "cat"), "got-lock") }, "the lock to be taken")
	rec, r := restartJSON(t, name)
	if r.code != 0 || rec.OldEnded != "exit status 0" || rec.Steps[0].TookSec < 2 {
		t.Fatalf("restart: %+v\n%v", rec, r)
	}
	time.Sleep(200 * time.Millisecond)
	logs := inside(t, "journalctl", "--no-pager", "-o", "cat", "-t", name)
	if strings.Contains(logs, "LOCK-BUSY") || strings.Count(logs, "got-lock") != 2 {
		t.Fatalf("the new instance started before the old one was gone:\n%s", logs)
	}
	if mainPID(t, name) != rec.PID {
		t.Fatal("the new instance is not running")
	}
}

func TestRestartRefusesMissingExecutable(t *testing.T) {
	shared(t)
	name := runName(t)
	bin := "/opt/" + name + "/robotd"
	inside(t, "sh", "-c", "mkdir -p /opt/"+name+" && cp /bin/sleep "+bin)
	if r := runctl(t, "run", "-d", "-n", name, "--", bin, "1000"); r.code != 0 {
		t.Fatal(r)
	}
	pid := mainPID(t, name)
	inside(t, "rm", bin)
	r := runctl(t, "restart", name)
	if r.code == 0 || !strings.Contains(r.stderr, bin+" is gone") || !strings.Contains(r.stderr, "left alone") {
		t.Fatalf("restart with the executable deleted: %v", r)
	}
	if mainPID(t, name) != pid {
		t.Fatal("the running instance was touched")
	}
	inside(t, "rm", "-r", "/opt/"+name)
	if r := runctl(t, "restart", name); r.code == 0 || !strings.Contains(r.stderr, "gone") {
		t.Fatalf("restart with the directory deleted: %v", r)
	}
}

// runctl SIGKILLed at each point of a restart leaves a state from which the
// next command brings the run back.
func TestRestartRecoversFromCrash(t *testing.T) {
	shared(t)
	for _, point := range []string{"after-spec", "stop-enqueued", "after-stop", "start-enqueued"} {
		t.Run(point, func(t *testing.T) {
			name := runName(t)
			if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "1000"); r.code != 0 {
				t.Fatal(r)
			}
			cmd := runctlCmd(t, "/", "restart", name)
			cmd.Env = append(cmd.Env, "RUNCTL_CRASH_AT="+point)
			if r := finish(t, cmd); r.code != 137 {
				t.Fatalf("runctl was not killed at %s: %v", point, r)
			}
			if lsLine(t, name) == "" {
				t.Fatalf("ls after the crash does not list the run %s", name)
			}
			// restart finishes the job whatever the state; start when stopped.
			verb := "restart"
			if point == "after-stop" {
				verb = "start"
			}
			if r := runctl(t, verb, name); r.code != 0 {
				t.Fatalf("%s after a crash at %s: %v", verb, point, r)
			}
			pid := mainPID(t, name)
			cmdline, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/cmdline", pid)))
			if got := nulSplit(cmdline); !equal(got, []string{"sleep", "1000"}) {
				t.Fatalf("after recovery the run is %q", got)
			}
			if n := countProcs(t, "sleep", "1000", name); n != 1 {
				t.Fatalf("%d instances after recovery, want 1", n)
			}
			// The crashed stop's hold on the exit recorder is gone.
			if m := strings.TrimSpace(inside(t, "sh", "-c", "ls /run/runctl/*/"+name+".stopping 2>/dev/null || true")); m != "" {
				t.Fatalf("after recovery the recorder is still held off: %s", m)
			}
		})
	}
}

// countProcs counts the processes with argv in the run's cgroup.
func countProcs(t *testing.T, argv0, argv1, name string) int {
	t.Helper()
	n := 0
	pids := strings.Fields(inside(t, "sh", "-c", "cat /sys/fs/cgroup/unified/system.slice/runctl-"+name+".service/cgroup.procs 2>/dev/null || true"))
	for _, p := range pids {
		b, _ := os.ReadFile(sbOf(t).Path("/proc/" + p + "/cmdline"))
		if a := nulSplit(b); len(a) == 2 && a[0] == argv0 && a[1] == argv1 {
			n++
		}
	}
	return n
}

func TestParallelRestarts(t *testing.T) {
	alone(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	for _, r := range restartsAtOnce(t, name, 20) {
		if r.code != 0 {
			t.Errorf("a concurrent restart failed: %v", r)
		}
		if strings.Contains(r.stderr, "UnitExists") || strings.Contains(r.stderr, "already exists") {
			t.Errorf("UnitExists reached the user: %v", r)
		}
	}
	if n := countProcs(t, "sleep", "1000", name); n != 1 {
		t.Fatalf("%d instances after 20 parallel restarts, want 1", n)
	}
	// No orphan outside the unit either.
	all := 0
	procs := strings.Fields(inside(t, "sh", "-c", "ls /proc | grep -E '^[0-9]+$'"))
	for _, p := range procs {
		b, _ := os.ReadFile(sbOf(t).Path("/proc/" + p + "/cmdline"))
		if a := nulSplit(b); len(a) == 2 && a[0] == "sleep" && a[1] == "1000" {
			all++
		}
	}
	if all != 1 {
		t.Fatalf("%d sleep 1000 processes in the sandbox, want 1", all)
	}
	var runs []struct {
		Name    string   `json:"name"`
		Command []string `json:"command"`
		State   string   `json:"state"`
	}
	json.Unmarshal([]byte(runctl(t, "ls", "--json").stdout), &runs)
	for _, r := range runs {
		if r.Name == name && (r.State != "active" || !equal(r.Command, []string{"sleep", "1000"})) {
			t.Fatalf("after the restarts: %+v", r)
		}
	}
}

func TestRestartKeepsArgvDirEnvironment(t *testing.T) {
	shared(t)
	name := runName(t)
	cmd := runctlCmd(t, "/usr/lib", "run", "-d", "-n", name, "-E", "X=$y %n", "--", "sh", "-c", "sleep 1000; :", "a b", "", "$HOME")
	cmd.Env = append(cmd.Env, "ROBOT=go2\nline")
	if r := finish(t, cmd); r.code != 0 {
		t.Fatal(r)
	}
	before := procView(t, mainPID(t, name))
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatal(r)
	}
	after := procView(t, mainPID(t, name))
	if before != after {
		t.Fatalf("the run changed across restart:\nbefore %s\nafter  %s", before, after)
	}
	if !strings.Contains(after, `ROBOT=go2\nline`) || !strings.Contains(after, "X=$y %n") || !strings.Contains(after, "/usr/lib") {
		t.Fatalf("the run lacks what it was started with: %s", after)
	}
	// --update-env replaces the environment with the caller's current one.
	cmd = runctlCmd(t, "/", "restart", "--update-env", name)
	cmd.Env = append(cmd.Env, "ROBOT=g1")
	if r := finish(t, cmd); r.code != 0 || !strings.Contains(r.stdout, "environment updated") {
		t.Fatal(r)
	}
	if v := procView(t, mainPID(t, name)); !strings.Contains(v, "ROBOT=g1") || strings.Contains(v, "X=$y") {
		t.Fatalf("after --update-env: %s", v)
	}
}

// procView is a process's argv, cwd and environment, less what systemd sets
// anew for each invocation.
func procView(t *testing.T, pid int) string {
	t.Helper()
	cmdline, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/cmdline", pid)))
	cwd, _ := os.Readlink(sbOf(t).Path(fmt.Sprintf("/proc/%d/cwd", pid)))
	environ, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/environ", pid)))
	var env []string
	for _, kv := range nulSplit(environ) {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "INVOCATION_ID", "JOURNAL_STREAM", "SYSTEMD_EXEC_PID":
			continue
		}
		env = append(env, kv)
	}
	sort.Strings(env)
	return fmt.Sprintf("argv=%q cwd=%q env=%q", nulSplit(cmdline), cwd, env)
}

func TestCrashLoopStopsAtLimit(t *testing.T) {
	shared(t)
	name := runName(t)
	r := runctl(t, "run", "-d", settle, "-n", name, "--restart=always", "--restart-delay=20ms", "--max-restarts=3", "--within=30s", "--", "sh", "-c", "echo crash; sleep 0.05; exit 1")
	if r.code != 1 || !strings.Contains(r.stderr, "systemd restarts it") {
		t.Fatalf("run -d: %v, want exit 1: it died in the settle window", r)
	}
	type lsRun struct {
		Name     string `json:"name"`
		State    string `json:"state"`
		Restarts int    `json:"restarts"`
		LimitHit bool   `json:"restart_limit_hit"`
	}
	find := func() lsRun {
		var runs []lsRun
		json.Unmarshal([]byte(runctl(t, "ls", "--json").stdout), &runs)
		for _, r := range runs {
			if r.Name == name {
				return r
			}
		}
		return lsRun{}
	}
	waitFor(t, func() bool { return find().State == "failed" }, "the crash loop to give up")
	got := find()
	if !got.LimitHit {
		t.Fatalf("ls does not mark the limit: %+v", got)
	}
	if l := lsLine(t, name); !strings.Contains(l, "gave up restarting") {
		t.Fatalf("ls text does not mark the limit: %q", l)
	}
	logs := inside(t, "journalctl", "--no-pager", "-o", "cat", "-t", name)
	if n := strings.Count(logs, "crash\n"); n != 4 {
		t.Fatalf("the program ran %d times, want 4 (1 start + 3 restarts):\n%s", n, logs)
	}
	// A manual restart resets the limit: it crash-loops again from zero.
	if r := runctl(t, "restart", settle, name); r.code != 1 || !strings.Contains(r.stderr, name+" exited") {
		t.Fatal(r)
	}
	waitFor(t, func() bool { return find().State == "failed" }, "the second crash loop to give up")
	logs = inside(t, "journalctl", "--no-pager", "-o", "cat", "-t", name)
	if n := strings.Count(logs, "crash\n"); n != 8 {
		t.Fatalf("after a manual restart the program ran %d times in all, want 8", n)
	}
}

func TestStartStoppedAndRm(t *testing.T) {
	shared(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	if r := runctl(t, "stop", name); r.code != 0 {
		t.Fatal(r)
	}
	if l := lsLine(t, name); !strings.Contains(l, "stopped") {
		t.Fatalf("ls does not list the stopped run: %q", l)
	}
	if r := runctl(t, "start", name); r.code != 0 || !strings.Contains(r.stdout, "started "+name) {
		t.Fatal(r)
	}
	if r := runctl(t, "start", name); r.code != 0 || !strings.Contains(r.stdout, "already running") {
		t.Fatalf("start of a running run: %v", r)
	}
	if r := runctl(t, "rm", name); r.code == 0 || !strings.Contains(r.stderr, "is running") {
		t.Fatalf("rm of a running run: %v", r)
	}
	if r := runctl(t, "rm", "--force", name); r.code != 0 {
		t.Fatal(r)
	}
	if l := lsLine(t, name); l != "" {
		t.Fatalf("the run is still listed after rm: %q", l)
	}
	if u := unitLeft(t, name); u != "" {
		t.Fatalf("unit left after rm --force:\n%s", u)
	}
	if r := runctl(t, "start", name); r.code == 0 || !strings.Contains(r.stderr, "knows no run") {
		t.Fatalf("start of a forgotten run: %v", r)
	}
}

func TestRunReplace(t *testing.T) {
	shared(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	r := runctl(t, "run", "-d", "--replace", "-n", name, "--", "sleep", "2000")
	if r.code != 0 || !strings.Contains(r.stdout, "replaced") {
		t.Fatal(r)
	}
	if n := countProcs(t, "sleep", "2000", name) + countProcs(t, "sleep", "1000", name); n != 1 || countProcs(t, "sleep", "2000", name) != 1 {
		t.Fatalf("after --replace: %d processes", n)
	}
	// The new command line is what restart replays.
	if r := runctl(t, "restart", name); r.code != 0 || countProcs(t, "sleep", "2000", name) != 1 {
		t.Fatalf("restart after replace: %v", r)
	}
}

// restartsAtOnce runs n `runctl restart name` at the same time.
func restartsAtOnce(t *testing.T, name string, n int) []result {
	t.Helper()
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := range results {
		wg.Go(func() { results[i] = runctl(t, "restart", name) })
	}
	wg.Wait()
	return results
}
