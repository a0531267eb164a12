package matrix

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runctl/runctl/cli/clitest"
	"github.com/runctl/runctl/sandbox"
)

// binDir holds the runctl under test, shared with every sandbox (a root
// from debootstrap does not have the host's folders).
var binDir string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if os.Getenv(sandbox.SkipEnv) == "1" {
			fmt.Fprintf(os.Stderr, "%s=1: the version matrix will be skipped\n", sandbox.SkipEnv)
			return m.Run()
		}
		if err := sandbox.Available(); err != nil {
			fmt.Fprintf(os.Stderr, "cannot boot the systemd sandboxes the version matrix needs: %v\n", err)
			return 1
		}
		root := sandbox.StateRoot()
		os.MkdirAll(root, 0o755)
		dir, err := os.MkdirTemp(root, "bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		build := exec.Command("go", "build", "-o", dir+"/runctl", "../cmd/runctl")
		build.Env = append(os.Environ(), "CGO_ENABLED=0") // glibc-free: 247's root has an older one
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "cannot build runctl: %v\n%s", err, out)
			return 1
		}
		binDir = dir
		// The roots missing are built first, side by side: the downloads
		// overlap (on a busy 2-core machine the three took 466 s together,
		// about what they take one after the other).
		var wg sync.WaitGroup
		errs := make([]error, len(versions()))
		for i, v := range versions() {
			if v == "host" {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = sandbox.EnsureRoot(v)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

// versions are the systemd versions to run on: suite names, "host" for
// the host's own.
func versions() []string {
	if v := strings.Fields(os.Getenv("RUNCTL_MATRIX")); len(v) > 0 {
		return v
	}
	return []string{"host", "bullseye", "trixie", "sid"}
}

// wantVersion is the systemd major version a suite ships, 0 for any.
var wantVersion = map[string]int{"bullseye": 247, "bookworm": 252, "trixie": 257}

// machine is one booted version, whose disk outlives a reboot.
type machine struct {
	t     *testing.T
	suite string
	dir   string
	sb    *sandbox.Sandbox
}

func (m *machine) boot() {
	m.t.Helper()
	suite := m.suite
	if suite == "host" {
		suite = ""
	}
	begin := time.Now()
	s, err := sandbox.Boot(context.Background(), sandbox.Options{Dir: m.dir, Keep: true, Target: "multi-user.target", Suite: suite, Share: []string{binDir},
		Mask: []string{"postgresql.service", "postgresql@.service"}})
	if err != nil {
		m.t.Fatalf("boot %s: %v", m.suite, err)
	}
	m.t.Logf("%s booted in %.2fs", m.suite, time.Since(begin).Seconds())
	m.sb = s
}

// bootMachine boots suite's systemd for test t, in a folder of its own;
// both go when t ends.
func bootMachine(t *testing.T, suite string) *machine {
	t.Helper()
	dir, err := os.MkdirTemp(sandbox.StateRoot(), "machine-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	m := &machine{t: t, suite: suite, dir: dir}
	t.Cleanup(m.close)
	m.boot()
	return m
}

func (m *machine) close() {
	if m.sb != nil {
		if m.t.Failed() {
			c := m.sb.Console()
			if len(c) > 8000 {
				c = c[len(c)-8000:]
			}
			m.t.Logf("the end of %s's console:\n%s", m.suite, c)
		}
		if err := m.sb.Close(); err != nil {
			m.t.Errorf("teardown: %v", err)
		}
		m.sb = nil
	}
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runctl runs the runctl under test inside, in /, with stdin if not nil.
func (m *machine) runctlIn(stdin string, args ...string) result {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := m.sb.Command(ctx, binDir+"/runctl", args...)
	cmd.Env = append(os.Environ(), "PATH="+binDir+":/usr/sbin:/usr/bin:/sbin:/bin")
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := clitest.ExitCode(err)
	if code < 0 {
		m.t.Fatalf("cannot run runctl: %v", err)
	}
	return result{out.String(), errb.String(), code}
}

func (m *machine) runctl(args ...string) result {
	m.t.Helper()
	return m.runctlIn("", args...)
}

// ok runs runctl and fails the test unless it exits 0.
func (m *machine) ok(args ...string) result {
	m.t.Helper()
	r := m.runctl(args...)
	if r.code != 0 {
		m.t.Fatalf("runctl %q on %s: %v", args, m.suite, r)
	}
	return r
}

// inside runs a command inside and returns its output.
func (m *machine) inside(name string, args ...string) string {
	m.t.Helper()
	out, err := m.sb.Command(m.t.Context(), name, args...).CombinedOutput()
	if err != nil {
		m.t.Fatalf("%s %q on %s: %v\n%s", name, args, m.suite, err, out)
	}
	return string(out)
}

func (m *machine) show(unit, prop string) string {
	m.t.Helper()
	return strings.TrimSpace(m.inside("systemctl", "show", "-P", prop, unit))
}

// argv is what run's main process sees as its argv.
func (m *machine) argv(name string) []string {
	m.t.Helper()
	pid, _ := strconv.Atoi(m.show("runctl-"+name+".service", "MainPID"))
	if pid == 0 {
		m.t.Fatalf("runctl-%s.service has no main pid on %s", name, m.suite)
	}
	b, err := os.ReadFile(m.sb.Path(fmt.Sprintf("/proc/%d/cmdline", pid)))
	if err != nil {
		m.t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

// eventually retries f for up to 10 s, until it returns "".
func (m *machine) eventually(f func() string) {
	m.t.Helper()
	var why string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if why = f(); why == "" {
			return
		}
	}
	m.t.Fatalf("on %s: %s", m.suite, why)
}

// unloaded waits until systemd has forgotten the run's unit.
func (m *machine) unloaded(name string) {
	m.t.Helper()
	m.eventually(func() string {
		if st := m.show("runctl-"+name+".service", "LoadState"); st != "not-found" {
			return "runctl-" + name + ".service is still " + st
		}
		return ""
	})
}

var hostile = []string{"a b", `"dq"`, "'sq'", "$HOME", "${PATH}", "%n", "%%", ";", `back\slash`, "ünï ✓", "", "new\nline", "$(id)", "--"}

func TestMatrix(t *testing.T) {
	if os.Getenv(sandbox.SkipEnv) == "1" {
		t.Skipf("no systemd sandbox (%s=1)", sandbox.SkipEnv)
	}
	t.Parallel()
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			t.Parallel() // a machine each: they wait on their managers, not on the CPU
			began := time.Now()
			defer func() { t.Logf("%s: %.1fs", v, time.Since(began).Seconds()) }()
			m := bootMachine(t, v)
			checkVersion(m)
			checkMatrix(m)
		})
	}
}

// checkVersion: the sandbox runs the systemd it was asked for.
func checkVersion(m *machine) {
	m.t.Helper()
	line, _, _ := strings.Cut(m.inside("systemctl", "--version"), "\n")
	f := strings.Fields(line)
	if len(f) < 2 {
		m.t.Fatalf("systemctl --version: %q", line)
	}
	got, _ := strconv.Atoi(f[1])
	if want := wantVersion[m.suite]; want != 0 && got != want {
		m.t.Fatalf("%s runs systemd %d, want %d", m.suite, got, want)
	}
	m.t.Logf("%s: %s", m.suite, line)
}

func checkMatrix(m *machine) {
	t := m.t
	script := "sleep 1000; :"
	want := append([]string{"sh", "-c", script, "argv0"}, hostile...)
	systemdVersion, _ := strconv.Atoi(strings.Fields(m.inside("systemctl", "--version"))[1])
	old := systemdVersion < 251

	// run -d: exact argv; how the run's end is recorded depends on the version.
	m.ok(append([]string{"run", "-d", "-n", "a", "--", "sh", "-c", script, "argv0"}, hostile...)...)
	if got := m.argv("a"); strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Fatalf("the program sees argv\n%q\nwant\n%q", got, want)
	}
	checkNoReloadWarning(m, "a")
	onSuccess, stopPost := m.show("runctl-a.service", "OnSuccess"), m.show("runctl-a.service", "ExecStopPost")
	if old != (onSuccess == "") || old != strings.Contains(stopPost, "SERVICE_RESULT") {
		t.Errorf("systemd %d: OnSuccess=%q, ExecStopPost=%q", systemdVersion, onSuccess, stopPost)
	}

	// ls and status. A run of one process has its pid read from its
	// control group, where this version's layout puts it; a (sh and sleep)
	// has systemd's.
	m.ok("run", "-d", "--settle", "0", "-n", "one", "--", "sleep", "1000")
	r := m.ok("ls")
	if !strings.Contains(r.stdout, "a ") || !strings.Contains(r.stdout, "active") {
		t.Errorf("ls:\n%v", r)
	}
	for _, name := range []string{"a", "one"} {
		want := m.show("runctl-"+name+".service", "MainPID")
		var f []string
		for _, l := range strings.Split(r.stdout, "\n") {
			if w := strings.Fields(l); len(w) > 5 && w[0] == name {
				f = w // NAME STATE PID UPTIME CPU MEM ...
			}
		}
		// MEM where systemd counts memory too (not in a unified-only
		// sandbox on a host whose memory controller is cgroup v1's).
		mem := m.show("runctl-"+name+".service", "MemoryCurrent")
		counted := mem != "" && mem != "[not set]"
		if f == nil || f[2] != want || f[4] == "-" || (f[5] != "-") != counted {
			t.Errorf("systemd %d: ls shows %s as %q; want pid %s, CPU counted, and MEM as systemd's MemoryCurrent %s:\n%s", systemdVersion, name, f, want, mem, r.stdout)
		}
	}
	m.ok("rm", "-f", "one")
	if r := m.ok("status", "a"); !strings.Contains(r.stdout, "running") {
		t.Errorf("status a:\n%v", r)
	}

	// A daemon-reload between steps changes nothing: restart runs the
	// same argv, and the unit needs no reload.
	m.inside("systemctl", "daemon-reload")
	m.ok("restart", "a")
	if got := m.argv("a"); strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("after a daemon-reload and a restart, the program sees argv\n%q\nwant\n%q", got, want)
	}
	checkNoReloadWarning(m, "a")

	// logs.
	m.ok("run", "-d", "-n", "l", "--", "sh", "-c", `echo "hello $0"; sleep 1000`, "matrix")
	m.eventually(func() string {
		if r := m.runctl("logs", "l"); !strings.Contains(r.stdout, "hello matrix") {
			return fmt.Sprintf("logs l:\n%v", r)
		}
		return ""
	})

	// Attached runs exit as their program: 7, 0, 143 (SIGTERM).
	for _, c := range []struct {
		script string
		code   int
	}{{"exit 7", 7}, {"exit 0", 0}, {"kill -TERM $$", 143}} {
		if r := m.runctl("run", "-n", "x"+strconv.Itoa(c.code), "--", "sh", "-c", c.script); r.code != c.code {
			t.Errorf("attached %q: exit %d, want %d:\n%v", c.script, r.code, c.code, r)
		}
	}
	// -i: the program reads runctl's stdin.
	if r := m.runctlIn("from stdin\n", "run", "-i", "-n", "in", "--", "sh", "-c", `read l; test "$l" = "from stdin"`); r.code != 0 {
		t.Errorf("run -i:\n%v", r)
	}

	// How a run ended outlives its unit.
	m.ok("run", "-d", "--settle=0", "-n", "three", "--", "sh", "-c", "sleep 0.2; exit 3")
	m.eventually(func() string {
		if st := m.show("runctl-three.service", "ActiveState"); st != "failed" {
			return "the run that exits 3 is " + st
		}
		return ""
	})
	m.inside("systemctl", "reset-failed", "runctl-three.service")
	m.unloaded("three")
	m.eventually(func() string {
		if r := m.runctl("status", "three"); !strings.Contains(r.stdout, "exit status 3") {
			return fmt.Sprintf("status of an unloaded run that exited 3:\n%v", r)
		}
		return ""
	})
	m.eventually(func() string {
		if r := m.runctl("ls"); !strings.Contains(r.stdout, "exit status 3") {
			return fmt.Sprintf("ls of an unloaded run that exited 3:\n%v", r)
		}
		return ""
	})

	// stop.
	m.ok("stop", "l")
	if r := m.runctl("status", "l"); !strings.Contains(r.stdout, "stopped by runctl") {
		t.Errorf("status after stop:\n%v", r)
	}

	// --after, --notify, --watchdog, -p.
	m.ok("run", "-d", "-n", "b", "--after", "a", "--", "sleep", "1000")
	if after := m.show("runctl-b.service", "After"); !strings.Contains(after, "runctl-a.service") {
		t.Errorf("After= of b: %q", after)
	}
	if r := m.runctl("run", "-d", "--notify", "-n", "n", "--", "sh", "-c", "sleep 0.3; while systemd-notify --ready; do sleep 0.2; done"); r.code != 0 {
		t.Errorf("--notify:\n%v", r)
	} else if st := m.show("runctl-n.service", "ActiveState"); st != "active" {
		t.Errorf("--notify run is %s once run -d returned", st)
	}
	m.ok("run", "-d", "-n", "w", "--watchdog", "1s", "--", "sh", "-c", "while systemd-notify WATCHDOG=1; do sleep 0.2; done")
	m.ok("run", "-d", "-n", "p", "-p", "Nice=7", "--", "sleep", "1000")
	if nice := m.show("runctl-p.service", "Nice"); nice != "7" {
		t.Errorf("-p Nice=7: Nice=%q", nice)
	}
	m.inside("systemctl", "daemon-reload")
	for _, n := range []string{"a", "b", "n", "p"} {
		if st := m.show("runctl-"+n+".service", "ActiveState"); st != "active" {
			t.Errorf("%s is %s after a daemon-reload", n, st)
		}
	}
	time.Sleep(1500 * time.Millisecond) // longer than the watchdog
	if st := m.show("runctl-w.service", "ActiveState"); st != "active" {
		t.Errorf("the --watchdog run that pets it is %s", st)
	}

	// enable: a unit file that loads without warnings, then a reboot.
	m.ok("run", "-d", "-n", "boot", "--", "sh", "-c", "sleep 1000")
	m.ok("enable", "boot")
	unitFile := m.inside("cat", "/etc/systemd/system/runctl-boot.service")
	if old == strings.Contains(unitFile, "OnSuccess=") {
		t.Errorf("systemd %d: enable wrote\n%s", systemdVersion, unitFile)
	}
	// Warnings about the file name it (systemd-analyze may warn about
	// other units of the root too).
	if out, _ := m.sb.Command(t.Context(), "systemd-analyze", "verify", "/etc/systemd/system/runctl-boot.service").CombinedOutput(); strings.Contains(string(out), "runctl-boot") {
		t.Errorf("systemd-analyze verify of the enabled unit:\n%s", out)
	}
	m.close()
	m.boot()
	m.eventually(func() string {
		if st := m.show("runctl-boot.service", "ActiveState"); st != "active" {
			return "the enabled run is " + st + " after the reboot"
		}
		return ""
	})
	if r := m.runctl("status", "three"); !strings.Contains(r.stdout, "exit status 3") {
		t.Errorf("status of a run that exited 3, after a reboot:\n%v", r)
	}
	m.ok("stop", "boot")
}
