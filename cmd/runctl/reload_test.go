package main

// A daemon-reload or daemon-reexec (apt runs them) must not change what a
// run runs: every way it can be started afterwards (runctl restart,
// Restart=, systemctl restart and start, a runctl group member's restart)
// runs the exact argv, directory and environment, and no secret reaches an
// argv. An enabled run runs its newest spec whatever the order of run,
// enable, disable, --replace, reload and reboot, and manual restarts are
// never refused by systemd's start rate limit.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runctl/runctl/sandbox"
)

const reloadSecret = "s3cr3t-7f1d9"

// reloadArgv is the hostile corpus plus arguments that name the secret's
// variable, which the manager must not expand.
func reloadArgv() []string {
	argv := []string{"sh", "-c", "sleep 1000; :", "hostile"}
	for _, g := range hostileArgv {
		argv = append(argv, g.argv...)
	}
	return append(argv, `"${API_KEY}"`, "$API_KEY", "a;b${API_KEY};c")
}

// checkExact checks the run's main process against argv, /usr/share and
// the secret in its environment, and that no argv holds the secret.
func checkExact(t *testing.T, name string, argv []string) {
	t.Helper()
	checkRoundTrip(t, name, argv, hostileCase{wantCwd: "/usr/share", wantEnv: map[string]string{"API_KEY": reloadSecret}})
	noSecretInArgv(t)
}

func noSecretInArgv(t *testing.T) {
	t.Helper()
	procs, _ := filepath.Glob(sbOf(t).Path("/proc/[0-9]*/cmdline"))
	for _, p := range procs {
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(reloadSecret)) {
			t.Errorf("%s holds the secret in its argv: %s", strings.TrimPrefix(p, sbOf(t).Path("/")), abbrevQ(nulSplit(b)))
		}
	}
}

// unitShow reads unit properties by name.
func unitShow(t *testing.T, unit string, props ...string) map[string]string {
	t.Helper()
	out := inside(t, "systemctl", "show", "-p", strings.Join(props, ","), unit)
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, _ := strings.Cut(l, "=")
		m[k] = v
	}
	return m
}

// waitNewInstance waits until the run is active with a main pid other than
// old: systemd restarted it.
func waitNewInstance(t *testing.T, name string, old int) {
	t.Helper()
	waitFor(t, func() bool {
		p := unitShow(t, "runctl-"+name+".service", "ActiveState", "MainPID")
		return p["ActiveState"] == "active" && p["MainPID"] != "0" && p["MainPID"] != strconv.Itoa(old)
	}, "a new instance of "+name)
}

func TestReloadKeepsArgvExact(t *testing.T) {
	aloneLong(t)
	operatorMember(t)
	argv := reloadArgv()
	auto, plain, member, quiet, nobody := runName(t), runName(t), runName(t), runName(t), runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", auto, plain, member, quiet, nobody) })
	start := func(name string, argv []string, flags ...string) {
		t.Helper()
		args := append(append([]string{"run", "-d", "-n", name, "--dir", "/usr/share", "-E", "API_KEY=" + reloadSecret}, flags...), "--")
		if r := runctl(t, append(args, argv...)...); r.code != 0 {
			t.Fatalf("run: %v", abbrev(r))
		}
		checkExact(t, name, argv)
	}
	start(auto, argv, "--restart", "on-failure", "--restart-delay", "50ms")
	start(plain, argv)
	start(member, argv)
	// A program that a mangled argv would not end, so that a secret
	// expanded into it would stay readable in /proc.
	quietArgv := []string{"sh", "-c", "sleep 1000", "x", `"${API_KEY}"`, "$API_KEY"}
	start(quiet, quietArgv, "--restart", "on-failure", "--restart-delay", "50ms")
	start(nobody, argv, "--uid", "nobody", "--restart", "on-failure", "--restart-delay", "50ms")
	// Enabled while it runs: it goes on as a transient unit, which the
	// member restarts through the operator service.
	if r := runctl(t, "enable", member); r.code != 0 {
		t.Fatal(r)
	}

	for _, how := range []string{"daemon-reload", "daemon-reexec"} {
		t.Run(how, func(t *testing.T) {
			after := func(path string, do func()) {
				t.Helper()
				inside(t, "systemctl", how)
				do()
				if t.Failed() {
					t.Fatalf("after %s, through %s", how, path)
				}
			}
			after("systemctl show", func() {
				if show := inside(t, "systemctl", "show", "-p", "ExecStart", "runctl-"+auto+".service"); !strings.Contains(show, `"${API_KEY}" $API_KEY`) {
					t.Errorf("systemctl show does not show the command as typed:\n%s", show)
				}
			})
			after("Restart=", func() {
				for _, r := range []struct {
					name string
					argv []string
				}{{quiet, quietArgv}, {auto, argv}, {nobody, argv}} {
					old := mainPID(t, r.name)
					inside(t, "kill", "-KILL", strconv.Itoa(old))
					waitNewInstance(t, r.name, old)
					checkExact(t, r.name, r.argv)
				}
			})
			after("systemctl restart", func() {
				old := mainPID(t, auto)
				inside(t, "systemctl", "restart", "runctl-"+auto+".service")
				waitNewInstance(t, auto, old)
				checkExact(t, auto, argv)
			})
			after("runctl restart", func() {
				if r := runctl(t, "restart", auto); r.code != 0 {
					t.Fatal(r)
				}
				checkExact(t, auto, argv)
			})
			after("systemctl start", func() {
				// Killed without Restart=, the unit stays loaded, failed.
				old := mainPID(t, plain)
				inside(t, "kill", "-KILL", strconv.Itoa(old))
				waitFor(t, func() bool { return unitShow(t, "runctl-"+plain+".service", "ActiveState")["ActiveState"] == "failed" }, plain+" to fail")
				inside(t, "systemctl", "start", "runctl-"+plain+".service")
				waitNewInstance(t, plain, old)
				checkExact(t, plain, argv)
			})
			after("a member's restart", func() {
				if r := asUser(t, "rctlop", nil, "--system", "restart", member); r.code != 0 || !strings.Contains(r.stdout, "restarted "+member) {
					t.Fatalf("restart as a member: %v", r)
				}
				checkExact(t, member, argv)
			})
		})
	}
}

