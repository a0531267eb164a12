package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runctl/runctl/sandbox"
)

type logRecord struct {
	Message      string `json:"message"`
	MessageBytes []byte `json:"message_bytes"`
	Dropped      int    `json:"dropped"`
	PID          int    `json:"pid"`
	Priority     int    `json:"priority"`
	Source       string `json:"source"`
	InvocationID string `json:"invocation_id"`
}

func logsJSON(t *testing.T, args ...string) []logRecord {
	t.Helper()
	r := runctl(t, append([]string{"--json", "logs"}, args...)...)
	if r.code != 0 {
		t.Fatalf("logs: %v", r)
	}
	var out []logRecord
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if line == "" {
			continue
		}
		var l logRecord
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("logs --json line %q: %v", line, err)
		}
		out = append(out, l)
	}
	return out
}

func programLines(recs []logRecord) []string {
	var out []string
	for _, r := range recs {
		if r.Source == "program" {
			out = append(out, fmt.Sprintf("%d:%s", r.PID, r.Message))
		}
	}
	return out
}

func TestLogsAgreeWithJournalctlAcrossRestart(t *testing.T) {
	alone(t)
	name := runName(t)
	script := `echo "out $$"; echo "err $$" >&2; echo "<3>urgent $$"; exec sleep 1000`
	if r := runctl(t, "run", "-d", "-n", name, "--", "sh", "-c", script); r.code != 0 {
		t.Fatal(r)
	}
	first := mainPID(t, name)
	waitFor(t, func() bool { return strings.Contains(inside(t, "journalctl", "-t", name, "-o", "cat"), "urgent") }, "the first instance's output")
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatal(r)
	}
	second := mainPID(t, name)
	waitFor(t, func() bool {
		return strings.Count(inside(t, "journalctl", "-t", name, "-o", "cat"), "urgent") == 2
	}, "the second instance's output")
	inside(t, "journalctl", "--sync")

	all := logsJSON(t, "-I", "all", "-n", "all", name)
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(inside(t, "journalctl", "--no-pager", "-u", "runctl-"+name+".service", "-o", "json", "--output-fields=MESSAGE")), "\n") {
		var e struct {
			Message string `json:"MESSAGE"`
		}
		json.Unmarshal([]byte(line), &e)
		want = append(want, e.Message)
	}
	var got []string
	for _, l := range all {
		got = append(got, l.Message)
	}
	if !equal(got, want) {
		t.Fatalf("runctl logs -I all and journalctl -u differ:\nrunctl:     %q\njournalctl: %q", got, want)
	}
	pidLines := func(pid int) []string {
		return []string{fmt.Sprintf("%d:out %d", pid, pid), fmt.Sprintf("%d:err %d", pid, pid), fmt.Sprintf("%d:urgent %d", pid, pid)}
	}
	if got := programLines(logsJSON(t, "-I", "previous", name)); !equal(got, pidLines(first)) {
		t.Errorf("logs -I previous = %q, want the first instance's %q", got, pidLines(first))
	}
	if got := programLines(logsJSON(t, name)); !equal(got, pidLines(second)) {
		t.Errorf("logs (current) = %q, want the second instance's %q", got, pidLines(second))
	}
	// A line the program marks <3> is err priority, and marked in text.
	for _, l := range all {
		if strings.HasPrefix(l.Message, "urgent") && l.Priority != 3 {
			t.Errorf("<3> line has priority %d", l.Priority)
		}
	}
	text := runctl(t, "logs", name)
	if !strings.Contains(text.stdout, fmt.Sprintf("[err] urgent %d", second)) || !strings.Contains(text.stdout, fmt.Sprintf("out %d", second)) {
		t.Errorf("logs text:\n%s", text.stdout)
	}
	// Without NAME: the only running run.
	if r := runctl(t, "logs"); !strings.Contains(r.stdout, fmt.Sprintf("out %d", second)) {
		t.Errorf("logs without NAME:\n%v", r)
	}
}

// follower is a running `runctl logs -f ...`, its output read line by line.
type follower struct {
	cmd    *exec.Cmd
	lines  *bufio.Scanner
	stderr *bufio.Reader
}

