package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestRefusedReplaceKeepsTheSavedSpec: a run --replace refused because
// another run names the run in --after changes nothing that was saved: a
// later start runs the spec from before the refusal.
func TestRefusedReplaceKeepsTheSavedSpec(t *testing.T) {
	shared(t)
	base, top := runName(t), runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", top, base) })
	must := func(args ...string) {
		t.Helper()
		if r := runctl(t, args...); r.code != 0 {
			t.Fatalf("runctl %q: %v", args, r)
		}
	}
	must("run", "-d", "--settle", "0", "-n", base, "-E", "VERSION=1", "--", "sleep", "1001")
	must("run", "-d", "--settle", "0", "-n", top, "--after", base, "--", "sleep", "1002")
	r := runctl(t, "run", "-d", "--settle", "0", "--replace", "-n", base, "-E", "VERSION=2", "--", "sleep", "1003")
	if r.code == 0 {
		t.Fatalf("run --replace of a run another names in --after: %v; want it refused", r)
	}
	must("stop", top)
	must("stop", base)
	must("start", "--settle", "0", base)
	pid := mainPID(t, base)
	cmdline, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/cmdline", pid)))
	environ, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/environ", pid)))
	if got := nulSplit(cmdline); !slices.Equal(got, []string{"sleep", "1001"}) || !slices.Contains(nulSplit(environ), "VERSION=1") {
		t.Fatalf("after a refused --replace, start runs %q with VERSION=1 %v; want the spec from before the refusal", got, slices.Contains(nulSplit(environ), "VERSION=1"))
	}
}

// TestRunOverAForeignRunningUnit: a name whose unit another tool made and
// runs is refused as taken, not as a run of runctl's that is running.
func TestRunOverAForeignRunningUnit(t *testing.T) {
	shared(t)
	name := runName(t)
	inside(t, "systemd-run", "--unit", "runctl-"+name+".service", "sleep", "1000")
	r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "1001")
	if r.code == 0 || !strings.Contains(r.stderr, "defined outside runctl") {
		t.Fatalf("run over another tool's running unit of the name: %v; want it refused as taken", r)
	}
}
