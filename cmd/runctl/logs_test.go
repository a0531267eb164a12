package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runctl/runctl/sandbox"
)

type logRecord struct {
	Message      string `json:"message"`
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

	all := logsJSON(t, "-I", "all", "-n", "0", name)
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
	// Without NAME: the most recent run.
	if r := runctl(t, "logs"); !strings.Contains(r.stdout, fmt.Sprintf("out %d", second)) {
		t.Errorf("logs without NAME:\n%v", r)
	}
}

// A 10,000 lines/s producer, followed: every line arrives.
func TestLogsFollowLosesNothing(t *testing.T) {
	const lines = 20000
	name := runName(t)
	// Paced at 500 lines per ~50 ms; starts once the follower is attached.
	script := fmt.Sprintf(`while [ ! -e /run/go-%s ]; do sleep 0.05; done; awk 'BEGIN { for (i = 1; i <= %d; i++) { print "line " i; if (i %% 500 == 0) { fflush(); system("sleep 0.045") } } print "DONE"; fflush() }'; exec sleep 1000`, name, lines)
	if r := runctl(t, "run", "-d", "--no-log-limit", "-n", name, "--", "sh", "-c", script); r.code != 0 {
		t.Fatal(r)
	}
	follow := runctlCmd(t, "/", "logs", "-f", "--no-hostname", name)
	out, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(sandbox.ChildPID(follow.Process.Pid), syscall.SIGINT)
		follow.Wait()
	}()
	time.Sleep(300 * time.Millisecond)
	begin := time.Now()
	inside(t, "touch", "/run/go-"+name)
	seen := make(map[int]bool, lines)
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasSuffix(line, ": DONE") {
			break
		}
		if i := strings.LastIndex(line, ": line "); i >= 0 {
			n, _ := strconv.Atoi(line[i+len(": line "):])
			seen[n] = true
		}
	}
	took := time.Since(begin)
	go io.Copy(io.Discard, out)
	if len(seen) != lines {
		t.Fatalf("follow saw %d of %d lines", len(seen), lines)
	}
	t.Logf("followed %d lines in %v (%.0f lines/s)", lines, took, lines/took.Seconds())
}

func TestStatus(t *testing.T) {
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
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sh", "-c", "echo for-members; exec sleep 1000"); r.code != 0 {
		t.Fatal(r)
	}
	inside(t, "sh", "-c", "id runctl-reader >/dev/null 2>&1 || useradd -M -U -G systemd-journal runctl-reader")
	as := func(user, group string) result {
		cmd := sb.CommandIn(t.Context(), "/", "setpriv", "--reuid="+user, "--regid="+group, "--init-groups", binDir+"/runctl", "--system", "logs", "-I", "all", name)
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
