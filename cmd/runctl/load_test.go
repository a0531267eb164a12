package main

// Load against the sandbox's real systemd: concurrent restarts of one run,
// of many runs, and a churn of runs started and stopped in parallel. At the
// end systemd must hold exactly the expected instances, each spec as it was
// started, no orphan process and no failed unit.

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadRun is one run of a load test: sleep with an argument no other run
// has, so its processes can be counted anywhere in the sandbox.
type loadRun struct {
	name, arg, dir string
}

func newLoadRuns(t *testing.T, n int, base int) []loadRun {
	t.Helper()
	dirs := []string{"/", "/usr", "/usr/share", "/var", "/etc"}
	runs := make([]loadRun, n)
	for i := range runs {
		runs[i] = loadRun{name: runName(t), arg: strconv.Itoa(base + i), dir: dirs[i%len(dirs)]}
	}
	return runs
}

func (l loadRun) start(t *testing.T) result {
	t.Helper()
	return runctl(t, "run", "-d", "-n", l.name, "--dir", l.dir, "--", "sleep", l.arg)
}

// parallel runs f(i) for i in [0, n), at most width at a time.
func parallel(n, width int, f func(i int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, width)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

// cgroupProcs reads, inside the sandbox (cgroup.procs shows pids of the
// reader's pid namespace), the processes of every runctl unit's cgroup.
func cgroupProcs(t *testing.T) map[string][]int {
	t.Helper()
	out := inside(t, "sh", "-c", "grep -H '' /sys/fs/cgroup/unified/system.slice/runctl-*.service/cgroup.procs 2>/dev/null; true")
	procs := map[string][]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		path, pid, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		unit := strings.TrimSuffix(strings.TrimPrefix(path, "/sys/fs/cgroup/unified/system.slice/"), "/cgroup.procs")
		p, _ := strconv.Atoi(pid)
		procs[unit] = append(procs[unit], p)
	}
	return procs
}

// checkInstances asserts that each run in up has exactly one process, its
// sleep, in its cgroup and nowhere else, that ls --json shows it active with
// that pid and its spec as started, that each run in down has no process
// and is listed stopped with its spec intact, and that no runctl unit failed.
func checkInstances(t *testing.T, up, down []loadRun) {
	t.Helper()
	cg := cgroupProcs(t)
	ls := map[string]lsRun{}
	for _, r := range lsRuns(t) {
		ls[r.Name] = r
	}
	for _, l := range up {
		unit := "runctl-" + l.name + ".service"
		inCgroup := cg[unit]
		anywhere := procsWithArgv(t, "sleep", l.arg)
		if len(inCgroup) != 1 || !equal(procArgv(t, inCgroup[0]), []string{"sleep", l.arg}) {
			t.Errorf("%s: cgroup holds pids %v, want one: sleep %s", l.name, inCgroup, l.arg)
			continue
		}
		if len(anywhere) != 1 || anywhere[0] != inCgroup[0] {
			t.Errorf("%s: processes sleep %s in the sandbox: %v, want only %d", l.name, l.arg, anywhere, inCgroup[0])
		}
		r := ls[l.name]
		if r.State != "active" || r.PID != inCgroup[0] || !equal(r.Command, []string{"sleep", l.arg}) || r.Dir != l.dir {
			t.Errorf("%s: ls --json %+v, want active, pid %d, sleep %s in %s", l.name, r, inCgroup[0], l.arg, l.dir)
		}
	}
	for _, l := range down {
		if p := cg["runctl-"+l.name+".service"]; len(p) != 0 {
			t.Errorf("%s was stopped but its cgroup holds %v", l.name, p)
		}
		if p := procsWithArgv(t, "sleep", l.arg); len(p) != 0 {
			t.Errorf("%s was stopped but sleep %s survives: %v", l.name, l.arg, p)
		}
		r := ls[l.name]
		if r.State != "stopped" || !r.Known || !equal(r.Command, []string{"sleep", l.arg}) || r.Dir != l.dir {
			t.Errorf("%s: ls --json %+v, want stopped, known, sleep %s in %s", l.name, r, l.arg, l.dir)
		}
	}
	if f := failedRunctlUnits(t); f != "" {
		t.Errorf("failed units left:\n%s", f)
	}
}

func procArgv(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile(sbOf(t).Path("/proc/" + strconv.Itoa(pid) + "/cmdline"))
	if err != nil {
		return nil
	}
	return nulSplit(b)
}

// forgetAll removes the runs (stopping running ones) in one command.
func forgetAll(t *testing.T, runs []loadRun) {
	t.Cleanup(func() {
		names := []string{"rm", "--force"}
		for _, l := range runs {
			names = append(names, l.name)
		}
		if r := runctl(t, names...); r.code != 0 {
			t.Errorf("rm --force of the load runs: %v", abbrev(r))
		}
		for _, l := range runs {
			if p := procsWithArgv(t, "sleep", l.arg); len(p) != 0 {
				t.Errorf("%s: sleep %s survives rm --force: %v", l.name, l.arg, p)
			}
		}
	})
}