// transitions is a walk through ops that takes every ordered pair of them
// once (an Euler circuit of the complete graph with loops).
func transitions(ops []string) []string {
	next := map[string][]string{}
	for _, a := range ops {
		next[a] = append([]string(nil), ops...)
	}
	stack, walk := []string{ops[0]}, []string{}
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		if n := next[v]; len(n) > 0 {
			next[v] = n[:len(n)-1]
			stack = append(stack, n[len(n)-1])
		} else {
			walk = append(walk, v)
			stack = stack[:len(stack)-1]
		}
	}
	for i, j := 0, len(walk)-1; i < j; i, j = i+1, j-1 {
		walk[i], walk[j] = walk[j], walk[i]
	}
	return walk
}

// While PID 1 is busy, a stopped run's unit stays loaded until its exit
// recorder's job has run; here that job waits for a slow unit the recorder
// is ordered after. A restart, a --replace with another command, and the
// --replace of an enabled run whose instance is still the transient one
// it was enabled in each start the new instance: they used to fail "the
// unit name is taken" and "still loaded from /run/systemd/transient" (seen
// under load in TestEnabledTransitions).
func TestReplaceWhileTheRecorderWaits(t *testing.T) {
	alone(t)
	name := runName(t)
	unit := "runctl-" + name + ".service"
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	if r := runctl(t, "run", "-d", "--settle=0", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	p := unitShow(t, unit, "OnSuccess", "OnFailure")
	slow := "rslow-" + name + ".service"
	script := fmt.Sprintf("printf '[Service]\\nType=oneshot\\nExecStart=/bin/sleep 1\\n' > /run/systemd/system/%s", slow)
	var drops []string
	for _, rec := range []string{p["OnSuccess"], p["OnFailure"]} {
		d := "/run/systemd/system/" + rec + ".d"
		drops = append(drops, d)
		script += fmt.Sprintf(" && mkdir -p %s && printf '[Unit]\\nWants=%s\\nAfter=%s\\n' > %s/slow.conf", d, slow, slow, d)
	}
	inside(t, "sh", "-c", script+" && systemctl daemon-reload")
	t.Cleanup(func() {
		sbOf(t).Command(context.Background(), "sh", "-c", "rm -rf /run/systemd/system/"+slow+" "+strings.Join(drops, " ")+" && systemctl daemon-reload").Run()
	})
	runs := func(want ...string) {
		t.Helper()
		if got := nulSplit([]byte(inside(t, "cat", fmt.Sprintf("/proc/%d/cmdline", mainPID(t, name))))); !equal(got, want) {
			t.Fatalf("the program runs %q, want %q", got, want)
		}
	}
	// Each stop's recorder pulls in a run of the slow unit of its own:
	// the next stop comes once it is over, not while the slow unit's
	// job, which its recorder would join, still runs.
	slowRan := func(n int) {
		t.Helper()
		got := 0
		for deadline := time.Now().Add(10 * time.Second); got < n && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			got = strings.Count(inside(t, "journalctl", "-o", "cat", "_PID=1", "UNIT="+slow), "Finished")
		}
		if got < n {
			t.Fatalf("%s ran %d times, want one per stop (%d): the recorder did not wait, and the test did not reach the race", slow, got, n)
		}
	}
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatalf("restart: %v", r)
	}
	runs("sleep", "1000")
	slowRan(1)
	if r := runctl(t, "run", "-d", "--settle=0", "--replace", "-n", name, "--", "sleep", "1500"); r.code != 0 {
		t.Fatalf("run --replace: %v", r)
	}
	runs("sleep", "1500")
	slowRan(2)
	if r := runctl(t, "enable", name); r.code != 0 {
		t.Fatal(r)
	}
	if got := unitShow(t, unit, "FragmentPath")["FragmentPath"]; !strings.HasPrefix(got, "/run/systemd/transient/") {
		t.Fatalf("after enable the instance is from %q; the test needs the transient one", got)
	}
	if r := runctl(t, "run", "-d", "--settle=0", "--replace", "-n", name, "--", "sleep", "2000"); r.code != 0 {
		t.Fatalf("run --replace of the enabled run: %v", r)
	}
	if got := unitShow(t, unit, "FragmentPath")["FragmentPath"]; got != "/etc/systemd/system/"+unit {
		t.Fatalf("after the replace the unit is from %q, want its unit file", got)
	}
	runs("sleep", "2000")
	slowRan(3)
}

