package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/sandbox"
)

// Tests of run's process controls (-p, --stop-signal, ...): each effect is
// read from the kernel or from systemd, never from runctl's own output.

// badProperties are -p values runctl must refuse before creating anything.
var badProperties = [][]string{
	{"Foo=1"},
	{"memorymax=1G"},
	{"ExecStart=/bin/true"},
	{"Environment=A=1"},
	{"WorkingDirectory=/"},
	{"Type=simple"},
	{"User=root"},
	{"Restart=always"},
	{"MemoryMax"},
	{"=1G"},
	{"MemoryMax="},
	{"MemoryMax= 1G"},
	{"MemoryMax=1X"},
	{"MemoryMax=-1"},
	{"MemoryMax=1G\nExecStart=/bin/evil"},
	{"MemoryMax=1G", "MemoryMax=2G"},
	{"CPUQuota=0%"},
	{"CPUQuota=50"},
	{"CPUQuota=12.5%"},
	{"CPUWeight=0"},
	{"CPUWeight=10001"},
	{"AllowedCPUs=3-1"},
	{"TasksMax=0"},
	{"IOWeight=many"},
	{"Nice=20"},
	{"Nice=-21"},
	{"CPUAffinity=all"},
	{"CPUSchedulingPolicy=realtime"},
	{"CPUSchedulingPriority=100"},
	{"CPUSchedulingPolicy=fifo", "CPUSchedulingPriority=0"},
	{"CPUSchedulingPriority=10"},
	{"CPUSchedulingResetOnFork=maybe"},
	{"IOSchedulingClass=fast"},
	{"IOSchedulingPriority=8"},
	{"LimitNOFILE=10:5"},
	{"LimitCORE=big"},
	{"LimitRTPRIO=-1"},
	{"LimitMEMLOCK=1Q"},
	{"UMask=0999"},
	{"OOMScoreAdjust=1001"},
	{"SupplementaryGroups=no-such-group-x"},
	{"SupplementaryGroups=-x"},
	{"DeviceAllow=/etc/passwd rw"},
	{"DeviceAllow=/dev/null rwx"},
	{"DeviceAllow=/dev/%n r"},
	{"KillSignal=SIGFOO"},
	{"KillSignal=65"},
	{"TimeoutStopSec=0"},
	{"TimeoutStopSec=infinity"},
	{"TimeoutStartSec=5 parsecs"},
	{"TimeoutStartSec=1.0005s"},
}

func TestBadPropertiesAreRefusedAndCreateNothing(t *testing.T) {
	shared(t)
	name := runName(t)
	for _, ps := range badProperties {
		args := []string{"run", "-d", "-n", name}
		for _, p := range ps {
			args = append(args, "-p", p)
		}
		r := runctl(t, append(args, "--", "sleep", "1000")...)
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if r.code == 0 || r.stdout != "" || len(lines) != 1 || !strings.HasPrefix(lines[0], "runctl: ") {
			t.Errorf("-p %q: want one line on stderr and a failure, got %v", ps, r)
			continue
		}
		// The line names what is wrong: the key, or the whole -p without one.
		last := ps[len(ps)-1]
		want, _, _ := strings.Cut(last, "=")
		if want == "" {
			want = last
		}
		if !strings.Contains(lines[0], want) {
			t.Errorf("-p %q: the message does not name %q: %s", ps, want, lines[0])
		}
		t.Logf("-p %q: %s", ps, lines[0])
		if ls := prop(t, "runctl-"+name+".service", "LoadState"); ls != "not-found" {
			t.Errorf("-p %q left unit runctl-%s.service %s", ps, name, ls)
		}
		if _, err := os.Stat(sbOf(t).Path("/var/lib/runctl/runs/" + name + ".json")); err == nil {
			t.Errorf("-p %q left a spec", ps)
		}
	}
	if len(badProperties) < 20 {
		t.Errorf("only %d bad inputs", len(badProperties))
	}
	// The same run with a good -p starts.
	if r := runctl(t, "run", "-d", "-n", name, "-p", "MemoryMax=1G", "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run -p MemoryMax=1G: %v", r)
	}
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
}

// procEffects reads what the kernel applies to the run's main process.
type procEffects struct {
	pid                    int
	chrt, taskset, ni, usr string
	limits                 string
}

