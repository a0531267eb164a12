package runs

// The lifecycle against the sandbox's real systemd, called directly: the
// paths the CLI tests reach only through many processes.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"github.com/rs/zerolog"

	"github.com/runctl/runctl/sandbox"
	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

var (
	sb *sandbox.Sandbox
	// shared is a host folder the sandbox sees at the same path: stores and
	// programs live there.
	shared string
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		root := sandbox.StateRoot()
		os.MkdirAll(root, 0o755)
		dir, err := os.MkdirTemp(root, "runs-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		shared = dir
		return sandbox.RunTests(m, &sb, sandbox.Options{Share: []string{dir}})
	}())
}

var seq atomic.Int32

// newRuns is a lifecycle on the sandbox's system manager with a store of
// its own; cleanup stops and forgets every run it made.
func newRuns(t *testing.T) *Runs {
	t.Helper()
	sandbox.Need(t, sb)
	m, err := systemdctl.Connect(context.Background(), systemdctl.Options{Bus: sb.SystemBus()})
	if err != nil {
		t.Fatalf("cannot connect to the sandbox's systemd: %v", err)
	}
	r := &Runs{
		Manager: m,
		Store:   specstore.Store{Dir: filepath.Join(shared, fmt.Sprintf("store-%d", seq.Add(1)))},
		UnitDir: filepath.Join(shared, "units-unused"),
		Layout:  Layout{RuntimeDir: sb.Path("/run"), TransientDir: sb.Path("/run/systemd/transient"), RuntimeUnitDir: sb.Path("/run/systemd/system"), Alive: "/"},
		Log:     zerolog.Nop(),
	}
	t.Cleanup(func() {
		names, _ := r.Store.Names()
		for _, n := range names {
			r.Remove(context.Background(), n, true)
		}
		m.Close()
	})
	return r
}

// spec is a run of argv under a name unique to the test.
func spec(t *testing.T, argv ...string) *units.Spec {
	t.Helper()
	path, err := units.ResolveExecutable(argv[0], "/usr/bin:/bin", "/")
	if err != nil {
		t.Fatal(err)
	}
	return &units.Spec{
		Version: units.SpecVersion, Name: fmt.Sprintf("rt%d-%d", seq.Add(1), os.Getpid()),
		Argv: argv, Path: path, Dir: "/", Env: []string{"RUNS_TEST=1"},
		StopTimeout: units.Duration(5 * time.Second), Created: time.Now(),
	}
}

func start(t *testing.T, r *Runs, s *units.Spec) Started {
	t.Helper()
	res, w, err := r.Start(t.Context(), s, StartOptions{})
	w.Close()
	if err != nil {
		t.Fatalf("Start %s: %v", s.Name, err)
	}
	return res
}