// startFollow starts `runctl logs -f args...`; cleanup interrupts it. A
// follower still running after a minute is interrupted, so a test waiting
// for a line that never comes fails instead of hanging.
func startFollow(t *testing.T, args ...string) *follower {
	t.Helper()
	return startFollowEnv(t, nil, args...)
}

// startFollowEnv is startFollow with env added to runctl's environment.
func startFollowEnv(t *testing.T, env []string, args ...string) *follower {
	t.Helper()
	cmd := runctlCmd(t, "/", append([]string{"logs", "-f", "--no-hostname"}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errOut, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() { syscall.Kill(sandbox.ChildPID(cmd.Process.Pid), syscall.SIGINT) }
	timer := time.AfterFunc(time.Minute, stop)
	t.Cleanup(func() {
		timer.Stop()
		stop()
		go io.Copy(io.Discard, out)
		go io.Copy(io.Discard, errOut)
		cmd.Wait()
	})
	sc := bufio.NewScanner(out)
	sc.Buffer(nil, 1<<20)
	return &follower{cmd: cmd, lines: sc, stderr: bufio.NewReader(errOut)}
}

// burstLines reads a follower until a line ending in ": "+last and returns
// the numbers of the "line N" lines it printed, in order.
func (f *follower) burstLines(t *testing.T, last string) []int {
	t.Helper()
	var seen []int
	for f.lines.Scan() {
		line := f.lines.Text()
		if strings.HasSuffix(line, ": "+last) {
			return seen
		}
		if i := strings.LastIndex(line, ": line "); i >= 0 {
			n, _ := strconv.Atoi(line[i+len(": line "):])
			seen = append(seen, n)
		}
	}
	t.Fatalf("logs -f ended before %q; it printed %d burst lines", last, len(seen))
	return nil
}

// checkRun says where seen, which should be the consecutive numbers
// first..last, is not.
func checkRun(seen []int, first, last int) error {
	if len(seen) == 0 {
		return fmt.Errorf("no line printed, want %d..%d", first, last)
	}
	for i, n := range seen {
		if n != first+i {
			return fmt.Errorf("%d lines printed, want %d..%d; line %d is %d (missing or repeated lines)", len(seen), first, last, i, n)
		}
	}
	if seen[len(seen)-1] != last {
		return fmt.Errorf("the last line printed is %d, want %d", seen[len(seen)-1], last)
	}
	return nil
}

// A 20,000-line burst, followed with the default -n by a `logs -f` started
// before the run's first start: every line arrives, in order. journalctl
// 252 following with --lines=N from before a unit's first entry skipped
// the first ~10,000.
func TestLogsFollowBurstFromBeforeStart(t *testing.T) {
	shared(t)
	const lines = 20000
	name := runName(t)
	f := startFollow(t, name)
	// The follower has looked at the journal once it says the name is not
	// known yet.
	if note, err := f.stderr.ReadString('\n'); err != nil {
		t.Fatalf("logs -f of a run not started yet: %v", err)
	} else {
		t.Logf("logs -f: %s", strings.TrimSpace(note))
	}
	begin := time.Now()
	script := fmt.Sprintf(`seq -f "line %%.0f" 1 %d; echo DONE; exec sleep 1000`, lines)
	if r := runctl(t, "run", "-d", "--no-log-limit", "-n", name, "--", "sh", "-c", script); r.code != 0 {
		t.Fatal(r)
	}
	seen := f.burstLines(t, "DONE")
	took := time.Since(begin)
	if err := checkRun(seen, 1, lines); err != nil {
		t.Fatalf("logs -f from before the start: %v", err)
	}
	t.Logf("followed %d lines in %v (%.0f lines/s)", lines, took, lines/took.Seconds())
}

// `logs -f -n 0` started in the middle of a 20,000-line burst prints only
// what comes after, every line of it.
func TestLogsFollowFromMidBurst(t *testing.T) {
	shared(t)
	const lines = 20000
	name := runName(t)
	// ~5,000 lines/s, then a tick every 0.1 s: a follower that started
	// after the burst sees ticks only, and fails instead of hanging.
	script := fmt.Sprintf(`awk 'BEGIN { for (i = 1; i <= %d; i++) { print "line " i; if (i %% 500 == 0) { fflush(); system("sleep 0.1") } } fflush() }'; while :; do echo tick; sleep 0.1; done`, lines)
	if r := runctl(t, "run", "-d", "--no-log-limit", "-n", name, "--", "sh", "-c", script); r.code != 0 {
		t.Fatal(r)
	}
	unit := "runctl-" + name + ".service"
	waitFor(t, func() bool {
		n, _ := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(inside(t, "journalctl", "-u", unit, "-n", "1", "-o", "cat")), "line "))
		return n >= 2000
	}, "the first 2,000 lines")
	f := startFollow(t, "-n", "0", name)
	seen := f.burstLines(t, "tick")
	if len(seen) == 0 {
		t.Fatal("logs -f -n 0 printed no line of the burst: it started after the burst (machine too slow?)")
	}
	if seen[0] <= 2000 {
		t.Fatalf("logs -f -n 0 printed line %d, written before it started: -n 0 shows no earlier lines", seen[0])
	}
	if err := checkRun(seen, seen[0], lines); err != nil {
		t.Fatalf("logs -f -n 0 from mid-burst: %v", err)
	}
}