func readEffects(t *testing.T, name string) procEffects {
	t.Helper()
	pid := mainPID(t, name)
	p := fmt.Sprint(pid)
	limits, err := os.ReadFile(sbOf(t).Path("/proc/" + p + "/limits"))
	if err != nil {
		t.Fatal(err)
	}
	return procEffects{
		pid:     pid,
		chrt:    inside(t, "chrt", "-p", p),
		taskset: inside(t, "taskset", "-p", p),
		ni:      strings.TrimSpace(inside(t, "ps", "-o", "ni=", "-p", p)),
		usr:     strings.TrimSpace(inside(t, "ps", "-o", "user=", "-p", p)),
		limits:  string(limits),
	}
}

func limitLine(limits, what string) string {
	for _, l := range strings.Split(limits, "\n") {
		if strings.HasPrefix(l, what) {
			return strings.Join(strings.Fields(strings.TrimPrefix(l, what)), " ")
		}
	}
	return ""
}

// TestPropertiesReachTheKernel starts runs with -p and reads each effect
// back from the kernel (chrt, taskset, ps, /proc/PID/limits) and from
// systemd (MemoryMax), then again after a restart, and again once enable
// made the run its unit file.
func TestPropertiesReachTheKernel(t *testing.T) {
	alone(t)
	rt, nice := runName(t), runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", rt, nice) })
	if r := runctl(t, "run", "-d", "-n", rt,
		"-p", "CPUSchedulingPolicy=fifo", "-p", "CPUSchedulingPriority=20", "-p", "CPUAffinity=1",
		"-p", "LimitNOFILE=1234:2345", "-p", "LimitCORE=1M", "-p", "MemoryMax=64M",
		"--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	if r := runctl(t, "run", "-d", "-n", nice, "-p", "Nice=7", "-p", "CPUAffinity=0", "-p", "OOMScoreAdjust=300", "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	check := func(when string) {
		t.Helper()
		e := readEffects(t, rt)
		if !strings.Contains(e.chrt, "SCHED_FIFO") || !strings.Contains(e.chrt, "priority: 20") {
			t.Errorf("%s: chrt -p: %s", when, e.chrt)
		}
		if !strings.HasSuffix(strings.TrimSpace(e.taskset), "mask: 2") {
			t.Errorf("%s: taskset -p: %s", when, e.taskset)
		}
		if got := limitLine(e.limits, "Max open files"); got != "1234 2345 files" {
			t.Errorf("%s: Max open files %q, want 1234 2345", when, got)
		}
		if got := limitLine(e.limits, "Max core file size"); got != "1048576 1048576 bytes" {
			t.Errorf("%s: Max core file size %q", when, got)
		}
		if got := strings.TrimSpace(inside(t, "systemctl", "show", "-P", "MemoryMax", "runctl-"+rt+".service")); got != "67108864" {
			t.Errorf("%s: MemoryMax %s", when, got)
		}
		n := readEffects(t, nice)
		if n.ni != "7" || !strings.HasSuffix(strings.TrimSpace(n.taskset), "mask: 1") {
			t.Errorf("%s: ps -o ni %q, taskset %q", when, n.ni, n.taskset)
		}
		if adj, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/oom_score_adj", n.pid))); strings.TrimSpace(string(adj)) != "300" {
			t.Errorf("%s: oom_score_adj %q", when, adj)
		}
	}
	check("after run")
	before := mainPID(t, rt)
	for _, n := range []string{rt, nice} {
		if r := runctl(t, "restart", n); r.code != 0 {
			t.Fatalf("restart: %v", r)
		}
	}
	if mainPID(t, rt) == before {
		t.Fatal("restart kept the old process")
	}
	check("after restart")

	for _, n := range []string{rt, nice} {
		if r := runctl(t, "enable", n); r.code != 0 {
			t.Fatalf("enable: %v", r)
		}
		if r := runctl(t, "restart", n); r.code != 0 {
			t.Fatalf("restart: %v", r)
		}
	}
	if fp := strings.TrimSpace(inside(t, "systemctl", "show", "-P", "FragmentPath", "runctl-"+rt+".service")); fp != "/etc/systemd/system/runctl-"+rt+".service" {
		t.Fatalf("the enabled run is not its unit file: FragmentPath %s", fp)
	}
	unit := inside(t, "cat", "/etc/systemd/system/runctl-"+rt+".service")
	for _, l := range []string{"CPUSchedulingPolicy=fifo", "CPUAffinity=1", "LimitNOFILE=1234:2345", "MemoryMax=64M"} {
		if !strings.Contains(unit, "\n"+l+"\n") {
			t.Errorf("the unit file lacks %s:\n%s", l, unit)
		}
	}
	check("after enable")

	var st []struct {
		Properties []string `json:"properties"`
	}
	r := runctl(t, "--json", "status", rt)
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st) != 1 || len(st[0].Properties) != 6 || st[0].Properties[0] != "CPUSchedulingPolicy=fifo" {
		t.Errorf("status --json properties: %v %+v\n%s", err, st, r.stdout)
	}
	if r := runctl(t, "status", rt); !strings.Contains(r.stdout, "LimitNOFILE=1234:2345") {
		t.Errorf("status does not show the properties:\n%s", r.stdout)
	}
}

