package main

import (
	"strings"
	"testing"
)

// stop escalates at the run's --stop-timeout, which its unit carries as
// TimeoutStopSec, without reading the run's spec.
func TestStopTakesTheTimeoutFromTheUnit(t *testing.T) {
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--stop-timeout", "300ms", "--", "sh", "-c", ignoreTERM); r.code != 0 {
		t.Fatal(r)
	}
	waitFor(t, func() bool {
		return strings.Contains(inside(t, "journalctl", "-t", name, "-o", "cat", "--since=-1min"), "ignoring-term")
	}, "the trap")
	trace := "/run/" + name + ".strace"
	cmd := sb.CommandIn(t.Context(), "/", "strace", "-f", "-qq", "-e", "trace=open,openat", "-o", trace, binDir+"/runctl", "stop", name)
	cmd.Env = runctlCmd(t, "/").Env
	r := finish(t, cmd)
	if r.code != 0 || !strings.Contains(r.stdout, "killed by SIGKILL") || !strings.Contains(r.stdout, "escalated") {
		t.Fatalf("stop of a SIGTERM-ignoring run made with --stop-timeout 300ms: %v", r)
	}
	if opens := inside(t, "cat", trace); strings.Contains(opens, name+".json") {
		t.Fatalf("stop read the run's spec:\n%s", opens)
	}
}
