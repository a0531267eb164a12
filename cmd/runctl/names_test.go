package main

import (
	"os"
	"strings"
	"testing"
)

// An interpreter's run is named after its script or module, so a second
// Python node is not refused as "python3".
func TestInterpreterDefaultNames(t *testing.T) {
	alone(t)
	dir := "/run/" + runName(t) + "-nodes"
	if err := os.MkdirAll(sbOf(t).Path(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sbOf(t).Path(dir)) })
	for _, f := range []string{"nav_node.py", "lidar.sh"} {
		writeInside(t, dir+"/"+f, "exec sleep 1000\n", 0o755)
	}
	for _, tc := range []struct {
		argv []string
		name string
	}{
		{[]string{"sh", dir + "/nav_node.py"}, "nav_node"},
		{[]string{"bash", "-e", dir + "/lidar.sh"}, "lidar"},
	} {
		cleanupRun(t, tc.name)
		r := runctl(t, append([]string{"run", "-d", "--settle", "0", "--"}, tc.argv...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "started "+tc.name+" ") {
			t.Errorf("run %q: want it named %s\n%v", tc.argv, tc.name, r)
		}
	}
}

// cleanupRun stops and forgets name at the test's end.
func cleanupRun(t *testing.T, name string) {
	t.Helper()
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
}

// A new command never silently takes a stopped run's name: its kept spec
// is what start and boot start.
func TestRunRefusesStoppedRunsOtherCommand(t *testing.T) {
	shared(t)
	name := runName(t)
	for _, args := range [][]string{
		{"run", "-d", "--settle", "0", "-n", name, "--", "sleep", "1000"},
		{"stop", name},
	} {
		if r := runctl(t, args...); r.code != 0 {
			t.Fatal(r)
		}
	}
	r := runctl(t, "run", "-d", "--settle", "0", "-n", name, "--", "sleep", "2000")
	if r.code == 0 || !strings.Contains(r.stderr, "keeps it for another command (sleep 1000)") || !strings.Contains(r.stderr, "--replace") || !strings.Contains(r.stderr, "-n") {
		t.Fatalf("run of another command over a stopped run: %v", r)
	}
	if r := runctl(t, "status", name); !strings.Contains(r.stdout, "sleep 1000") {
		t.Fatalf("the kept spec changed: %v", r)
	}
	// The same command again, and --replace, are fine.
	if r := runctl(t, "run", "-d", "--settle", "0", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	runctl(t, "stop", name)
	if r := runctl(t, "run", "-d", "--settle", "0", "--replace", "-n", name, "--", "sleep", "2000"); r.code != 0 || !strings.Contains(r.stdout, "replaced the kept spec of the stopped run "+name) {
		t.Fatalf("run --replace over a stopped run: %v", r)
	}
}

// A verb given no NAME acts only when exactly one run qualifies; with
// several it lists them and exits 2, acting on none.
func TestVerbWithoutNameNeedsExactlyOne(t *testing.T) {
	alone(t)
	runctl(t, "stop", "--all")
	a, b := runName(t), runName(t)
	if r := runctl(t, "run", "-d", "--settle", "0", "-n", a, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	if r := runctl(t, "stop"); r.code != 0 || !strings.Contains(r.stdout, "acting on "+a) {
		t.Fatalf("stop with one run running: %v", r)
	}
	for _, n := range []string{a, b} {
		if r := runctl(t, "run", "-d", "--settle", "0", "-n", n, "--", "sleep", "1000"); r.code != 0 {
			t.Fatal(r)
		}
	}
	for _, verb := range []string{"stop", "restart", "logs"} {
		r := runctl(t, verb)
		if r.code != 2 || !strings.Contains(r.stderr, "2 runs are running") || !strings.Contains(r.stderr, a) || !strings.Contains(r.stderr, b) {
			t.Errorf("%s without NAME, two running: %v", verb, r)
		}
	}
	if units := runctlUnits(t, a, b); !strings.Contains(units, a) || !strings.Contains(units, b) {
		t.Fatalf("a run was acted on: %s", units)
	}
	runctl(t, "stop", "--all")
	if r := runctl(t, "stop"); r.code != 1 || !strings.Contains(r.stderr, "no run is running") {
		t.Fatalf("stop with nothing running: %v", r)
	}
}

// restart and start take several names and report each; a failure of one
// does not keep the others from being acted on.
func TestRestartAndStartSeveral(t *testing.T) {
	shared(t)
	a, b := runName(t), runName(t)
	for _, n := range []string{a, b} {
		if r := runctl(t, "run", "-d", "--settle", "0", "-n", n, "--", "sleep", "1000"); r.code != 0 {
			t.Fatal(r)
		}
	}
	pa, pb := mainPID(t, a), mainPID(t, b)
	r := runctl(t, "restart", "--settle", "0", a, "no-such-run", b)
	if r.code != 5 || !strings.Contains(r.stdout, "restarted "+a) || !strings.Contains(r.stdout, "restarted "+b) || strings.Count(r.stderr, "no-such-run") != 1 {
		t.Errorf("restart a no-such-run b: %v", r)
	}
	if mainPID(t, a) == pa || mainPID(t, b) == pb {
		t.Errorf("restart of several: a run was not restarted")
	}
	if r := runctl(t, "stop", a, b); r.code != 0 {
		t.Fatal(r)
	}
	r = runctl(t, "start", "--settle", "0", a, b)
	if r.code != 0 || !strings.Contains(r.stdout, "started "+a+" ") || !strings.Contains(r.stdout, "started "+b+" ") {
		t.Errorf("start a b: %v", r)
	}
}

// logs takes several names: their lines interleaved by time, each line
// naming its run; an unknown one among them is an error.
func TestLogsSeveral(t *testing.T) {
	shared(t)
	a, b := runName(t), runName(t)
	for _, n := range []string{a, b} {
		if r := runctl(t, "run", "-d", "--settle", "0", "-n", n, "--", "sh", "-c", "echo hello-from-$0; exec sleep 1000", n); r.code != 0 {
			t.Fatal(r)
		}
	}
	waitFor(t, func() bool {
		out := runctl(t, "logs", a, b).stdout
		return strings.Contains(out, a+"[") && strings.Contains(out, "hello-from-"+a) && strings.Contains(out, b+"[") && strings.Contains(out, "hello-from-"+b)
	}, "both runs' lines")
	if r := runctl(t, "logs", a, "no-such-run"); r.code != 5 || !strings.Contains(r.stderr, "no-such-run") {
		t.Errorf("logs with an unknown name: %v", r)
	}
	if r := runctl(t, "logs", "-I", "previous", a, b); r.code != 2 {
		t.Errorf("logs -I previous of two runs: %v", r)
	}
}

// rm goes on past a name it cannot forget, and reports each.
func TestRmSeveralPastUnknown(t *testing.T) {
	shared(t)
	a, b := runName(t), runName(t)
	for _, n := range []string{a, b} {
		for _, args := range [][]string{{"run", "-d", "--settle", "0", "-n", n, "--", "sleep", "1000"}, {"stop", n}} {
			if r := runctl(t, args...); r.code != 0 {
				t.Fatal(r)
			}
		}
	}
	r := runctl(t, "rm", a, "no-such-run", b)
	if r.code != 5 || !strings.Contains(r.stdout, "forgot "+a) || !strings.Contains(r.stdout, "forgot "+b) || strings.Count(r.stderr, "no-such-run") != 1 {
		t.Errorf("rm a no-such-run b: %v", r)
	}
}