// 50 restarts of one run at once: each succeeds, each starts its own
// instance, and one instance is left.
func TestLoadParallelRestartsOfOneRun(t *testing.T) {
	alone(t)
	runs := newLoadRuns(t, 1, 7710000)
	forgetAll(t, runs)
	l := runs[0]
	if r := l.start(t); r.code != 0 {
		t.Fatal(r)
	}
	first := mainPID(t, l.name)
	begin := time.Now()
	results := make([]result, 50)
	parallel(len(results), len(results), func(i int) { results[i] = runctl(t, "--json", "restart", l.name) })
	took := time.Since(begin)
	t.Logf("50 concurrent restarts of one run: %v (%v per restart)", took.Round(time.Millisecond), (took / 50).Round(time.Millisecond))
	pids := map[int]bool{first: true}
	for i, r := range results {
		var rec restartRecord
		if err := json.Unmarshal([]byte(r.stdout), &rec); r.code != 0 || err != nil {
			t.Errorf("restart %d: %v (%v)", i, abbrev(r), err)
			continue
		}
		if strings.Contains(r.stderr, "UnitExists") || strings.Contains(r.stderr, "already exists") {
			t.Errorf("restart %d: UnitExists reached the user: %v", i, r)
		}
		if rec.WasState != "active" || rec.OldEnded != "killed by SIGTERM" || rec.Escalated {
			t.Errorf("restart %d found the old instance %s, ended %q (escalated %v); want active, killed by SIGTERM", i, rec.WasState, rec.OldEnded, rec.Escalated)
		}
		if pids[int(rec.PID)] {
			t.Errorf("restart %d reports pid %d, which another instance had", i, rec.PID)
		}
		pids[int(rec.PID)] = true
	}
	checkInstances(t, runs, nil)
	if last := mainPID(t, l.name); !pids[last] || last == first {
		t.Errorf("the instance left (pid %d) is not one a restart started", last)
	}
}

// 20 runs each restarted once, all at the same time.
func TestLoadRestartManyRuns(t *testing.T) {
	alone(t)
	runs := newLoadRuns(t, 20, 7720000)
	forgetAll(t, runs)
	begin := time.Now()
	parallel(len(runs), 8, func(i int) {
		if r := runs[i].start(t); r.code != 0 {
			t.Errorf("start %s: %v", runs[i].name, r)
		}
	})
	t.Logf("20 runs started, 8 at a time: %v", time.Since(begin).Round(time.Millisecond))
	if t.Failed() {
		t.FailNow()
	}
	old := make([]int, len(runs))
	for i, l := range runs {
		old[i] = mainPID(t, l.name)
	}
	begin = time.Now()
	results := make([]result, len(runs))
	parallel(len(runs), len(runs), func(i int) { results[i] = runctl(t, "--json", "restart", runs[i].name) })
	t.Logf("20 runs restarted at once: %v", time.Since(begin).Round(time.Millisecond))
	for i, r := range results {
		var rec restartRecord
		if err := json.Unmarshal([]byte(r.stdout), &rec); r.code != 0 || err != nil {
			t.Errorf("restart %s: %v (%v)", runs[i].name, abbrev(r), err)
			continue
		}
		if now := mainPID(t, runs[i].name); rec.PID == 0 || int(rec.PID) == old[i] || now != int(rec.PID) {
			t.Errorf("restart %s: reports pid %d; before %d, now %d", runs[i].name, rec.PID, old[i], now)
		}
	}
	checkInstances(t, runs, nil)
}

// 200 runs started, 8 at a time; every other one stopped right after its
// start. The other half must be running, each exactly once.
func TestLoadStartStopChurn(t *testing.T) {
	aloneLong(t)
	runs := newLoadRuns(t, 200, 7730000)
	forgetAll(t, runs)
	var up, down []loadRun
	for i, l := range runs {
		if i%2 == 0 {
			up = append(up, l)
		} else {
			down = append(down, l)
		}
	}
	begin := time.Now()
	parallel(len(runs), 8, func(i int) {
		l := runs[i]
		r := l.start(t)
		if r.code != 0 || !strings.Contains(r.stdout, "started "+l.name) {
			t.Errorf("start %s: %v", l.name, r)
			return
		}
		if i%2 == 0 {
			return
		}
		if r := runctl(t, "stop", l.name); r.code != 0 || !strings.HasPrefix(r.stdout, "stopped "+l.name+": killed by SIGTERM") {
			t.Errorf("stop %s: %v", l.name, r)
		}
	})
	t.Logf("200 runs started and 100 of them stopped, 8 at a time: %v", time.Since(begin).Round(time.Millisecond))
	begin = time.Now()
	checkInstances(t, up, down)
	t.Logf("checking 200 runs: %v", time.Since(begin).Round(time.Millisecond))
	// ls lists each run once.
	var names []string
	for _, r := range lsRuns(t) {
		names = append(names, r.Name)
	}
	for _, l := range runs {
		if n := countOf(names, l.name); n != 1 {
			t.Errorf("ls --json lists %s %d times", l.name, n)
		}
	}
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}
