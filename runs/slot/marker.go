package slot

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// How a run ended is recorded by its recorder units (units.ExitRecorder)
// when it ends on its own, and by runctl when runctl stops it; a marker
// holds the recorder off for exactly that one stop (docs/ARCHITECTURE.md).

// installRecorder writes the recorder's templates where the manager finds
// them: its runtime folder, and for enabled runs, which start at boot
// before runctl does anything, beside their unit files.
func (s *Slots) installRecorder(enabled bool) error {
	files, err := s.Recorder().Templates()
	if err != nil {
		return err
	}
	dirs := []string{s.Layout.RuntimeUnitDir}
	if enabled {
		dirs = append(dirs, s.Layout.UnitDir)
	}
	for _, d := range dirs {
		for name, data := range files {
			path := filepath.Join(d, name)
			if err := writeUnitData(path, data); err != nil {
				return fileError("the recorder's template", path, err)
			}
		}
	}
	return nil
}

// holdRecorder keeps the run's recorder from recording the stop runctl is
// about to make, so the stop costs no process in PID 1, and says whether it
// could. The marker covers that one stop: it goes once the recorder has
// skipped the stop's end, and it is a link to a path that exists only
// while this runctl lives (Layout.Alive), which the recorder's
// ConditionPathExists= follows, so the marker of a runctl killed mid-stop
// holds nothing off once that stop is over. The marker does not depend on
// the manager's version: stop does not read it.
func (s *Slots) holdRecorder(name string) bool {
	p := s.Layout.Paths(name).Marker
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return false
	}
	os.Remove(p) // a dead runctl's
	return os.Symlink(s.Layout.Alive, p) == nil
}

// ReleaseRecorder lets the run's recorder record its ends again.
func (s *Slots) ReleaseRecorder(name string) {
	p := s.Layout.Paths(name)
	if !s.anotherStopping(name) {
		os.Remove(p.Marker)
	}
	if target, err := os.Readlink(p.HandedOver); err == nil && target == s.Layout.Alive {
		os.Remove(p.HandedOver)
	}
}

// handOverOnDrop follows the stop of run name that runctl is about to
// make, holding the recorder off (held; nothing to do on the ExecStopPost=
// route, whose record the stop job writes): if the manager drops runctl's
// connection before over is called (a daemon-reexec), the program may end
// and its unit be collected before runctl reads how it ended. So runctl
// hands the stop over to the recorder at once: the marker, renamed, no
// longer holds the recorder off, and tells it that the end is runctl's
// stop. recordStop then reads how the program ended from the record.
// Renamed, not removed and made anew: the recorder sees one or the other.
func (s *Slots) handOverOnDrop(ctx context.Context, name string, held bool) (over func()) {
	if ok, _ := s.Recorder().Triggers(name); !held || ok == "" {
		return func() {}
	}
	w, err := s.Manager.Watch(ctx, units.UnitName(name))
	if err != nil {
		w.Close()
		return func() {}
	}
	var (
		mu   sync.Mutex
		done = make(chan struct{})
	)
	go func() {
		select {
		case <-w.Dropped():
			mu.Lock()
			defer mu.Unlock()
			select {
			case <-done:
				return // the stop was over first
			default:
			}
			p := s.Layout.Paths(name)
			if target, err := os.Readlink(p.Marker); err == nil && target == s.Layout.Alive {
				os.Rename(p.Marker, p.HandedOver)
			}
		case <-done:
		}
	}()
	return func() {
		mu.Lock()
		close(done)
		mu.Unlock()
		w.Close()
	}
}

// anotherStopping says whether the run's marker is another runctl's that
// still lives: a stop made without the lock (runs' lockForStop) while this
// runctl waited for the start job it canceled. That stop's marker is its
// own to remove, once its recorder has skipped the end.
func (s *Slots) anotherStopping(name string) bool {
	target, err := os.Readlink(s.Layout.Paths(name).Marker)
	if err != nil || target == s.Layout.Alive {
		return false
	}
	_, err = os.Stat(target)
	return err == nil
}

// bootIDFile is where the kernel (and the sandbox's tests, per boot) give
// the id of the current boot.
const bootIDFile = "/proc/sys/kernel/random/boot_id"

// CurrentBoot is the id of the current boot in units.NormalBootID's form,
// "" if it cannot be read.
func CurrentBoot() string {
	b, err := os.ReadFile(bootIDFile)
	if err != nil {
		return ""
	}
	return units.NormalBootID(string(b))
}

// recordStop records that runctl stopped the run, and how its main
// process ended then. A stop that began at began and did not see the
// program end (the manager re-executed meanwhile, dropping runctl's
// connection, and collected the unit before runctl read it again) takes
// how it ended from the record the run's recorder wrote since, and after
// says it too.
func (s *Slots) recordStop(name string, after *systemdctl.State, began time.Time) {
	if _, _, ok := after.Exit(); !ok {
		rec, at, ok := s.store().LastExit(name, true)
		if ok && !at.Before(began.Add(-clockTick)) && after.SetExit(rec.Code, rec.Status) && after.Result == "" {
			after.Result = rec.Result
		}
	}
	rec := units.ExitRecord{Result: after.Result, ByRunctl: true, Boot: CurrentBoot()}
	rec.Code, rec.Status, _ = after.Exit()
	s.store().RecordExit(name, rec)
}

// clockTick bounds how far a file's time, from the kernel's coarse clock,
// may lag the time runctl reads.
const clockTick = 20 * time.Millisecond

// unloadPatience bounds the wait for a stopped unit to unload once its
// recorder's job has run.
const unloadPatience = 5 * time.Second

// unloadWait bounds the waits for a unit to unload, which take one turn
// of the manager's loop, normally: the recorder's unit after it skipped a
// stop's end, and the stopped run's unit that its recorder's start job
// kept loaded until then.
const unloadWait = 200 * time.Millisecond

// recorderPending says whether a job of the run's recorder, triggered as
// it stopped, has still to run: it keeps the run's unit loaded until then.
func (s *Slots) recorderPending(ctx context.Context, name string) bool {
	ok, failed := s.Recorder().Triggers(name)
	if ok == "" {
		return false // the ExecStopPost= route: the stop job ran it
	}
	for _, u := range []string{ok, failed} {
		if st, err := s.Manager.Brief(ctx, u); err == nil && st.Job != 0 {
			return true
		}
	}
	return false
}

// waitRecorder waits, at most unloadPatience, until the manager unloads
// the run's stopped unit if a recorder's job still waiting to run is what
// keeps it loaded (a busy manager). A unit kept by another that names it
// is not waited for.
func (s *Slots) waitRecorder(ctx context.Context, name string) {
	m, unit := s.Manager, units.UnitName(name)
	w, err := m.Watch(ctx, unit)
	if err != nil {
		w.Close()
		return
	}
	defer w.Close()
	if cur, err := m.Brief(ctx, unit); err != nil || !cur.Loaded() {
		return
	}
	if s.recorderPending(ctx, name) {
		systemdctl.WaitRemoved(ctx, unloadPatience, w)
	}
}