// motorNode is a Python node that switches its motors off on
// KeyboardInterrupt (SIGINT) and dies silently on SIGTERM.
const motorNode = `import time
print("ready", flush=True)
try:
    while True:
        time.sleep(0.05)
except KeyboardInterrupt:
    print("motors off", flush=True)
`

// journalCount counts the lines of a run's journal that are exactly line.
func journalCount(t *testing.T, name, line string) int {
	t.Helper()
	n := 0
	for _, l := range strings.Split(inside(t, "journalctl", "--no-pager", "-o", "cat", "-u", "runctl-"+name+".service"), "\n") {
		if l == line {
			n++
		}
	}
	return n
}

// waitJournal waits until the run's journal has line n times.
func waitJournal(t *testing.T, name, line string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for journalCount(t, name, line) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the journal of %s never had %q %d times:\n%s", name, line, n, inside(t, "journalctl", "--no-pager", "-o", "cat", "-u", "runctl-"+name+".service"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStopSignalReachesTheHandler: with --stop-signal SIGINT, stop, restart
// (before and after enable) and Ctrl-C on an attached run each make the
// node's KeyboardInterrupt handler run: its line is in the journal.
func TestStopSignalReachesTheHandler(t *testing.T) {
	alone(t)
	name := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	if r := runctl(t, "run", "-d", "-n", name, "--stop-signal", "SIGINT", "--", "python3", "-c", motorNode); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	if got := strings.TrimSpace(inside(t, "systemctl", "show", "-P", "KillSignal", "runctl-"+name+".service")); got != "2" {
		t.Errorf("KillSignal %s, want 2", got)
	}
	waitJournal(t, name, "ready", 1)
	if r := runctl(t, "stop", name); r.code != 0 {
		t.Fatalf("stop: %v", r)
	}
	waitJournal(t, name, "motors off", 1)

	if r := runctl(t, "start", name); r.code != 0 {
		t.Fatalf("start: %v", r)
	}
	waitJournal(t, name, "ready", 2)
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatalf("restart: %v", r)
	}
	waitJournal(t, name, "motors off", 2)

	waitJournal(t, name, "ready", 3)
	if r := runctl(t, "enable", name); r.code != 0 {
		t.Fatalf("enable: %v", r)
	}
	if unit := inside(t, "cat", "/etc/systemd/system/runctl-"+name+".service"); !strings.Contains(unit, "\nKillSignal=SIGINT\n") {
		t.Errorf("the unit file lacks KillSignal=SIGINT:\n%s", unit)
	}
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatalf("restart: %v", r)
	}
	waitJournal(t, name, "motors off", 3)
	waitJournal(t, name, "ready", 4)
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatalf("restart of the enabled run: %v", r)
	}
	waitJournal(t, name, "motors off", 4)
	var st []struct {
		StopSignal string `json:"stop_signal"`
	}
	if r := runctl(t, "--json", "status", name); json.Unmarshal([]byte(r.stdout), &st) != nil || len(st) != 1 || st[0].StopSignal != "SIGINT" {
		t.Errorf("status --json: %s", r.stdout)
	}

	// Attached: Ctrl-C to runctl stops the run with SIGINT.
	fg := runName(t)
	cmd := runctlCmd(t, "/", "run", "-n", fg, "--stop-signal", "INT", "--", "python3", "-c", motorNode)
	var out, errb lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitJournal(t, fg, "ready", 1)
	syscall.Kill(sandbox.ChildPID(cmd.Process.Pid), syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("attached run after Ctrl-C: %v (the node exits 0 on SIGINT)\nstdout %s\nstderr %s", err, out.String(), errb.String())
	}
	if journalCount(t, fg, "motors off") != 1 || !strings.Contains(out.String(), "motors off") {
		t.Errorf("Ctrl-C did not reach the handler; stdout %q", out.String())
	}
}

