package main

// CLI tests: the built runctl binary, run inside the sandbox's systemd as a
// user types it; stdout, stderr and the exit code are checked.
//
// Every test runs in parallel with the others. One whose effects stay
// within its own runs calls shared(t) and works on the package's sandbox
// (sb) beside a few others. One that reaches beyond them (see alone) runs
// by itself on a sandbox of a pool, lent for its duration: sbOf(t) is the
// sandbox a test works in. Tests that boot sandboxes of their own (the
// reboot tests) call shared(t) too.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/runctl/runctl/cli/clitest"
	"github.com/runctl/runctl/runs"
	"github.com/runctl/runctl/sandbox"
)

var (
	// sb is the sandbox the tests share; the pool's are lent to the tests
	// that need a manager to themselves (alone).
	sb     *sandbox.Sandbox
	pool   = sandbox.NewPool(poolSize(), sandbox.Options{})
	binDir string
)

// poolSize is how many managers the tests that need one to themselves
// use at once (RUNCTL_TEST_POOL, default 2).
func poolSize() int { return envInt("RUNCTL_TEST_POOL", 2) }

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// alone runs t in parallel with the others, but by itself on a manager of
// its own: for a test that reloads or reexecs it, changes journald or D-Bus
// settings, counts PID 1's calls, sets up users or polkit, takes every run
// (stop or logs without NAME, the list of all units, failed units, files),
// or holds a timing bound a busy machine breaks.
func alone(t *testing.T) {
	t.Helper()
	sandbox.Need(t, sb)
	pool.Alone(t)
}

// shared runs t in parallel with the others on the shared sandbox, at
// most sharedAtOnce() of them at a time.
func shared(t *testing.T) {
	t.Helper()
	t.Parallel()
	sharedSlots <- struct{}{}
	t.Cleanup(func() { <-sharedSlots })
}

// sharedSlots bounds the tests that work on the shared sandbox at once
// (RUNCTL_TEST_SHARED, default 3). go test's -parallel cannot: a test
// waiting for a sandbox of the pool holds one of its slots, so the pool's
// queue would starve the shared sandbox. TestMain lifts -parallel instead.
var sharedSlots = make(chan struct{}, envInt("RUNCTL_TEST_SHARED", 3))

// aloneLong is alone for the few tests that take far longer than the
// others: they are lent a sandbox first.
func aloneLong(t *testing.T) {
	t.Helper()
	sandbox.Need(t, sb)
	pool.AloneLong(t)
}

// sbOf is the sandbox test t works in: its own if alone, else the shared one.
func sbOf(t testing.TB) *sandbox.Sandbox { return pool.Of(t, sb) }

func TestMain(m *testing.M) {
	// The pool and sharedSlots bound how many tests run at once.
	flag.Parse()
	flag.Set("test.parallel", "1000")
	os.Exit(func() int {
		// The binary must be where the sandbox sees it: not under /tmp.
		// Folders of earlier runs that were killed before their cleanup go.
		for _, pattern := range []string{"bin-*", "reboot-*"} {
			old, _ := filepath.Glob(filepath.Join(sandbox.StateRoot(), pattern))
			for _, d := range old {
				if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > time.Hour {
					os.RemoveAll(d)
				}
			}
		}
		dir, err := os.MkdirTemp(mkdirAll(sandbox.StateRoot()), "bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		// -tags faults: the crash points RUNCTL_CRASH_AT names (faults_test.go).
		build := exec.Command("go", "build", "-tags", "faults", "-o", dir+"/runctl", ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0") // as make build does
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "cannot build runctl: %v\n%s", err, out)
			return 1
		}
		binDir = dir
		defer pool.Close()
		return sandbox.RunTests(m, &sb, sandbox.Options{})
	}())
}

func mkdirAll(d string) string { os.MkdirAll(d, 0o755); return d }

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// commandTimeout bounds every command the harness runs: a hung runctl or
// systemctl fails its test instead of hanging the whole run until its
// timeout.
const commandTimeout = 2 * time.Minute

