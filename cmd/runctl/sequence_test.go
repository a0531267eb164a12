package main

// The run lifecycle as a state machine: a seeded random sequence of verbs,
// with daemon-reload and daemon-reexec between and during them, checked
// after every step against what the processes really are (/proc). The
// model is what runctl reported: the latest spec it said it started runs.

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	seqSteps = flag.Int("sequence.steps", 160, "steps of TestSequence")
	seqSeed  = flag.Uint64("sequence.seed", 0, "seed of TestSequence (0: from the clock)")
)

type seqSpec struct {
	argv []string
	mode string // $MODE in the program's environment
	dir  string
}

type seqRun struct {
	name    string
	saved   *seqSpec // the spec runctl keeps; nil: unknown to runctl
	running *seqSpec // what runs; nil: nothing
	enabled bool
	// enabledUnsure: an enable or disable was cut short.
	enabledUnsure bool
	unsure        bool // a verb was cut short: the saved spec is either
}

type sequence struct {
	t       *testing.T
	rng     *rand.Rand
	runs    []*seqRun
	version int
	log     []string
}

func (q *sequence) newSpec() *seqSpec {
	q.version++
	v := strconv.Itoa(q.version)
	// Words the manager's own transient file would alter after a reload.
	argv := []string{"/bin/sh", "-c", "sleep 100000; :", "seq", "v" + v + ";x", "$MODE", "%n", `back\slash`}
	return &seqSpec{argv: argv, mode: "v" + v, dir: []string{"/", "/usr", "/var"}[q.rng.IntN(3)]}
}

// runctl runs runctl with MODE in its environment (captured by run,
// replayed or updated by restart), with `systemctl during` (daemon-reload,
// daemon-reexec) at the same time if during is set.
func (q *sequence) runctl(mode, during string, args ...string) result {
	q.t.Helper()
	cmd := runctlCmd(q.t, "/", args...)
	if mode != "" {
		cmd.Env = append(cmd.Env, "MODE="+mode)
	}
	if during == "" {
		return finish(q.t, cmd)
	}
	done := make(chan struct{})
	delay := time.Duration(q.rng.IntN(30)) * time.Millisecond
	go func() {
		defer close(done)
		time.Sleep(delay)
		sbOf(q.t).Command(q.t.Context(), "systemctl", during).Run()
	}()
	r := finish(q.t, cmd)
	<-done
	return r
}

func (q *sequence) step(i int) {
	t := q.t
	run := q.runs[q.rng.IntN(len(q.runs))]
	during := ""
	switch q.rng.IntN(16) {
	case 0, 1, 2:
		during = "daemon-reload"
	case 3:
		during = "daemon-reexec"
	}
	op := q.rng.IntN(16)
	if run.unsure {
		op = 0 // run --replace makes it definite again
	}
	prev := *run
	var (
		r    result
		what string
		ok   bool // runctl must succeed
	)
	switch {
	case op <= 2:
		s := q.newSpec()
		args := []string{"run", "-d", "--settle", "0", "-n", run.name, "--dir", s.dir}
		if run.saved != nil || run.unsure {
			args = append(args, "--replace")
		}
		what = strings.Join(args, " ") + " -- (" + s.mode + ")"
		r = q.runctl(s.mode, during, append(append(args, "--"), s.argv...)...)
		ok = true
		run.saved, run.running, run.unsure = s, s, false
	case op <= 4:
		what = "restart " + run.name
		r = q.runctl("", during, "restart", "--settle", "0", run.name)
		ok = run.saved != nil
		if ok {
			run.running = run.saved
		}
	case op == 5:
		if run.saved == nil {
			return
		}
		s := *run.saved
		q.version++
		s.mode = "v" + strconv.Itoa(q.version)
		what = "restart --update-env " + run.name + " " + s.mode
		r = q.runctl(s.mode, during, "restart", "--update-env", "--settle", "0", run.name)
		ok = true
		run.saved, run.running = &s, &s
	case op <= 7:
		what = "stop " + run.name
		r = q.runctl("", during, "stop", run.name)
		ok = run.running != nil
		run.running = nil
	case op == 8:
		what = "start " + run.name
		r = q.runctl("", during, "start", "--settle", "0", run.name)
		ok = run.saved != nil && run.running == nil
		if run.saved != nil {
			run.running = run.saved
		}
	case op == 9:
		what = "rm -f " + run.name
		r = q.runctl("", during, "rm", "-f", run.name)
		ok = run.saved != nil
		run.saved, run.running, run.enabled = nil, nil, false
	case op == 10:
		what = "enable " + run.name
		r = q.runctl("", during, "enable", run.name)
		ok = run.saved != nil
		run.enabled, run.enabledUnsure = ok, false
	case op == 11:
		what = "disable " + run.name
		r = q.runctl("", during, "disable", run.name)
		ok = run.saved != nil && run.enabled && !run.enabledUnsure
		run.enabled, run.enabledUnsure = false, false
	case op <= 14:
		what = "daemon-reload"
		inside(t, "systemctl", "daemon-reload")
		r, ok = result{}, true
	default:
		what = "daemon-reexec"
		inside(t, "systemctl", "daemon-reexec")
		r, ok = result{}, true
	}
	if during != "" {
		what += " (with a " + during + " during it)"
	}
	q.log = append(q.log, fmt.Sprintf("%d: %s -> exit %d", i, what, r.code))
	if testing.Verbose() {
		t.Log(q.log[len(q.log)-1])
	}
	switch {
	case ok && r.code != 0 && during == "daemon-reexec":
		// The manager dropped runctl mid-verb and runctl failed: what runs
		// is the spec before or the one asked for.
		t.Logf("cut short by the daemon-reexec: %s", strings.TrimSpace(r.stderr))
		q.resync(run, &prev)
	case ok && r.code != 0:
		q.fail("runctl failed where it must succeed:\n%v", r)
	}
	if !ok && r.code == 0 && (strings.HasPrefix(what, "restart") || strings.HasPrefix(what, "rm")) {
		q.fail("runctl succeeded on a run it does not know:\n%v", r)
	}
	q.check()
}