// TestUIDGID: --uid/--gid run the program as that user and group, read from
// ps and /proc after run, restart and enable; the spec and environment
// file stay root's and 0600; an unknown user or group creates nothing.
func TestUIDGID(t *testing.T) {
	alone(t)
	name := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	if r := runctl(t, "run", "-d", "-n", name, "--uid", "daemon", "--gid", "adm", "-p", "SupplementaryGroups=dialout", "-E", "SECRET=s3cret", "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	check := func(when string) {
		t.Helper()
		pid := fmt.Sprint(mainPID(t, name))
		if got := strings.Fields(inside(t, "ps", "-o", "user=,group=", "-p", pid)); len(got) != 2 || got[0] != "daemon" || got[1] != "adm" {
			t.Errorf("%s: ps -o user,group: %q, want daemon adm", when, got)
		}
		status, _ := os.ReadFile(sbOf(t).Path("/proc/" + pid + "/status"))
		var groups string
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "Groups:") {
				groups = l
			}
		}
		if !strings.Contains(groups, "20") { // dialout
			t.Errorf("%s: supplementary groups %q lack dialout (20)", when, groups)
		}
		ents, err := os.ReadDir(sbOf(t).Path("/var/lib/runctl/runs"))
		if err != nil {
			t.Fatal(err)
		}
		for _, ent := range ents {
			fi, err := os.Stat(sbOf(t).Path("/var/lib/runctl/runs/" + ent.Name()))
			if err != nil || ent.IsDir() {
				continue
			}
			if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm()&0o077 != 0 || st.Uid != 0 {
				t.Errorf("%s: %s is mode %v owner %d, want root-only", when, ent.Name(), fi.Mode(), st.Uid)
			}
		}
	}
	check("after run")
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatalf("restart: %v", r)
	}
	check("after restart")
	if r := runctl(t, "enable", name); r.code != 0 {
		t.Fatalf("enable: %v", r)
	}
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatalf("restart: %v", r)
	}
	unit := inside(t, "cat", "/etc/systemd/system/runctl-"+name+".service")
	if !strings.Contains(unit, "\nUser=daemon\n") || !strings.Contains(unit, "\nGroup=adm\n") || strings.Contains(unit, "s3cret") {
		t.Errorf("unit file:\n%s", unit)
	}
	check("after enable")
	var st []struct{ User, Group string }
	if r := runctl(t, "--json", "status", name); json.Unmarshal([]byte(r.stdout), &st) != nil || len(st) != 1 || st[0].User != "daemon" || st[0].Group != "adm" {
		t.Errorf("status --json: %s", r.stdout)
	}

	bad := runName(t)
	for _, args := range [][]string{{"--uid", "no-such-user-x"}, {"--uid", "daemon", "--gid", "no-such-group-x"}, {"--user", "--uid", "daemon"}} {
		r := runctl(t, append(append([]string{"run", "-d", "-n", bad}, args...), "--", "sleep", "1000")...)
		if r.code == 0 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, args[len(args)-1]) && !strings.Contains(r.stderr, "system manager") {
			t.Errorf("%q: want one line naming the problem: %v", args, r)
		}
		if ls := prop(t, "runctl-"+bad+".service", "LoadState"); ls != "not-found" {
			t.Errorf("%q left unit %s", args, ls)
		}
		if _, err := os.Stat(sbOf(t).Path("/var/lib/runctl/runs/" + bad + ".json")); err == nil {
			t.Errorf("%q left a spec", args)
		}
	}
}