// Lines of 5,000 and 200,000 bytes (journald splits lines over its LineMax,
// 48 KiB, into several entries) and a line with the byte \260 come out
// whole and unchanged: attached, in logs, logs --json and status --json.
func TestLogsLongLinesAndRawBytes(t *testing.T) {
	shared(t)
	name := runName(t)
	long5k, long200k, raw := strings.Repeat("a", 5000), strings.Repeat("b", 200000), "25\260C"
	script := `head -c 5000 /dev/zero | tr '\000' a; echo; head -c 200000 /dev/zero | tr '\000' b; echo; printf '25\260C\n'`
	r := runctl(t, "run", "-n", name, "--", "sh", "-c", script)
	if want := long5k + "\n" + long200k + "\n" + raw + "\n"; r.code != 0 || r.stdout != want {
		t.Fatalf("attached output: exit %d, %d bytes %q..., want %d bytes", r.code, len(r.stdout), head(r.stdout), len(want))
	}
	inside(t, "journalctl", "--sync")
	text := strings.Split(strings.TrimSuffix(runctl(t, "logs", "--no-hostname", "-n", "all", name).stdout, "\n"), "\n")
	var got []string
	from := -1 // where the 200,000-byte line is
	for i, l := range text {
		// The program's lines are "TIME NAME[PID]: MESSAGE".
		if j, k := strings.Index(l, " "+name+"["), strings.Index(l, "]: "); j >= 0 && k > j {
			got = append(got, l[k+3:])
			if l[k+3:] == long200k {
				from = i
			}
		}
	}
	if !equal(got, []string{long5k, long200k, raw}) {
		t.Errorf("logs prints %d lines %q, want the 5,000- and 200,000-byte lines and %q", len(got), headAll(got), raw)
	}
	// The last lines from the 200,000-byte one on, which is 5 entries in
	// the journal: -n counts lines, not entries.
	if from >= 0 {
		n := len(text) - from
		last := runctl(t, "logs", "-n", strconv.Itoa(n), name).stdout
		if first, _, _ := strings.Cut(last, "\n"); !strings.HasSuffix(first, ": "+long200k) {
			t.Errorf("logs -n %d does not start with the whole 200,000-byte line: %q", n, head(last))
		}
	}
	var msgs []string
	for _, l := range logsJSON(t, name) {
		if l.Source == "program" {
			m := l.Message
			if l.MessageBytes != nil {
				m = string(l.MessageBytes)
			}
			msgs = append(msgs, m)
		}
	}
	if !equal(msgs, []string{long5k, long200k, raw}) {
		t.Errorf("logs --json messages (message_bytes when set) %q", headAll(msgs))
	}
	var st []struct {
		Logs []logRecord `json:"logs"`
	}
	r = runctl(t, "--json", "status", name)
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st) != 1 {
		t.Fatalf("status --json: %v\n%s", err, head(r.stdout))
	}
	found := false
	for _, l := range st[0].Logs {
		found = found || l.Message == long200k
	}
	if !found {
		t.Errorf("status --json lacks the 200,000-byte line: %q", head(r.stdout))
	}
}

func head(s string) string {
	if len(s) > 200 {
		return s[:200] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}

func headAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = head(s)
	}
	return out
}