// settle asks for the default settle window: the tests about what it
// catches give it, the others run with --settle=0 (see runctlCmd).
var settle = "--settle=" + runs.DefaultSettle.String()

// runctlCmd prepares `runctl args...` inside the sandbox, in dir. A run,
// start or restart gets --settle=0 unless args give --settle: only the
// tests about the settle window wait it (clitest.NoSettle).
func runctlCmd(t *testing.T, dir string, args ...string) *exec.Cmd {
	t.Helper()
	sandbox.Need(t, sbOf(t))
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	t.Cleanup(cancel)
	cmd := sbOf(t).CommandIn(ctx, dir, binDir+"/runctl", clitest.NoSettle(args)...)
	cmd.Env = append(os.Environ(), "PATH="+binDir+":/usr/sbin:/usr/bin:/sbin:/bin", "RUNCTL_TEST_MARK=1")
	return cmd
}

// bounded is a context for one command of test t: done at commandTimeout,
// or when the test ends.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	t.Cleanup(cancel)
	return ctx
}

// runctl runs runctl to completion in /.
func runctl(t *testing.T, args ...string) result {
	t.Helper()
	return finish(t, runctlCmd(t, "/", args...))
}

func finish(t *testing.T, cmd *exec.Cmd) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := clitest.ExitCode(err)
	if code < 0 {
		t.Fatalf("cannot run runctl: %v", err)
	}
	return result{out.String(), errb.String(), code}
}

// inside runs a command in the sandbox and returns its output.
func inside(t *testing.T, name string, args ...string) string {
	t.Helper()
	sandbox.Need(t, sbOf(t))
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	out, err := sbOf(t).Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return string(out)
}

var (
	seq atomic.Int32
	// named holds each test's run names until its cleanup.
	named   = map[*testing.T][]string{}
	namedMu sync.Mutex
)

// runName is unique per test; the test's cleanup kills, stops and resets
// the units of all its runs.
func runName(t *testing.T) string {
	t.Helper()
	sandbox.Need(t, sbOf(t))
	name := fmt.Sprintf("t%d", seq.Add(1))
	namedMu.Lock()
	defer namedMu.Unlock()
	if _, ok := named[t]; !ok {
		t.Cleanup(func() {
			namedMu.Lock()
			var units []string
			for _, n := range named[t] {
				units = append(units, "runctl-"+n+".service")
			}
			delete(named, t)
			namedMu.Unlock()
			endUnits(t, units)
		})
	}
	named[t] = append(named[t], name)
	return name
}

// mainPID reads a running unit's main pid (inside the sandbox's pid space).
func mainPID(t *testing.T, name string) int {
	t.Helper()
	pid, _ := strconv.Atoi(prop(t, "runctl-"+name+".service", "MainPID"))
	if pid == 0 {
		t.Fatalf("runctl-%s.service has no main pid", name)
	}
	return pid
}

// nulSplit splits /proc/PID/cmdline or environ.
func nulSplit(b []byte) []string {
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// runctlUnits lists the loaded units of the named runs, or of all runs.
func runctlUnits(t *testing.T, names ...string) string {
	t.Helper()
	patterns := []string{"runctl-*"}
	if len(names) > 0 {
		patterns = nil
		for _, n := range names {
			patterns = append(patterns, "runctl-"+n+".service")
		}
	}
	return listUnits(t, patterns...)
}

// unitLeft is the unit of run name while it is still loaded, for up to
// 5 s; "" once it is not. A stopped unit stays loaded
// until PID 1 has run its recorder's (skipped) job, as `systemctl stop`
// leaves it too; it must not stay longer.
func unitLeft(t *testing.T, name string) string {
	t.Helper()
	var u string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if u = runctlUnits(t, name); u == "" || time.Now().After(deadline) {
			return u
		}
	}
}