// TestAfter: --after puts After= and Wants= on the unit (systemctl show)
// and in the unit file, replayed by restart and kept by enable; starting
// the later run starts the enabled earlier one; an unknown run or a cycle is
// refused without touching anything.
func TestAfter(t *testing.T) {
	alone(t)
	a, b := runName(t), runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", b, a) })
	if r := runctl(t, "run", "-d", "-n", a, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	if r := runctl(t, "run", "-d", "-n", b, "--after", a, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run --after: %v", r)
	}
	unitA, unitB := "runctl-"+a+".service", "runctl-"+b+".service"
	check := func(when string) {
		t.Helper()
		for _, p := range []string{"After", "Wants"} {
			if got := inside(t, "systemctl", "show", "-P", p, unitB); !slices.Contains(strings.Fields(got), unitA) {
				t.Errorf("%s: %s of %s = %q, want %s in it", when, p, unitB, got, unitA)
			}
		}
	}
	check("after run")
	if r := runctl(t, "restart", b); r.code != 0 {
		t.Fatalf("restart: %v", r)
	}
	check("after restart")
	// The earlier run stays loaded while the later one names it: its
	// restart, and its stop and start, still bring it back.
	old := mainPID(t, a)
	if r := runctl(t, "restart", a); r.code != 0 {
		t.Fatalf("restart of the run named by --after: %v", r)
	}
	if pid := mainPID(t, a); pid == 0 || pid == old {
		t.Errorf("restart of %s: pid %d, was %d", a, pid, old)
	}
	for _, verb := range []string{"stop", "start"} {
		if r := runctl(t, verb, a); r.code != 0 {
			t.Fatalf("%s of the run named by --after: %v", verb, r)
		}
	}
	if pid := mainPID(t, a); pid == 0 {
		t.Errorf("%s is not running after stop and start", a)
	}
	// A new spec cannot replace the loaded unit: refused before the stop,
	// not started by name with the earlier -p settings.
	old = mainPID(t, a)
	r := runctl(t, "run", "-d", "--replace", "-n", a, "-p", "MemoryMax=300M", "--", "sleep", "1000")
	if r.code == 0 || !strings.Contains(r.stderr, "while "+b+", which names it in --after, is loaded") || mainPID(t, a) != old {
		t.Errorf("run --replace with a new -p of the run named by --after: %v; want it refused, pid %d left running", r, old)
	}
	for _, n := range []string{a, b} {
		if r := runctl(t, "enable", n); r.code != 0 {
			t.Fatalf("enable: %v", r)
		}
	}
	unit := inside(t, "cat", "/etc/systemd/system/"+unitB)
	if !strings.Contains(unit, "\nAfter="+unitA+"\n") || !strings.Contains(unit, "\nWants="+unitA+"\n") {
		t.Errorf("the unit file lacks After=/Wants=:\n%s", unit)
	}
	for _, n := range []string{b, a} {
		if r := runctl(t, "stop", n); r.code != 0 {
			t.Fatalf("stop: %v", r)
		}
	}
	if r := runctl(t, "start", b); r.code != 0 {
		t.Fatalf("start: %v", r)
	}
	check("after enable")
	if got := prop(t, unitA, "ActiveState"); got != "active" {
		t.Errorf("starting %s left %s %s, want it started first", b, a, got)
	}
	var st []struct{ After []string }
	if r := runctl(t, "--json", "status", b); json.Unmarshal([]byte(r.stdout), &st) != nil || len(st) != 1 || !slices.Equal(st[0].After, []string{a}) {
		t.Errorf("status --json: %s", r.stdout)
	}

	c := runName(t)
	for _, args := range [][]string{
		{"run", "-d", "-n", c, "--after", "no-such-run", "--", "sleep", "1000"},
		{"run", "-d", "-n", c, "--after", c, "--", "sleep", "1000"},
		{"run", "-d", "--replace", "-n", a, "--after", b, "--", "sleep", "1000"},
	} {
		pid := mainPID(t, a)
		r := runctl(t, args...)
		if r.code == 0 || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: want one line and a failure: %v", args, r)
		}
		t.Logf("%q: %s", args, r.stderr)
		if ls := prop(t, "runctl-"+c+".service", "LoadState"); ls != "not-found" {
			t.Errorf("%q left unit %s", args, ls)
		}
		if mainPID(t, a) != pid {
			t.Errorf("%q touched run %s", args, a)
		}
	}
	if got := inside(t, "systemctl", "show", "-P", "After", unitA); strings.Contains(got, unitB) {
		t.Errorf("the refused cycle reached %s: After=%s", unitA, got)
	}
}

// notifyNode sends READY=1 after DELAY seconds (argv[1]), printing
// "notifying" just before; with WATCHDOG (argv[2] = "ping") it then sends
// WATCHDOG=1 every 200 ms, unless the file argv[3] does not exist yet: that
// first instance creates it and hangs without a ping.
const notifyNode = `import os, socket, sys, time
def notify(msg):
    addr = os.environ["NOTIFY_SOCKET"]
    if addr[0] == "@":
        addr = "\0" + addr[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(msg, addr)
time.sleep(float(sys.argv[1]))
print("notifying", flush=True)
notify(b"READY=1")
if len(sys.argv) > 2 and not os.path.exists(sys.argv[3]):
    open(sys.argv[3], "w").close()
    print("hanging", flush=True)
    time.sleep(1000)
while True:
    if len(sys.argv) > 2:
        notify(b"WATCHDOG=1")
    time.sleep(0.2)
`