// Every ordered pair of run --replace, enable, disable, daemon-reload,
// runctl restart, stop and start, systemctl restart and a member's restart:
// after each, the run runs its newest spec, and once runctl started an
// enabled run, systemd has it from the unit file runctl wrote.
func TestEnabledTransitions(t *testing.T) {
	aloneLong(t)
	operatorMember(t)
	name := runName(t)
	unit := "runctl-" + name + ".service"
	file := "/etc/systemd/system/" + unit
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	// fromFile: systemd started the current instance from the unit file.
	version, enabled, fromFile := 0, false, false
	argv := func() []string { return []string{"sh", "-c", "sleep 1000; :", fmt.Sprintf("v%d;$HOME", version)} }
	replace := func() {
		t.Helper()
		version++
		if r := runctl(t, append([]string{"run", "-d", "--replace", "-n", name, "--"}, argv()...)...); r.code != 0 {
			t.Fatalf("run --replace: %v", r)
		}
	}
	replace()
	ops := []string{"replace", "enable", "disable", "reload", "restart", "stop+start", "systemctl restart", "member restart"}
	walk := transitions(ops)
	if len(walk) != len(ops)*len(ops)+1 {
		t.Fatalf("the walk has %d steps, want %d", len(walk), len(ops)*len(ops)+1)
	}
	for i, op := range walk {
		byRunctl := false
		switch op {
		case "replace":
			replace()
			byRunctl = true
		case "enable":
			if r := runctl(t, "enable", name); r.code != 0 {
				t.Fatalf("step %d enable: %v", i, r)
			}
			enabled = true
		case "disable":
			r := runctl(t, "disable", name)
			if enabled && r.code != 0 || !enabled && !strings.Contains(r.stderr, "is not enabled") {
				t.Fatalf("step %d disable (enabled %v): %v", i, enabled, r)
			}
			enabled = false
		case "reload":
			inside(t, "systemctl", "daemon-reload")
		case "restart":
			if r := runctl(t, "restart", name); r.code != 0 {
				t.Fatalf("step %d restart: %v", i, r)
			}
			byRunctl = true
		case "stop+start":
			if r := runctl(t, "stop", name); r.code != 0 {
				t.Fatalf("step %d stop: %v", i, r)
			}
			if r := runctl(t, "start", name); r.code != 0 {
				t.Fatalf("step %d start: %v", i, r)
			}
			byRunctl = true
		case "systemctl restart":
			out, err := sbOf(t).Command(t.Context(), "systemctl", "restart", unit).CombinedOutput()
			// An instance started from a unit file that disable removed
			// has no file to restart from: systemd says so, and the run
			// goes on (runctl restart starts it as a transient unit).
			if orphan := fromFile && !enabled; orphan != (err != nil) || orphan && !strings.Contains(string(out), "not found") {
				t.Fatalf("step %d systemctl restart (from a removed unit file %v): %v %s", i, orphan, err, out)
			}
		case "member restart":
			// Through the operator service: runctl restart, as root.
			if r := asUser(t, "rctlop", nil, "--system", "restart", name); r.code != 0 {
				t.Fatalf("step %d member restart (enabled %v): %v", i, enabled, r)
			}
			byRunctl = true
		}
		t.Logf("step %d: %s (enabled %v)", i, op, enabled)
		where := fmt.Sprintf("step %d (%s after %s), enabled %v", i, op, walk[max(i-1, 0)], enabled)
		pid := mainPID(t, name)
		cmdline, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/cmdline", pid)))
		if got := nulSplit(cmdline); !equal(got, argv()) {
			t.Fatalf("%s: the run runs %q, want the newest spec %q", where, got, argv())
		}
		if _, err := os.Stat(sbOf(t).Path(file)); (err == nil) != enabled {
			t.Fatalf("%s: unit file present %v", where, err == nil)
		}
		if byRunctl {
			fromFile = enabled
			p := unitShow(t, unit, "FragmentPath", "Transient")
			if enabled && (p["FragmentPath"] != file || p["Transient"] != "no") || !enabled && p["Transient"] != "yes" {
				t.Fatalf("%s: systemd has the unit from %s, transient %s", where, p["FragmentPath"], p["Transient"])
			}
		}
	}
}