var hostile = []string{
	"a b", `"dq"`, "'sq'", "$HOME", "${PATH}", "%n", "%%", ";", "a;b", `back\slash`, `\n`, "trailing\\",
	"ünïcødé ✓", "", "  ", "new\nline", "tab\there", "*", "$(id)", "`id`", "-x", "--", "=",
}

func TestRunDaemonArgvExact(t *testing.T) {
	alone(t)
	name := runName(t)
	script := "sleep 1000; :"
	args := append([]string{"run", "-d", "-n", name, "--", "sh", "-c", script, "argv0"}, hostile...)
	r := runctl(t, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "started "+name) || !strings.Contains(r.stdout, "runctl stop "+name) {
		t.Fatalf("run -d: %v", r)
	}
	want := append([]string{"sh", "-c", script, "argv0"}, hostile...)
	pid := mainPID(t, name)
	if !strings.Contains(r.stdout, "pid "+strconv.Itoa(pid)) {
		t.Errorf("run -d output does not name main pid %d:\n%s", pid, r.stdout)
	}
	cmdline, err := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/cmdline", pid)))
	if err != nil {
		t.Fatal(err)
	}
	if got := nulSplit(cmdline); !equal(got, want) {
		t.Fatalf("the program sees argv\n%q\nwant\n%q", got, want)
	}
	// systemd's own record of ExecStart holds the same argv, unexpanded.
	show := inside(t, "systemctl", "show", "-p", "ExecStart", "runctl-"+name+".service")
	if !strings.Contains(show, "path=/usr/bin/sh") && !strings.Contains(show, "path=/bin/sh") {
		t.Errorf("ExecStart path is not the resolved absolute sh:\n%s", show)
	}
	// $ is sent doubled ($$ is the manager's escape for a literal $, see
	// units.Properties); everything else verbatim.
	for _, a := range []string{"$$HOME", "$${PATH}", "%n", "ünïcødé ✓", "a b"} {
		if !strings.Contains(show, a) {
			t.Errorf("systemctl show ExecStart lacks %q:\n%s", a, show)
		}
	}
	if st := inside(t, "systemctl", "status", "--no-pager", "runctl-"+name); !strings.Contains(st, "active (running)") {
		t.Errorf("systemctl status:\n%s", st)
	}
	// A daemon-reload (apt runs them) re-reads the transient unit from
	// /run/systemd/transient: it stays loaded. reload_test.go checks every
	// way of starting it again afterwards.
	inside(t, "systemctl", "daemon-reload")
	if ls := prop(t, "runctl-"+name+".service", "LoadState"); ls != "loaded" {
		t.Fatalf("after daemon-reload the unit is %s", ls)
	}
	// From then on the manager has it from runctl's drop-in
	// (units.RenderDropIn), which shows the command as typed.
	show = inside(t, "systemctl", "show", "-p", "ExecStart", "runctl-"+name+".service")
	for _, a := range []string{" $HOME ${PATH} ", "%n", "ünïcødé ✓", "a b"} {
		if !strings.Contains(show, a) {
			t.Errorf("after daemon-reload systemctl show ExecStart lacks %q:\n%s", a, show)
		}
	}
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatal(r)
	}
	cmdline, _ = os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/cmdline", mainPID(t, name))))
	if got := nulSplit(cmdline); !equal(got, want) {
		t.Fatalf("after daemon-reload and runctl restart the program sees argv\n%q\nwant\n%q", got, want)
	}
}

