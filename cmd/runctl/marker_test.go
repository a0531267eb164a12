package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestStopMarkerGoesWithTheStop: runctl's stop of a run that another run
// names in --after (so its unit stays loaded) holds the recorder off for
// that stop only: when the other run starts it again and it ends, that
// end is recorded as it was, not as "stopped by runctl".
func TestStopMarkerGoesWithTheStop(t *testing.T) {
	shared(t)
	a, b := runName(t), runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", b, a) })
	for _, args := range [][]string{
		{"run", "-d", "--settle", "0", "-n", a, "--", "sleep", "1001"},
		{"run", "-d", "--settle", "0", "-n", b, "--after", a, "--", "sleep", "1002"},
		{"stop", a},
	} {
		if r := runctl(t, args...); r.code != 0 {
			t.Fatalf("runctl %q: %v", args, r)
		}
	}
	inside(t, "systemctl", "restart", "runctl-"+b+".service") // starts a through Wants=
	if s := waitState(t, a, "active"); s != "active" {
		t.Fatalf("runctl-%s.service is %s after a restart of %s, which wants it", a, s, b)
	}
	inside(t, "systemctl", "kill", "-s", "TERM", "runctl-"+a+".service")
	if got := waitRecord(t, a, "success killed TERM"); got != "success killed TERM" {
		t.Fatalf("the record of %s, killed by systemctl kill, is %q; want %q (not stopped by runctl)", a, got, "success killed TERM")
	}
}

// waitRecord waits up to 5 s until the run's record of how it ended is
// want (recordValues), and returns those values then.
func waitRecord(t *testing.T, name, want string) string {
	t.Helper()
	var got string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got, _ = os.Readlink(sbOf(t).Path("/var/lib/runctl/runs/" + name + ".exit")); recordValues(got) == want {
			break
		}
	}
	return recordValues(got)
}

// waitState waits up to 5 s until the run's unit is in state, and returns
// the state it is in then.
func waitState(t *testing.T, name, state string) string {
	t.Helper()
	var s string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out, _ := sbOf(t).Command(t.Context(), "systemctl", "is-active", "runctl-"+name+".service").Output()
		if s = strings.TrimSpace(string(out)); s == state {
			break
		}
	}
	return s
}

// TestStopMarkerOfAKilledRunctl: a runctl killed in the middle of its stop
// leaves its marker, which then holds nothing off: the end of the run's
// next instance, started by someone else, is recorded as it was.
func TestStopMarkerOfAKilledRunctl(t *testing.T) {
	alone(t)
	name := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	if r := runctl(t, "run", "-d", "--settle", "0", "--enable", "-n", name, "--", "sleep", "5001"); r.code != 0 {
		t.Fatalf("run -d --enable: %v", r)
	}
	stop := runctlCmd(t, "/", "stop", name)
	stop.Env = append(stop.Env, "RUNCTL_CRASH_AT=stop-enqueued")
	if r := finish(t, stop); r.code != 137 {
		t.Fatalf("stop killed at stop-enqueued: %v; want it killed (137)", r)
	}
	if s := waitState(t, name, "inactive"); s != "inactive" {
		t.Fatalf("runctl-%s.service is %s after the stop runctl began", name, s)
	}
	inside(t, "systemctl", "start", "runctl-"+name+".service")
	if s := waitState(t, name, "active"); s != "active" {
		t.Fatalf("runctl-%s.service is %s after systemctl start", name, s)
	}
	inside(t, "systemctl", "kill", "-s", "INT", "runctl-"+name+".service")
	if got := waitRecord(t, name, "success killed INT"); got != "success killed INT" {
		t.Fatalf("the record of %s, started by systemctl after a runctl stop was killed, then killed by SIGINT, is %q; want %q", name, got, "success killed INT")
	}
}