// cmdline is what the kernel says pid runs.
func cmdline(t *testing.T, pid uint32) []string {
	t.Helper()
	b, err := os.ReadFile(sb.Path(fmt.Sprintf("/proc/%d/cmdline", pid)))
	if err != nil {
		t.Fatalf("cannot read pid %d's cmdline: %v", pid, err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
}

func TestStartRestartStopRemove(t *testing.T) {
	r := newRuns(t)
	// sh stays the main process (sleep is its child): its argv is checked.
	s := spec(t, "sh", "-c", "sleep 1000; :", "$RUNS_TEST", "%n;$x ${HOME}")
	first := start(t, r, s)
	if got := cmdline(t, first.PID); !slicesEqual(got, s.Argv) {
		t.Fatalf("the program runs %q", got)
	}
	again, err := r.Restart(t.Context(), s.Name, RestartOptions{})
	if err != nil || again.PID == 0 || again.PID == first.PID || again.Environment != "replayed" || len(again.Steps) != 2 {
		t.Fatalf("Restart = %+v, %v; want a new pid, the environment replayed, a stop and a start step", again, err)
	}
	if got := cmdline(t, again.PID); !slicesEqual(got, s.Argv) {
		t.Fatalf("after the restart the program runs %q", got)
	}
	stopped, err := r.Stop(t.Context(), s.Name, 0, false)
	if err != nil || stopped.WasState != "active" || stopped.Ended != "killed by SIGTERM" || stopped.Escalated {
		t.Fatalf("Stop = %+v, %v; want an active run killed by SIGTERM, not escalated", stopped, err)
	}
	if err := r.Remove(t.Context(), s.Name, false); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if r.Store.Has(s.Name) {
		t.Fatal("the spec is still kept after Remove")
	}
}

// Twenty restarts at once, from goroutines that each take the run's lock,
// end with exactly one instance.
func TestParallelRestartsLeaveOneInstance(t *testing.T) {
	r := newRuns(t)
	s := spec(t, "sleep", "1000")
	start(t, r, s)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			if _, err := r.Restart(t.Context(), s.Name, RestartOptions{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a parallel restart failed: %v", err)
	}
	procs, err := os.ReadFile(sb.Path("/sys/fs/cgroup/unified/system.slice/" + units.UnitName(s.Name) + "/cgroup.procs"))
	if err != nil || len(strings.Fields(string(procs))) != 1 {
		t.Fatalf("the run's cgroup holds %q (%v); want exactly one process", procs, err)
	}
}

// A restart whose executable is gone stops nothing.
func TestRestartKeepsTheOldInstanceWhenTheExecutableIsGone(t *testing.T) {
	r := newRuns(t)
	// A copy of sleep, not a script: the shell would open a script by its
	// path after Type=exec's start returns, and meet it removed.
	exe := filepath.Join(shared, fmt.Sprintf("prog-%d", seq.Add(1)))
	sleep, err := os.ReadFile("/bin/sleep")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, sleep, 0o755); err != nil {
		t.Fatal(err)
	}
	s := spec(t, exe, "1000")
	first := start(t, r, s)
	os.Remove(exe)
	_, err = r.Restart(t.Context(), s.Name, RestartOptions{})
	if err == nil || !strings.Contains(err.Error(), "is gone") || !strings.Contains(err.Error(), "left alone") {
		t.Fatalf("Restart = %v; want the executable named gone and the instance left alone", err)
	}
	st, _ := r.Manager.Unit(t.Context(), units.UnitName(s.Name))
	if !st.Running() || st.MainPID != first.PID {
		t.Fatalf("after the refused restart the unit is %s with pid %d; want the old pid %d running", st.ActiveState, st.MainPID, first.PID)
	}
}

// A stopped unit kept loaded (another run names it in --after) is started
// by name; when the manager unloads it just before that start, the run is
// made anew instead of failing with "unit not loaded".
func TestStartWhenTheKeptUnitUnloadsMeanwhile(t *testing.T) {
	r := newRuns(t)
	a := spec(t, "sleep", "1000")
	start(t, r, a)
	b := spec(t, "sleep", "1000")
	b.After = []string{a.Name}
	start(t, r, b)
	if _, err := r.Stop(t.Context(), a.Name, 0, false); err != nil {
		t.Fatal(err)
	}
	unit := units.UnitName(a.Name)
	if st, _ := r.Manager.Brief(t.Context(), unit); !st.Loaded() {
		t.Fatalf("%s was unloaded although %s names it in --after", unit, b.Name)
	}
	unloaded := false
	r.beforeStartByName = func() {
		if err := r.Remove(t.Context(), b.Name, true); err != nil {
			t.Errorf("Remove %s: %v", b.Name, err)
		}
		for range 100 {
			if st, _ := r.Manager.Brief(t.Context(), unit); !st.Loaded() {
				unloaded = true
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	res := start(t, r, a)
	if !unloaded {
		t.Fatalf("%s stayed loaded after %s was removed; the test did not reach the race", unit, b.Name)
	}
	if got := cmdline(t, res.PID); !slicesEqual(got, a.Argv) {
		t.Fatalf("after the start the program runs %q", got)
	}
}

// A restart with a new environment of a run that another run names in
// --after is refused before anything stops: systemd keeps the stopped unit
// loaded as it was made, so the new one could not be started.
func TestUpdateEnvOfAKeptUnitIsRefusedUpFront(t *testing.T) {
	r := newRuns(t)
	a := spec(t, "sleep", "1000")
	first := start(t, r, a)
	b := spec(t, "sleep", "1000")
	b.After = []string{a.Name}
	start(t, r, b)
	_, err := r.Restart(t.Context(), a.Name, RestartOptions{Environ: []string{"PATH=/usr/bin:/bin", "NEW=1"}})
	if err == nil || !strings.Contains(err.Error(), "while "+b.Name+", which names it in --after, is loaded") || !strings.Contains(err.Error(), "left alone") {
		t.Fatalf("Restart --update-env = %v; want it refused, naming run %s, the instance left alone", err, b.Name)
	}
	st, _ := r.Manager.Unit(t.Context(), units.UnitName(a.Name))
	if !st.Running() || st.MainPID != first.PID {
		t.Fatalf("after the refused restart %s is %s with pid %d; want the old pid %d running", a.Name, st.ActiveState, st.MainPID, first.PID)
	}
	if kept, _ := r.Store.Load(a.Name); slices.Contains(kept.Env, "NEW=1") {
		t.Fatal("the refused environment was kept")
	}
	if err := r.Remove(t.Context(), b.Name, true); err != nil {
		t.Fatal(err)
	}
	again, err := r.Restart(t.Context(), a.Name, RestartOptions{Environ: []string{"PATH=/usr/bin:/bin", "NEW=1"}})
	if err != nil || again.Environment != "updated" {
		t.Fatalf("Restart --update-env once %s is gone = %+v, %v", b.Name, again, err)
	}
}

// A unit outside runctl that names a run keeps its stopped unit loaded as
// it was made: a restart with a new environment then cannot make the new
// unit, and starts the earlier one again rather than leave nothing running.
func TestUpdateEnvOfAUnitAForeignUnitNames(t *testing.T) {
	r := newRuns(t)
	a := spec(t, "sleep", "1000")
	start(t, r, a)
	unit := units.UnitName(a.Name)
	foreign := fmt.Sprintf("foreign-%d.service", seq.Add(1))
	_, w, err := r.Manager.StartTransientWatch(t.Context(), foreign, []sdbus.Property{
		sdbus.PropExecStart([]string{"/bin/sleep", "1000"}, false),
		{Name: "After", Value: dbus.MakeVariant([]string{unit})},
	}, nil)
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Manager.Stop(context.Background(), foreign, systemdctl.StopOptions{}) })
	res, err := r.Restart(t.Context(), a.Name, RestartOptions{Environ: []string{"PATH=/usr/bin:/bin", "NEW=1"}})
	if err == nil || !strings.Contains(err.Error(), "a unit outside runctl names "+unit) || !strings.Contains(err.Error(), "started again as before") {
		t.Fatalf("Restart --update-env = %v; want the change refused and the earlier unit started again", err)
	}
	st, _ := r.Manager.Unit(t.Context(), unit)
	if !st.Running() || st.MainPID != res.PID || res.PID == 0 {
		t.Fatalf("after the restart %s is %s with pid %d; want it running with the reported pid %d", unit, st.ActiveState, st.MainPID, res.PID)
	}
	if kept, _ := r.Store.Load(a.Name); slices.Contains(kept.Env, "NEW=1") {
		t.Fatal("the environment the running instance does not have was kept")
	}
}

func TestListAndOnlyRun(t *testing.T) {
	r := newRuns(t)
	var names []string
	for range 30 {
		s := spec(t, "sleep", "1000")
		start(t, r, s)
		names = append(names, s.Name)
	}
	stopped := spec(t, "sleep", "1000")
	start(t, r, stopped)
	if _, err := r.Stop(t.Context(), stopped.Name, 0, false); err != nil {
		t.Fatal(err)
	}
	list, err := r.List(t.Context(), ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]Run{}
	for _, run := range list {
		seen[run.Name] = run
	}
	for _, n := range names {
		if run := seen[n]; run.State != "active" || run.PID == 0 || run.CommandLine != "sleep 1000" || !run.Known {
			t.Errorf("List shows %s as %+v; want active, a pid, its command, known", n, run)
		}
	}
	if run := seen[stopped.Name]; run.State != "stopped" || !run.Known || run.CommandLine != "sleep 1000" {
		t.Errorf("List shows the stopped run as %+v", run)
	}
	var amb *AmbiguousError
	if got, err := r.OnlyRun(t.Context(), false); !errors.As(err, &amb) || len(amb.Names) != len(names) {
		t.Errorf("OnlyRun = %q, %v; want the %d running runs listed", got, err, len(names))
	}
}

// Each error says what could not be done once, names the fix, and keeps its
// sentinel for errors.Is.
func TestErrorMessages(t *testing.T) {
	r := newRuns(t)
	running := spec(t, "sleep", "1000")
	start(t, r, running)
	kept := spec(t, "sleep", "1000")
	start(t, r, kept)
	if _, err := r.Stop(t.Context(), kept.Name, 0, false); err != nil {
		t.Fatal(err)
	}
	again := *running
	_, w, startErr := r.Start(t.Context(), &again, StartOptions{})
	w.Close()
	_, stopErr := r.Stop(t.Context(), "nosuch", 0, false)
	_, restartErr := r.Restart(t.Context(), "nosuch", RestartOptions{})
	_, startKeptErr := r.StartKept(t.Context(), running.Name, 0)
	_, stopKeptErr := r.Stop(t.Context(), kept.Name, 0, false)
	_, enableErr := r.Enable(t.Context(), "nosuch")
	for _, tc := range []struct {
		err      error
		want     string
		sentinel error
	}{
		{startErr, "run " + running.Name + " is already running: stop it first (runctl stop " + running.Name + "), replace it (run --replace), or choose another name with -n", nil},
		{stopErr, "no such run: runctl knows no run named nosuch (runctl ls lists them)", ErrUnknown},
		{restartErr, "no such run: runctl knows no run named nosuch (runctl ls lists them)", ErrUnknown},
		{startKeptErr, "run " + running.Name + " is already running; runctl restart " + running.Name + " restarts it", nil},
		{stopKeptErr, "not running: " + kept.Name + " is not running", ErrNotRunning},
		{enableErr, "no such run: runctl knows no run named nosuch (runctl ls lists them)", ErrUnknown},
		{r.Remove(t.Context(), running.Name, false), "run " + running.Name + " is running: stop it first, or rm --force", nil},
	} {
		if tc.err == nil || tc.err.Error() != tc.want {
			t.Errorf("error %v\nwant  %s", tc.err, tc.want)
			continue
		}
		if tc.sentinel != nil && !errors.Is(tc.err, tc.sentinel) {
			t.Errorf("%q does not wrap %v", tc.err, tc.sentinel)
		}
	}
}

func slicesEqual(a, b []string) bool {
	return len(a) == len(b) && bytes.Equal([]byte(strings.Join(a, "\x00")), []byte(strings.Join(b, "\x00")))
}