func TestRunCapturesDirAndEnvironmentPrivately(t *testing.T) {
	shared(t)
	name := runName(t)
	cmd := runctlCmd(t, "/usr/share", "run", "-d", "-n", name, "-E", "FROM_FLAG=f$x", "--", "sh", "-c", "sleep 1000; :")
	secret := "s3cr3t \"$quoted\" \\ `tick`\nline2 %n"
	cmd.Env = append(cmd.Env, "ROBOT_SECRET="+secret, "SHLVL=3", "OLDPWD=/old")
	if r := finish(t, cmd); r.code != 0 {
		t.Fatalf("run -d: %v", r)
	}
	pid := mainPID(t, name)
	cwd, err := os.Readlink(sbOf(t).Path(fmt.Sprintf("/proc/%d/cwd", pid)))
	if err != nil || !strings.HasSuffix(cwd, "/usr/share") {
		t.Fatalf("cwd of the run = %q (%v), want /usr/share", cwd, err)
	}
	environ, err := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/environ", pid)))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range nulSplit(environ) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, want := range map[string]string{"ROBOT_SECRET": secret, "FROM_FLAG": "f$x", "RUNCTL_TEST_MARK": "1", "PWD": "/usr/share"} {
		if env[k] != want {
			t.Errorf("the run's %s = %q, want %q", k, env[k], want)
		}
	}
	for _, k := range []string{"SHLVL", "OLDPWD"} {
		if _, ok := env[k]; ok {
			t.Errorf("shell bookkeeping %s was passed to the run", k)
		}
	}
	if env["INVOCATION_ID"] == "" {
		t.Errorf("systemd's own INVOCATION_ID is missing from the run's environment")
	}
	// The values are not published: not in D-Bus properties, not in the
	// transient unit file.
	show := inside(t, "systemctl", "show", "runctl-"+name+".service")
	unitFile := inside(t, "cat", "/run/systemd/transient/runctl-"+name+".service")
	for where, text := range map[string]string{"systemctl show": show, "transient unit file": unitFile} {
		if strings.Contains(text, "s3cr3t") {
			t.Errorf("the secret is readable in %s", where)
		}
	}
	files := envFiles(t, name)
	if len(files) != 1 {
		t.Fatalf("environment files of the run: %q, want one", files)
	}
	if mode := strings.TrimSpace(inside(t, "stat", "-c", "%a", files[0])); mode != "600" {
		t.Errorf("environment file mode %s, want 600", mode)
	}
}

func TestRunForegroundStreamsAndMirrorsExit(t *testing.T) {
	shared(t)
	name := runName(t)
	r := runctl(t, "run", "-n", name, "--", "sh", "-c", "echo out-line; echo err-line >&2; exit 7")
	if r.code != 7 {
		t.Fatalf("exit code %d, want the program's 7\n%v", r.code, r)
	}
	both := r.stdout + r.stderr
	if !strings.Contains(both, "out-line") || !strings.Contains(both, "err-line") {
		t.Fatalf("output not streamed:\n%v", r)
	}
	// The output is kept in the journal too.
	j := inside(t, "journalctl", "--no-pager", "-o", "cat", "-u", "runctl-"+name+".service")
	if !strings.Contains(j, "out-line") || !strings.Contains(j, "err-line") {
		t.Fatalf("journalctl -u lacks the output:\n%s", j)
	}
	if u := unitLeft(t, name); u != "" {
		t.Fatalf("the failed run was left loaded:\n%s", u)
	}
	if r := runctl(t, "run", "--replace", "-n", name, "--", "true"); r.code != 0 {
		t.Fatalf("true: %v", r)
	}
	if r := runctl(t, "run", "--replace", "-n", name, "--", "sh", "-c", "kill -KILL $$"); r.code != 128+9 {
		t.Fatalf("killed by SIGKILL: exit %d, want 137\n%v", r.code, r)
	}
}