// TestNotifyReturnsOnReady: with --notify, run -d, restart and start (also
// once enabled) return only after the program sent READY=1: its
// "notifying" line, printed just before, is in the journal by then. The
// program waits 3 s, longer than the settle window, so a start that did
// not wait for READY=1 would return before the line. Through sh -c, whose
// child sends READY=1, too; a program that never sends it fails at
// TimeoutStartSec with a line saying so.
func TestNotifyReturnsOnReady(t *testing.T) {
	aloneLong(t)
	name := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	unit := "runctl-" + name + ".service"
	// sh -c with a second command forks python: the READY=1 comes from a
	// child of the main process.
	if r := runctl(t, "run", "-d", "-n", name, "--notify", "--", "sh", "-c", `python3 -c "$0" 3; exit 0`, notifyNode); r.code != 0 {
		t.Fatalf("run --notify: %v", r)
	}
	if n := journalCount(t, name, "notifying"); n != 1 {
		t.Fatalf("run -d returned before READY=1: %d notifying lines", n)
	}
	if got := strings.TrimSpace(inside(t, "systemctl", "show", "-P", "Type", unit)); got != "notify" {
		t.Errorf("Type=%s", got)
	}
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatalf("restart: %v", r)
	}
	if n := journalCount(t, name, "notifying"); n != 2 {
		t.Fatalf("restart returned before READY=1: %d notifying lines", n)
	}
	if r := runctl(t, "enable", name); r.code != 0 {
		t.Fatalf("enable: %v", r)
	}
	if u := inside(t, "cat", "/etc/systemd/system/"+unit); !strings.Contains(u, "\nType=notify\n") || !strings.Contains(u, "\nNotifyAccess=all\n") {
		t.Errorf("unit file:\n%s", u)
	}
	if r := runctl(t, "stop", name); r.code != 0 {
		t.Fatalf("stop: %v", r)
	}
	if r := runctl(t, "start", name); r.code != 0 {
		t.Fatalf("start: %v", r)
	}
	if n := journalCount(t, name, "notifying"); n != 3 {
		t.Fatalf("start of the enabled run returned before READY=1: %d notifying lines", n)
	}
	var st []struct{ Notify bool }
	if r := runctl(t, "--json", "status", name); json.Unmarshal([]byte(r.stdout), &st) != nil || len(st) != 1 || !st[0].Notify {
		t.Errorf("status --json: %s", r.stdout)
	}

	never := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", never) })
	r := runctl(t, "run", "-d", "-n", never, "--notify", "-p", "TimeoutStartSec=1s", "--", "sleep", "1000")
	if r.code == 0 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "READY=1") {
		t.Errorf("a program that never sends READY=1: %v", r)
	}
}

// TestWatchdogRestartsAHungNode: a node that stops sending WATCHDOG=1 is
// killed by systemd and, with --restart, started again (NRestarts);
// ls and status say it was the watchdog.
func TestWatchdogRestartsAHungNode(t *testing.T) {
	shared(t)
	name := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	unit := "runctl-" + name + ".service"
	once := "/run/" + name + ".once"
	t.Cleanup(func() { os.Remove(sbOf(t).Path(once)) })
	if r := runctl(t, "run", "-d", "-n", name, "--notify", "--watchdog", "1s", "--restart", "on-failure", "--", "python3", "-c", notifyNode, "0", "ping", once); r.code != 0 {
		t.Fatalf("run --watchdog: %v", r)
	}
	if got := strings.TrimSpace(inside(t, "systemctl", "show", "-P", "WatchdogUSec", unit)); got != "1s" {
		t.Errorf("WatchdogUSec=%s", got)
	}
	deadline := time.Now().Add(30 * time.Second)
	for prop(t, unit, "NRestarts") != "1" || journalCount(t, name, "notifying") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the hung node was not restarted:\n%s", inside(t, "systemctl", "status", "--no-pager", unit))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if j := inside(t, "journalctl", "--no-pager", "-o", "cat", "-u", unit); !strings.Contains(j, "Watchdog timeout") {
		t.Errorf("the journal does not show systemd's watchdog timeout:\n%s", j)
	}
	var st []struct {
		WatchdogAt *time.Time `json:"watchdog_timeout_at"`
		Restarts   int
	}
	if r := runctl(t, "--json", "status", name); json.Unmarshal([]byte(r.stdout), &st) != nil || len(st) != 1 || st[0].WatchdogAt == nil || st[0].Restarts != 1 {
		t.Errorf("status --json does not say the watchdog restarted it:\n%s", r.stdout)
	}
	if r := runctl(t, "status", name); !strings.Contains(r.stdout, "killed by the watchdog at") {
		t.Errorf("status does not say it was the watchdog:\n%s", r.stdout)
	}
	// Without --restart the run stays failed, and ls says why.
	once2 := once + "2"
	t.Cleanup(func() { os.Remove(sbOf(t).Path(once2)) })
	failed := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", failed) })
	if r := runctl(t, "run", "-d", "-n", failed, "--notify", "--watchdog", "1s", "--", "python3", "-c", notifyNode, "0", "ping", once2); r.code != 0 {
		t.Fatalf("run --watchdog: %v", r)
	}
	deadline = time.Now().Add(30 * time.Second)
	for prop(t, "runctl-"+failed+".service", "ActiveState") != "failed" {
		if time.Now().After(deadline) {
			t.Fatalf("the hung node did not fail")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var ls []struct {
		Name     string
		LastExit string `json:"last_exit"`
	}
	r := runctl(t, "--json", "ls")
	json.Unmarshal([]byte(r.stdout), &ls)
	i := slices.IndexFunc(ls, func(l struct {
		Name     string
		LastExit string `json:"last_exit"`
	}) bool {
		return l.Name == failed
	})
	if i < 0 || !strings.HasPrefix(ls[i].LastExit, "watchdog timeout, killed by SIGABRT") {
		t.Errorf("ls --json does not say the watchdog killed %s:\n%s", failed, r.stdout)
	}
	// The restarted node keeps pinging: it stays up.
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatalf("restart: %v", r)
	}
	if got := strings.TrimSpace(inside(t, "systemctl", "show", "-P", "WatchdogUSec", unit)); got != "1s" {
		t.Errorf("after restart WatchdogUSec=%s", got)
	}
}

