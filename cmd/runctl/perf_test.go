package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/runctl/runctl/systemdctl"
)

// stop escalates at the run's --stop-timeout, which its unit carries as
// TimeoutStopSec, without reading the run's spec.
func TestStopTakesTheTimeoutFromTheUnit(t *testing.T) {
	alone(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--stop-timeout", "300ms", "--", "sh", "-c", ignoreTERM); r.code != 0 {
		t.Fatal(r)
	}
	waitFor(t, func() bool {
		return strings.Contains(inside(t, "journalctl", "-t", name, "-o", "cat", "--since=-1min"), "ignoring-term")
	}, "the trap")
	trace := "/run/" + name + ".strace"
	cmd := sbOf(t).CommandIn(bounded(t), "/", "strace", "-f", "-qq", "-e", "trace=open,openat", "-o", trace, binDir+"/runctl", "stop", name)
	cmd.Env = runctlCmd(t, "/").Env
	r := finish(t, cmd)
	if r.code != 0 || !strings.Contains(r.stdout, "killed by SIGKILL") || !strings.Contains(r.stdout, "escalated") {
		t.Fatalf("stop of a SIGTERM-ignoring run made with --stop-timeout 300ms: %v", r)
	}
	if opens := inside(t, "cat", trace); strings.Contains(opens, name+".json") {
		t.Fatalf("stop read the run's spec:\n%s", opens)
	}
}

// pid1Calls returns the D-Bus method calls the sandbox's manager received
// while f ran, as "member path" lines: PID 1 logs each one at debug level.
func pid1Calls(t *testing.T, f func()) []string {
	t.Helper()
	inside(t, "systemd-analyze", "log-level", "debug")
	defer inside(t, "systemd-analyze", "log-level", "info")
	cursor := strings.TrimPrefix(strings.TrimSpace(inside(t, "journalctl", "-q", "-n", "0", "--show-cursor")), "-- cursor: ")
	f()
	inside(t, "journalctl", "--sync")
	var calls []string
	for _, line := range strings.Split(inside(t, "journalctl", "-q", "_PID=1", "--after-cursor="+cursor, "-o", "cat"), "\n") {
		if !strings.Contains(line, "Got message type=method_call") {
			continue
		}
		var member, path string
		for _, field := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(field, "member="); ok {
				member = v
			}
			if v, ok := strings.CutPrefix(field, "path="); ok {
				path = v
			}
		}
		calls = append(calls, member+" "+path)
	}
	return calls
}

// ls asks for the restart count only of runs that systemd restarts by
// themselves (every other's is 0), and still shows it for those.
func TestLsReadsRestartCountsOnlyOfRestartingRuns(t *testing.T) {
	alone(t)
	plain, restarting := runName(t), runName(t)
	if r := runctl(t, "run", "-d", "-n", plain, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	if r := runctl(t, "run", "-d", "--settle=0", "-n", restarting, "--restart=always", "--restart-delay=10ms", "--", "sh", "-c", "sleep 0.05"); r.code != 0 {
		t.Fatal(r)
	}
	type listed struct {
		Name     string `json:"name"`
		Restarts int    `json:"restarts"`
	}
	waitFor(t, func() bool {
		var runs []listed
		json.Unmarshal([]byte(runctl(t, "ls", "--json").stdout), &runs)
		return slices.ContainsFunc(runs, func(r listed) bool { return r.Name == restarting && r.Restarts >= 2 })
	}, "ls to show the restarting run's restarts")
	calls := pid1Calls(t, func() {
		if r := runctl(t, "ls"); r.code != 0 {
			t.Fatal(r)
		}
	})
	count := func(name string) (n int) {
		for _, c := range calls {
			if strings.HasPrefix(c, "Get ") && strings.HasSuffix(c, "/runctl_2d"+name+"_2eservice") {
				n++
			}
		}
		return n
	}
	// Its one process is its main: pid and start come from the cgroup.
	if n := count(plain); n != 0 {
		t.Errorf("ls read %d properties of a running one-process run without --restart, want none:\n%s", n, strings.Join(calls, "\n"))
	}
	// Caught waiting to restart, it also has when it restarts read
	// (systemdctl.RestartProps), for "restarting in 2s".
	// A run that restarts every 60 ms may change state between ls's reads.
	if n := count(restarting); n < 1 || n > 3+len(systemdctl.RestartProps) {
		t.Errorf("ls read %d properties of a restarting run, want its state's and NRestarts (and when it restarts, if it waits to):\n%s", n, strings.Join(calls, "\n"))
	}
}

// On the private socket (root's), PID 1 signals every connection unasked:
// runctl sends no AddMatch (which the socket cannot answer) and no
// Subscribe, and each verb only the calls it needs.
func TestVerbsSendOnlyTheCallsTheyNeed(t *testing.T) {
	alone(t)
	name := runName(t)
	for _, c := range []struct {
		args []string
		want map[string]int
	}{
		{[]string{"run", "-d", "--settle=0", "-n", name, "--", "sleep", "1000"}, map[string]int{"ListUnitsByNames": 1, "StartTransientUnit": 1}},
		{[]string{"restart", "--settle=0", name}, map[string]int{"ListUnitsByNames": 1, "StopUnit": 1, "StartTransientUnit": 1}},
		{[]string{"stop", name}, map[string]int{"ListUnitsByNames": 1, "StopUnit": 1}},
	} {
		calls := pid1Calls(t, func() {
			if r := runctl(t, c.args...); r.code != 0 {
				t.Fatal(r)
			}
		})
		got := map[string]int{}
		for _, call := range calls {
			member, _, _ := strings.Cut(call, " ")
			got[member]++
		}
		if !maps.Equal(got, c.want) {
			t.Errorf("runctl %s made the calls %v, want %v:\n%s", strings.Join(c.args, " "), got, c.want, strings.Join(calls, "\n"))
		}
	}
}