// resync learns which of the two specs a verb cut short left running.
func (q *sequence) resync(run, prev *seqRun) {
	q.t.Helper()
	run.unsure, run.enabledUnsure = true, true
	pid := prop(q.t, "runctl-"+run.name+".service", "MainPID")
	cmdline, err := os.ReadFile(sbOf(q.t).Path("/proc/" + pid + "/cmdline"))
	if pid == "0" || err != nil {
		run.running = nil
		return
	}
	for _, s := range []*seqSpec{prev.running, run.running} {
		if s != nil && slices.Equal(nulSplit(cmdline), s.argv) {
			run.running = s
			return
		}
	}
	q.fail("after a verb cut short, %s runs %q: neither the spec before nor the one asked for", run.name, nulSplit(cmdline))
}

func (q *sequence) fail(format string, args ...any) {
	q.t.Helper()
	q.t.Fatalf("%s\nsteps (replay with -sequence.seed %d):\n%s", fmt.Sprintf(format, args...), *seqSeed, strings.Join(q.log, "\n"))
}

// check holds the model against the processes.
func (q *sequence) check() {
	q.t.Helper()
	// For every run: its state, main pid and that pid's working directory
	// (a link read from outside gives the path inside the sandbox).
	for _, run := range q.runs {
		u := "runctl-" + run.name + ".service"
		state, pid := prop(q.t, u, "ActiveState"), prop(q.t, u, "MainPID")
		if run.running == nil {
			if state == "active" || state == "activating" {
				q.fail("%s is %s; nothing of it should run", run.name, state)
			}
			continue
		}
		dir, err := os.Readlink(sbOf(q.t).Path("/proc/" + pid + "/cwd"))
		if state != "active" || err != nil {
			q.fail("%s is %s, main pid %s (%v); %s should run", run.name, state, pid, err, run.running.mode)
		}
		if dir != run.running.dir {
			q.fail("%s runs in %s, want %s (%s)", run.name, dir, run.running.dir, run.running.mode)
		}
		cmdline, err := os.ReadFile(sbOf(q.t).Path("/proc/" + pid + "/cmdline"))
		if err != nil {
			q.fail("%v", err)
		}
		if got := nulSplit(cmdline); !slices.Equal(got, run.running.argv) {
			q.fail("%s runs argv %q, want %q (%s)", run.name, got, run.running.argv, run.running.mode)
		}
		environ, err := os.ReadFile(sbOf(q.t).Path("/proc/" + pid + "/environ"))
		if err != nil {
			q.fail("%v", err)
		}
		if env := nulSplit(environ); !slices.Contains(env, "MODE="+run.running.mode) {
			q.fail("%s runs with the environment %q, want MODE=%s", run.name, env, run.running.mode)
		}
	}
}

// TestSequence: after any sequence of run, --replace, restart (with and
// without --update-env), stop, start, rm, enable and disable, with
// daemon-reload and daemon-reexec between and during them, what runs is
// the latest spec runctl reported as started.
func TestSequence(t *testing.T) {
	aloneLong(t)
	seed := *seqSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
		*seqSeed = seed
	}
	t.Logf("seed %d (go test -run TestSequence -sequence.seed %d)", seed, seed)
	q := &sequence{t: t, rng: rand.New(rand.NewPCG(seed, 0x5e9))}
	for range 2 {
		q.runs = append(q.runs, &seqRun{name: runName(t)})
	}
	t.Cleanup(func() {
		for _, run := range q.runs {
			runctl(t, "rm", "-f", run.name)
		}
	})
	for i := range *seqSteps {
		q.step(i)
	}
}