// TestStdin: with -i an attached program reads runctl's stdin: from a pipe
// as a pipe, from a terminal through a pty (its stdin is a terminal); its
// output reaches runctl's stdout and the journal both ways.
func TestStdin(t *testing.T) {
	shared(t)
	script := `read a; read b; echo "got:$a:$b"; if test -t 0; then echo stdin-tty; else echo stdin-notty; fi`

	piped := runName(t)
	cmd := runctlCmd(t, "/", "run", "-i", "-n", piped, "--", "sh", "-c", script)
	cmd.Stdin = strings.NewReader("one\ntwo\n")
	r := finish(t, cmd)
	if r.code != 0 || !strings.Contains(r.stdout, "got:one:two\n") || !strings.Contains(r.stdout, "stdin-notty") {
		t.Errorf("piped: %v", r)
	}
	if journalCount(t, piped, "got:one:two") != 1 {
		t.Errorf("piped: the output is not in the journal")
	}

	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	go io.Copy(io.Discard, master) // what runctl echoes to its terminal
	termed := runName(t)
	cmd = runctlCmd(t, "/", "run", "-i", "-n", termed, "--", "sh", "-c", script)
	cmd.Stdin = slave
	master.Write([]byte("three\nfour\n"))
	r = finish(t, cmd)
	if r.code != 0 || !strings.Contains(r.stdout, "got:three:four") || !strings.Contains(r.stdout, "stdin-tty") {
		t.Errorf("from a terminal: %v", r)
	}
	if journalCount(t, termed, "got:three:four") != 1 {
		t.Errorf("from a terminal: the output is not in the journal")
	}
	// runctl gave the terminal back as it found it.
	if tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS); err != nil || tio.Lflag&unix.ICANON == 0 || tio.Lflag&unix.ECHO == 0 {
		t.Errorf("the terminal was left raw: %v", err)
	}

	if r := runctl(t, "run", "-d", "-i", "-n", runName(t), "--", "sleep", "1"); r.code == 0 || !strings.Contains(r.stderr, "-i needs an attached run") {
		t.Errorf("-i with -d: %v", r)
	}
}

// driverNode is ready three seconds after its start: it marks that in /run
// (empty at each boot) and then sends READY=1.
const driverNode = `import os, socket, time
time.sleep(3)
open("/run/driver.ready", "w").close()
addr = os.environ["NOTIFY_SOCKET"]
if addr[0] == "@":
    addr = "\0" + addr[1:]
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"READY=1", addr)
time.sleep(1000)
`