// fgStart starts an attached run and waits until it printed ready.
func fgStart(t *testing.T, name, script string) (*exec.Cmd, *lockedBuffer, *lockedBuffer) {
	t.Helper()
	cmd := runctlCmd(t, "/", "run", "-n", name, "--", "sh", "-c", script)
	var out, errb lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "ready") {
		if time.Now().After(deadline) {
			t.Fatalf("the attached run never printed ready; stdout %q stderr %q", out.String(), errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cmd, &out, &errb
}

func TestRunForegroundCtrlC(t *testing.T) {
	shared(t)
	name := runName(t)
	cmd, _, errb := fgStart(t, name, `trap "echo got-int; exit 0" INT; echo ready; while :; do sleep 0.05; done`)
	pid := sandbox.ChildPID(cmd.Process.Pid)
	syscall.Kill(pid, syscall.SIGINT)
	err := cmd.Wait()
	if err != nil {
		t.Fatalf("after Ctrl-C: %v (the program exited 0 on SIGINT)\nstderr %s", err, errb)
	}
	if !strings.Contains(errb.String(), "interrupting "+name) {
		t.Errorf("no word that the run is being interrupted:\n%s", errb)
	}
	if u := unitLeft(t, name); u != "" {
		t.Fatalf("unit left after Ctrl-C:\n%s", u)
	}
}

func TestRunForegroundSecondCtrlCKills(t *testing.T) {
	shared(t)
	name := runName(t)
	cmd, _, errb := fgStart(t, name, `trap "" INT TERM; echo ready; while :; do sleep 0.05; done`)
	pid := sandbox.ChildPID(cmd.Process.Pid)
	syscall.Kill(pid, syscall.SIGINT)
	time.Sleep(200 * time.Millisecond)
	syscall.Kill(pid, syscall.SIGINT)
	err := cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 128+9 {
		t.Fatalf("after two Ctrl-C: %v, want exit 137 (killed by SIGKILL)\nstderr %s", err, errb)
	}
	if u := unitLeft(t, name); u != "" {
		t.Fatalf("unit left after the kill:\n%s", u)
	}
}

func TestRunRefusesActiveName(t *testing.T) {
	shared(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	pid := mainPID(t, name)
	r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "1000")
	if r.code == 0 || !strings.Contains(r.stderr, "already running") || !strings.Contains(r.stderr, "runctl stop "+name) {
		t.Fatalf("second run of an active name: %v", r)
	}
	if mainPID(t, name) != pid {
		t.Fatal("the running instance was replaced")
	}
}

func TestStopLeavesNoProcess(t *testing.T) {
	shared(t)
	name := runName(t)
	// A child, a double-forked daemon and a setsid'd child, each tagged
	// with a number of this test's own (the sandbox is shared).
	tag := strconv.Itoa(10010000 + 10*int(seq.Add(1)))
	script := `sleep ${0}1 & (sleep ${0}2 &) ; setsid sleep ${0}3 & echo ready; while :; do sleep 0.05; done`
	if r := runctl(t, "run", "-d", "-n", name, "--", "sh", "-c", script, tag); r.code != 0 {
		t.Fatal(r)
	}
	tagged := func() []string { return tagged(t, tag) }
	waitFor(t, func() bool { return len(tagged()) == 3 }, "the three children to start")
	r := runctl(t, "stop", name)
	if r.code != 0 || !strings.Contains(r.stdout, "stopped "+name) {
		t.Fatalf("stop: %v", r)
	}
	if left := tagged(); len(left) != 0 {
		t.Fatalf("processes survived the stop: %v", left)
	}
	if u := unitLeft(t, name); u != "" {
		t.Fatalf("unit left after stop:\n%s", u)
	}
}

// tagged lists the sandbox's processes running sleep TAG1..TAG3.
func tagged(t *testing.T, tag string) []string {
	t.Helper()
	var found []string
	procs, _ := filepath.Glob(sbOf(t).Path("/proc/[0-9]*/cmdline"))
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		args := nulSplit(b)
		if len(args) == 2 && args[0] == "sleep" && len(args[1]) == len(tag)+1 && strings.HasPrefix(args[1], tag) {
			found = append(found, p)
		}
	}
	return found
}

// ignoreTERM is a program that ignores SIGTERM and says so once it does.
const ignoreTERM = `trap "" TERM; echo ignoring-term; while :; do sleep 0.05; done`

// runIgnoringTERM starts ignoreTERM as run name and waits until its trap is
// set: the start job is done at exec, the trap comes a moment later.
func runIgnoringTERM(t *testing.T, name string) {
	t.Helper()
	if r := runctl(t, "run", "-d", "-n", name, "--", "sh", "-c", ignoreTERM); r.code != 0 {
		t.Fatal(r)
	}
	waitFor(t, func() bool {
		return strings.Contains(inside(t, "journalctl", "-t", name, "-o", "cat", "--since=-1min"), "ignoring-term")
	}, "the trap")
}

// lsLine is the line of runctl ls that lists run name ("" if none), so
// that a test on the shared sandbox reads its own run only.
func lsLine(t *testing.T, name string) string {
	t.Helper()
	for _, l := range strings.Split(runctl(t, "ls").stdout, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return l
		}
	}
	return ""
}