// lowerJournaldBurst makes journald drop a unit's lines beyond 100 per 2 s
// (scaled up by free space, to a few hundred), until the test ends.
func lowerJournaldBurst(t *testing.T) {
	t.Helper()
	sandbox.Need(t, sbOf(t))
	dir := sbOf(t).Path("/etc/systemd/journald.conf.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "50-runctl-test.conf")
	if err := os.WriteFile(conf, []byte("[Journal]\nRateLimitIntervalSec=2s\nRateLimitBurst=100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Remove(conf)
		sbOf(t).Command(context.Background(), "systemctl", "restart", "systemd-journald").Run()
	})
	inside(t, "systemctl", "restart", "systemd-journald")
}

// countLines counts a run's "line N" lines in the journal, as logs prints them.
func countLines(t *testing.T, name string) int {
	t.Helper()
	r := runctl(t, "logs", "-I", "all", "-n", "all", name)
	if r.code != 0 {
		t.Fatalf("logs: %v", r)
	}
	return strings.Count(r.stdout, ": line ")
}

// With journald's burst lowered: --no-log-limit keeps every line, for a
// transient and an enabled run; an attached run keeps every line; a -d run
// without it loses lines, and logs, logs --json and status say how many.
func TestLogsRateLimit(t *testing.T) {
	alone(t)
	const lines = 3000
	lowerJournaldBurst(t)
	flood := fmt.Sprintf(`seq -f "line %%.0f" 1 %d`, lines)
	lifted, enabled, limited, attached := runName(t), runName(t), runName(t), runName(t)
	if r := runctl(t, "run", "-d", "--no-log-limit", "-n", lifted, "--", "sh", "-c", flood+"; echo DONE; exec sleep 1000"); r.code != 0 {
		t.Fatal(r)
	}
	t.Cleanup(func() { runctl(t, "rm", "-f", enabled) })
	if r := runctl(t, "run", "-d", "--enable", "--no-log-limit", "-n", enabled, "--", "sh", "-c", flood+"; echo DONE; exec sleep 1000"); r.code != 0 {
		t.Fatal(r)
	}
	// journald reports drops when the unit logs again after its interval.
	if r := runctl(t, "run", "-d", "-n", limited, "--", "sh", "-c", flood+"; sleep 2.5; echo DONE; exec sleep 1000"); r.code != 0 {
		t.Fatal(r)
	}
	r := runctl(t, "run", "-n", attached, "--", "sh", "-c", flood)
	if n := strings.Count(r.stdout, "line "); r.code != 0 || n != lines {
		t.Errorf("an attached run printed %d of %d lines (exit %d)\n%s", n, lines, r.code, r.stderr)
	}
	// The journal sync after the program (ExecStopPost=) needs root; as
	// another user it fails without a line of output.
	if r := runctl(t, "run", "--uid", "nobody", "-n", runName(t), "--", "sh", "-c", "echo only-this"); r.code != 0 || r.stdout != "only-this\n" || r.stderr != "" {
		t.Errorf("an attached run as nobody: %v", r)
	}
	for _, name := range []string{lifted, enabled, limited} {
		waitFor(t, func() bool {
			return strings.Contains(inside(t, "journalctl", "-t", name, "-o", "cat", "-n", "1"), "DONE")
		}, name+"'s last line")
	}
	inside(t, "journalctl", "--sync")
	if n := countLines(t, lifted); n != lines {
		t.Errorf("run -d --no-log-limit kept %d of %d lines", n, lines)
	}
	if n := countLines(t, enabled); n != lines {
		t.Errorf("run -d --enable --no-log-limit kept %d of %d lines", n, lines)
	}
	kept := countLines(t, limited)
	if kept == lines {
		t.Fatalf("journald dropped none of %d lines: its burst was not lowered", lines)
	}
	dropped := 0
	for _, l := range logsJSON(t, "-n", "all", limited) {
		if l.Source == "journald" {
			dropped += l.Dropped
		}
	}
	if kept+dropped != lines {
		t.Errorf("logs --json: %d lines kept and %d reported dropped, want %d in all", kept, dropped, lines)
	}
	marker := fmt.Sprintf("journald dropped %d lines of runctl-%s.service", lines-kept, limited)
	if r := runctl(t, "logs", limited); !strings.Contains(r.stdout, marker) {
		t.Errorf("logs lacks %q:\n%s", marker, head(r.stdout))
	}
	if r := runctl(t, "status", limited); !strings.Contains(r.stdout, marker) {
		t.Errorf("status lacks %q:\n%s", marker, r.stdout)
	}
}

// A name runctl and systemd do not know is an error; a known run with no
// output yet is not.
func TestLogsUnknownName(t *testing.T) {
	shared(t)
	for _, args := range [][]string{{"logs", "no-such-run"}, {"logs", "-I", "all", "no-such-run"}, {"--json", "logs", "no-such-run"}} {
		r := runctl(t, args...)
		if r.code == 0 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || !strings.Contains(r.stderr, "no-such-run") {
			t.Errorf("runctl %q: want a one-line error naming the run: %v", args, r)
		}
	}
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	for _, args := range [][]string{{"logs", name}, {"logs", "-I", "all", "-p", "err", name}} {
		if r := runctl(t, args...); r.code != 0 {
			t.Errorf("runctl %q of a run with no output yet: %v", args, r)
		}
	}
}

func TestStatus(t *testing.T) {
	shared(t)
	name, stopped := runName(t), runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sh", "-c", "echo hello-status; sleep 1000 & wait"); r.code != 0 {
		t.Fatal(r)
	}
	if r := runctl(t, "run", "-d", "-n", stopped, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	if r := runctl(t, "stop", stopped); r.code != 0 {
		t.Fatal(r)
	}
	pid := mainPID(t, name)
	waitFor(t, func() bool { return strings.Contains(inside(t, "journalctl", "-t", name, "-o", "cat"), "hello-status") }, "output")
	r := runctl(t, "status", name)
	if r.code != 0 {
		t.Fatalf("status of an active run: %v", r)
	}
	for _, want := range []string{"● " + name, "active (running)", "Main PID: " + strconv.Itoa(pid), "runctl-" + name + ".service", "autostart off", "hello-status", "sleep 1000", "Restarts: 0"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := runctl(t, "status", stopped); r.code != 3 {
		t.Errorf("status of a stopped run: exit %d, want 3\n%v", r.code, r)
	}
	if r := runctl(t, "status", "no-such-run"); r.code != 4 {
		t.Errorf("status of an unknown run: exit %d, want 4\n%v", r.code, r)
	}
	r = runctl(t, "--json", "status", name)
	var st []struct {
		Name      string `json:"name"`
		State     string `json:"state"`
		PID       int    `json:"pid"`
		Processes []struct {
			PID int `json:"pid"`
		} `json:"processes"`
		Logs []struct {
			Message string `json:"message"`
		} `json:"logs"`
		MemoryBytes *uint64  `json:"memory_bytes"`
		Command     []string `json:"command"`
		Autostart   bool     `json:"autostart"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st) != 1 {
		t.Fatalf("status --json: %v\n%v", err, r)
	}
	s := st[0]
	if s.State != "active" || s.PID != pid || len(s.Processes) != 2 || s.Processes[0].PID != pid || len(s.Logs) == 0 || len(s.Command) != 3 {
		t.Fatalf("status --json: %+v", s)
	}
}

func TestLogsNeedJournalGroup(t *testing.T) {
	alone(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sh", "-c", "echo for-members; exec sleep 1000"); r.code != 0 {
		t.Fatal(r)
	}
	inside(t, "sh", "-c", "id runctl-reader >/dev/null 2>&1 || useradd -M -U -G systemd-journal runctl-reader")
	as := func(user, group string) result {
		cmd := sbOf(t).CommandIn(bounded(t), "/", "setpriv", "--reuid="+user, "--regid="+group, "--init-groups", binDir+"/runctl", "--system", "logs", "-I", "all", name)
		return finish(t, cmd)
	}
	if r := as("nobody", "nogroup"); r.code == 0 || !strings.Contains(r.stderr, "systemd-journal") {
		t.Errorf("logs as a non-member: %v", r.String())
	}
	waitFor(t, func() bool { return strings.Contains(inside(t, "journalctl", "-t", name, "-o", "cat"), "for-members") }, "output")
	if r := as("runctl-reader", "runctl-reader"); r.code != 0 || !strings.Contains(r.stdout, "for-members") {
		t.Errorf("logs as a systemd-journal member: %v", r)
	}
}