// TestAfterOrderAtBoot: two enabled runs, a planner --after a driver that
// is ready (READY=1) only three seconds after its start. Booted again, the
// planner starts only once the driver is ready: it finds the driver's mark.
func TestAfterOrderAtBoot(t *testing.T) {
	shared(t)
	boot, inEnv := rebootable(t)
	in := func(s *sandbox.Sandbox, args ...string) result { t.Helper(); return inEnv(s, nil, args...) }
	planner := `if test -e /run/driver.ready; then echo driver-ready:yes; else echo driver-ready:no; fi; exec sleep 1000`

	s := boot()
	for _, args := range [][]string{
		{"run", "-d", "--enable", "--notify", "-n", "driver", "--", "python3", "-c", driverNode},
		{"run", "-d", "--enable", "--after", "driver", "-n", "planner", "--", "sh", "-c", planner},
	} {
		if r := in(s, args...); r.code != 0 {
			s.Close()
			t.Fatalf("%q: %v", args, r)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = boot()
	defer s.Close()
	// The planner's line of this boot (each boot of the sandbox has its
	// own boot id).
	deadline := time.Now().Add(60 * time.Second)
	var lines []string
	for len(lines) < 1 {
		if time.Now().After(deadline) {
			st, _ := s.Command(t.Context(), "systemctl", "status", "--no-pager", "runctl-planner.service", "runctl-driver.service").CombinedOutput()
			t.Fatalf("the planner did not start at boot:\n%s", st)
		}
		time.Sleep(100 * time.Millisecond)
		out, _ := s.Command(t.Context(), "journalctl", "-b", "--no-pager", "-o", "cat", "-u", "runctl-planner.service").Output()
		lines = nil
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "driver-ready:") {
				lines = append(lines, l)
			}
		}
	}
	if lines[0] != "driver-ready:yes" {
		t.Errorf("at boot the planner started before the driver was ready: %q", lines)
	}
	after, _ := s.Command(t.Context(), "systemctl", "show", "-P", "After", "runctl-planner.service").Output()
	if !strings.Contains(string(after), "runctl-driver.service") {
		t.Errorf("After= of the planner at boot: %s", after)
	}
	if unitActive(t, s, "runctl-driver.service") != "active" {
		t.Errorf("the driver is not running after the boot")
	}
}

// TestControlsExactAcrossDaemonReload: what run's controls set on a unit is
// the same after a daemon-reload (the manager re-reads its own record of
// the transient unit) and after systemd restarts the unit by itself.
func TestControlsExactAcrossDaemonReload(t *testing.T) {
	alone(t)
	first, name := runName(t), runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", name, first) })
	if r := runctl(t, "run", "-d", "-n", first, "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	if r := runctl(t, "run", "-d", "-n", name, "--uid", "daemon", "--gid", "adm", "--after", first,
		"--notify", "--watchdog", "1h", "--stop-signal", "SIGINT", "--restart", "always",
		"-p", "MemoryMax=64M", "-p", "CPUQuota=50%", "-p", "Nice=3", "-p", "LimitNOFILE=1000:2000",
		"-p", "DeviceAllow=/dev/null rw", "-p", "DeviceAllow=char-pts r", "-p", "SupplementaryGroups=dialout video",
		"-p", "TimeoutStopSec=1min 30s", "-p", "TimeoutStartSec=20s",
		"--", "python3", "-c", notifyNode, "0"); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	unit := "runctl-" + name + ".service"
	props := "Type,NotifyAccess,WatchdogUSec,User,Group,KillSignal,Restart,MemoryMax,CPUQuotaPerSecUSec,Nice,LimitNOFILE,LimitNOFILESoft,DeviceAllow,SupplementaryGroups,TimeoutStopUSec,TimeoutStartUSec,Wants"
	show := func() string {
		lines := strings.Split(inside(t, "systemctl", "show", "-p", props, unit), "\n")
		slices.Sort(lines) // DeviceAllow's order is the manager's
		return strings.Join(lines, "\n") + "\n"
	}
	before := show()
	for _, want := range []string{"Type=notify", "NotifyAccess=all", "WatchdogUSec=1h", "User=daemon", "Group=adm", "KillSignal=2", "MemoryMax=67108864", "SupplementaryGroups=dialout video", "Wants=runctl-" + first + ".service"} {
		if !strings.Contains(before, want+"\n") {
			t.Errorf("systemctl show lacks %s:\n%s", want, before)
		}
	}
	inside(t, "systemctl", "daemon-reload")
	if after := show(); after != before {
		t.Errorf("after daemon-reload:\n%s\nbefore:\n%s", after, before)
	}
	pid := mainPID(t, name)
	inside(t, "systemctl", "kill", "-s", "KILL", unit) // Restart=always: systemd starts it again
	deadline := time.Now().Add(30 * time.Second)
	for journalCount(t, name, "notifying") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("systemd did not restart the run")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if mainPID(t, name) == pid {
		t.Fatal("the killed process is still the main one")
	}
	if after := show(); after != before {
		t.Errorf("after systemd's own restart:\n%s\nbefore:\n%s", after, before)
	}
	e := readEffects(t, name)
	if e.ni != "3" || e.usr != "daemon" || limitLine(e.limits, "Max open files") != "1000 2000 files" {
		t.Errorf("after systemd's own restart: ni %q user %q nofile %q", e.ni, e.usr, limitLine(e.limits, "Max open files"))
	}
}