// waitFor polls cond, backing off to 200 ms: each poll starts a process
// or two, and the suite is CPU-bound.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for wait := 10 * time.Millisecond; !cond(); wait = min(wait*3/2, 200*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(wait)
	}
}

func TestStopEscalatesAndForce(t *testing.T) {
	alone(t)
	name := runName(t)
	runIgnoringTERM(t, name)
	begin := time.Now()
	r := runctl(t, "stop", "--timeout", "500ms", name)
	took := time.Since(begin)
	if r.code != 0 || !strings.Contains(r.stdout, "killed by SIGKILL") || !strings.Contains(r.stdout, "escalated") {
		t.Fatalf("stop --timeout 500ms of a SIGTERM-ignoring program: %v", r)
	}
	if took < 500*time.Millisecond || took > 30*time.Second { // well short of the default 90 s
		t.Errorf("stop took %v, want about the 500ms timeout", took)
	}
	runIgnoringTERM(t, name)
	r = runctl(t, "--json", "stop", "--force", name)
	var res struct {
		Ended     string  `json:"ended"`
		Escalated bool    `json:"escalated"`
		TookSec   float64 `json:"took_sec"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 0 {
		t.Fatalf("stop --force --json: %v (%v)", r, err)
	}
	if res.Ended != "killed by SIGKILL" || res.TookSec > 1 {
		t.Fatalf("stop --force: %+v, want killed by SIGKILL at once", res)
	}
	if u := unitLeft(t, name); u != "" {
		t.Fatalf("killed unit left loaded (failed units must not pile up):\n%s", u)
	}
}

func TestLs(t *testing.T) {
	shared(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	pid := mainPID(t, name)
	if r := runctl(t, "ls"); r.code != 0 || !strings.HasPrefix(r.stdout, "NAME ") {
		t.Fatalf("ls: %v", r)
	}
	if l := lsLine(t, name); !strings.Contains(l, " "+strconv.Itoa(pid)+" ") {
		t.Fatalf("ls line of %s: %q, want its pid %d", name, l, pid)
	}
	r := runctl(t, "ls", "--json")
	var runs []struct {
		Name    string   `json:"name"`
		State   string   `json:"state"`
		PID     int      `json:"pid"`
		Command []string `json:"command"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		t.Fatalf("ls --json: %v\n%v", err, r)
	}
	found := false
	for _, x := range runs {
		if x.Name == name {
			found = true
			if x.State != "active" || x.PID != pid || !equal(x.Command, []string{"sleep", "1000"}) {
				t.Fatalf("ls --json entry %+v, want active, pid %d, sleep 1000", x, pid)
			}
		}
	}
	if !found {
		t.Fatalf("ls --json lacks %s: %s", name, r.stdout)
	}
}