// Manual restarts of an enabled run, after a reload, are never refused by
// StartLimitBurst (5 starts in 10 s by default): 20 in a row by root, 20
// at once, and 10 in a row by a group member.
func TestRestartsIgnoreStartLimit(t *testing.T) {
	alone(t)
	operatorMember(t)
	name := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	if r := runctl(t, "run", "-d", "--enable", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	inside(t, "systemctl", "daemon-reload")
	for i := range 20 {
		if r := runctl(t, "restart", name); r.code != 0 {
			t.Fatalf("sequential restart %d: %v", i+1, r)
		}
	}
	for i, r := range restartsAtOnce(t, name, 20) {
		if r.code != 0 {
			t.Errorf("parallel restart %d: %v", i+1, r)
		}
	}
	for i := range 10 {
		if r := asUser(t, "rctlop", nil, "--system", "restart", name); r.code != 0 {
			t.Fatalf("member restart %d: %v", i+1, r)
		}
	}
	// A member may send no signal: --force and --timeout would SIGKILL.
	for _, flag := range []string{"--force", "--timeout=1s"} {
		if r := asUser(t, "rctlop", nil, "--system", "restart", flag, name); r.code == 0 || !strings.Contains(r.stderr, "needs root") {
			t.Errorf("member restart %s: %v", flag, r)
		}
	}
	if st := unitShow(t, "runctl-"+name+".service", "ActiveState")["ActiveState"]; st != "active" {
		t.Fatalf("after the restarts the run is %s", st)
	}
	// systemd's own limit still holds for systemctl; runctl clears it.
	for range 6 {
		sbOf(t).Command(t.Context(), "systemctl", "restart", "runctl-"+name+".service").Run()
	}
	if p := unitShow(t, "runctl-"+name+".service", "Result"); p["Result"] != "start-limit-hit" {
		t.Fatalf("six quick systemctl restarts: result %s, want start-limit-hit", p["Result"])
	}
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatalf("restart after systemd's limit was hit: %v", r)
	}
}

// The transitions through reboots: a replaced enabled run comes back at
// boot as its newest spec, also when a transient instance had shadowed the
// unit file before.
func TestEnabledTransitionsReboot(t *testing.T) {
	shared(t)
	bootKept, inEnv := rebootable(t)
	var s *sandbox.Sandbox
	boot := func() { t.Helper(); s = bootKept() }
	in := func(args ...string) result { t.Helper(); return inEnv(s, nil, args...) }
	must := func(args ...string) {
		t.Helper()
		if r := in(args...); r.code != 0 {
			s.Close()
			t.Fatalf("runctl %q: %v", args, r)
		}
	}
	check := func(v string) {
		t.Helper()
		view := sandboxProcView(t, s, "p")
		if !strings.Contains(view, fmt.Sprintf(`argv=["sh" "-c" "sleep 1000; :" %q]`, v)) {
			s.Close()
			t.Fatalf("want %s running: %s", v, view)
		}
	}
	run := func(v string) []string {
		return []string{"run", "-d", "--replace", "-n", "p", "--", "sh", "-c", "sleep 1000; :", v}
	}

	reload := func() {
		t.Helper()
		if out, err := s.Command(t.Context(), "systemctl", "daemon-reload").CombinedOutput(); err != nil {
			s.Close()
			t.Fatalf("daemon-reload: %v %s", err, out)
		}
	}
	boot()
	must(run("v1;$HOME")...)
	must("enable", "p")
	reload()
	must(run("v2;$HOME")...)
	check("v2;$HOME")
	s.Close()

	boot()
	check("v2;$HOME")
	must(run("v3;$HOME")...)
	reload()
	must("restart", "p")
	check("v3;$HOME")
	s.Close()

	boot()
	defer s.Close()
	check("v3;$HOME")
	var runs []struct {
		Name      string `json:"name"`
		Autostart bool   `json:"autostart"`
	}
	r := in("--json", "ls")
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil || len(runs) != 1 || !runs[0].Autostart {
		t.Fatalf("ls --json after the reboots: %v %v", err, r)
	}
}