func TestBadInputCreatesNothing(t *testing.T) {
	alone(t)
	sandbox.Need(t, sbOf(t))
	inside(t, "sh", "-c", "printf '#!/bin/sh\\n' > /tmp/not-exec; chmod 644 /tmp/not-exec")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"run", "-d", "--", "no-such-command-xyz"}, `cannot run "no-such-command-xyz": not found in PATH`},
		{"not executable", []string{"run", "-d", "--", "/tmp/not-exec"}, "not executable"},
		{"directory", []string{"run", "-d", "--", "/usr"}, "directory"},
		{"empty command", []string{"run", "-d", "--"}, "no command given"},
		{"empty argv0", []string{"run", "-d", "--", ""}, "no command given"},
		{"invalid name", []string{"run", "-d", "-n", "bad/name", "--", "true"}, "invalid run name"},
		{"dot-dot name", []string{"run", "-d", "-n", "..", "--", "true"}, "invalid run name"},
		{"long name", []string{"run", "-d", "-n", strings.Repeat("x", 65), "--", "true"}, "invalid run name"},
		{"missing dir", []string{"run", "-d", "--dir", "/no/such/dir", "--", "true"}, "invalid --dir"},
		{"dir is a file", []string{"run", "-d", "--dir", "/etc/hostname", "--", "true"}, "not a directory"},
		{"invalid env", []string{"run", "-d", "-E", "1BAD=x", "--", "true"}, "invalid -E"},
		{"env without =", []string{"run", "-d", "-E", "NOVALUE", "--", "true"}, "invalid -E"},
		{"negative stop timeout", []string{"run", "-d", "--stop-timeout", "-1s", "--", "true"}, "--stop-timeout"},
		{"stop unknown", []string{"stop", "no-such-run"}, "knows no run named no-such-run"},
		{"stop invalid name", []string{"stop", "a/b"}, "invalid run name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Whatever a case could create, under whichever name, shows up
			// as a difference in systemd's units or in the kept specs.
			traces := func() string {
				return inside(t, "sh", "-c", "systemctl list-units --all --plain --no-legend 'runctl-*'; ls -a /var/lib/runctl/runs/ 2>/dev/null | grep -v '\\.lock$'; true")
			}
			before := traces()
			r := runctl(t, tc.args...)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code == 0 || len(lines) != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("want one line with %q and a non-zero exit; got %v", tc.want, r)
			}
			if after := traces(); after != before {
				t.Fatalf("bad input left traces:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func TestPermissionDenied(t *testing.T) {
	shared(t)
	r := runctl(t, "--version") // the binary works at all
	if r.code != 0 {
		t.Fatal(r)
	}
	cmd := sbOf(t).CommandIn(bounded(t), "/", "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", binDir+"/runctl", "--system", "run", "-d", "-n", "denied", "--", "true")
	cmd.Env = append(os.Environ(), "HOME=/nonexistent")
	r = finish(t, cmd)
	if r.code == 0 || !strings.Contains(r.stderr, "permission denied") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
		t.Fatalf("non-root run on the system manager: %v", r)
	}
	if u := runctlUnits(t, "denied"); u != "" {
		t.Fatalf("a unit was created: %s", u)
	}
}

func TestNoSystemd(t *testing.T) {
	shared(t)
	sandbox.Need(t, sbOf(t))
	// On the host itself PID 1 is not systemd; point runctl at a bus that
	// does not exist to be sure of it even where it is.
	cmd := exec.CommandContext(bounded(t), binDir+"/runctl", "--system", "run", "-d", "--", "true")
	cmd.WaitDelay = sandbox.WaitDelay
	cmd.Env = append(os.Environ(), "RUNCTL_BUS=/nonexistent/bus", "RUNCTL_STATE_DIR=/nonexistent/state")
	r := finish(t, cmd)
	if r.code == 0 || !strings.Contains(r.stderr, "systemd must be PID 1") {
		t.Fatalf("without systemd: %v", r)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// lockedBuffer is written by exec's copier while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