// A user manager reads the drop-in from $XDG_RUNTIME_DIR/systemd/user: its
// own Restart= after a daemon-reload runs the exact argv too.
func TestUserReloadKeepsArgvExact(t *testing.T) {
	alone(t)
	uid, env := userManager(t, "robot")
	userctl := func(args ...string) string {
		t.Helper()
		cmd := sbOf(t).CommandIn(t.Context(), "/", "setpriv", append([]string{"--reuid=robot", "--regid=robot", "--init-groups", "systemctl", "--user"}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("systemctl --user %q: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	argv := []string{"sh", "-c", "sleep 1000; :", "x", "$HOME", "a;b", `"${PATH}"`}
	if r := asUser(t, "robot", env, append([]string{"run", "-d", "-n", "exact", "--restart", "on-failure", "--restart-delay", "50ms", "--"}, argv...)...); r.code != 0 {
		t.Fatalf("run as a user: %v", r)
	}
	userctl("daemon-reload")
	old := userctl("show", "-P", "MainPID", "runctl-exact.service")
	inside(t, "kill", "-KILL", old)
	var pid string
	waitFor(t, func() bool {
		pid = userctl("show", "-P", "MainPID", "runctl-exact.service")
		return pid != "0" && pid != old && userctl("show", "-P", "ActiveState", "runctl-exact.service") == "active"
	}, "the user manager's restart")
	cmdline, _ := os.ReadFile(sbOf(t).Path("/proc/" + pid + "/cmdline"))
	if got := nulSplit(cmdline); !equal(got, argv) {
		t.Fatalf("after a user manager's daemon-reload and Restart= the program sees %q, want %q", got, argv)
	}
	if r := asUser(t, "robot", env, "rm", "-f", "exact"); r.code != 0 {
		t.Fatalf("rm as a user: %v", r)
	}
	if _, err := os.Stat(sbOf(t).Path("/run/user/" + uid + "/systemd/transient/runctl-exact.service.d")); err == nil {
		t.Errorf("rm left the run's drop-in")
	}
}

// The drop-in is runctl's alone: a unit file of the same name that runctl
// did not write keeps its own command, also after a reload, when a kept
// run's start is refused for it.
func TestDropInLeavesForeignUnitAlone(t *testing.T) {
	alone(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "2000"); r.code != 0 {
		t.Fatal(r)
	}
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	if r := runctl(t, "stop", name); r.code != 0 {
		t.Fatal(r)
	}
	foreignUnitFile(t, name)
	if r := runctl(t, "start", name); r.code == 0 || !strings.Contains(r.stderr, "defined outside runctl") {
		t.Fatalf("start of a kept run whose name a unit file took: %v", r)
	}
	if _, err := os.Stat(sbOf(t).Path("/run/systemd/transient/runctl-" + name + ".service.d/50-runctl.conf")); err == nil {
		t.Errorf("the refused start left its drop-in for the foreign unit")
	}
	inside(t, "systemctl", "daemon-reload")
	inside(t, "systemctl", "start", "runctl-"+name+".service")
	// Type=simple: the start returns once systemd forked; until the exec
	// the process is named "(sleep)", and during it its cmdline is empty.
	want := []string{"/bin/sleep", "1000"}
	var got []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		cmdline, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/cmdline", mainPID(t, name))))
		if got = nulSplit(cmdline); equal(got, want) || time.Now().After(deadline) {
			break
		}
	}
	if !equal(got, want) {
		unit := "runctl-" + name + ".service"
		t.Fatalf("the foreign unit runs %q, not its own command (%s, %s, result %s, exit %s/%s)\n%s", got,
			prop(t, unit, "ActiveState"), prop(t, unit, "SubState"), prop(t, unit, "Result"), prop(t, unit, "ExecMainCode"), prop(t, unit, "ExecMainStatus"),
			inside(t, "journalctl", "-b", "--no-pager", "-n", "30", "-u", unit))
	}
}
