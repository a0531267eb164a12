package runs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// How a run ended is recorded by its recorder units (units.ExitRecorder)
// when it ends on its own, and by runctl when runctl stops it.

// recorder is how the runs of this store record their ends, which
// depends on the manager's version (0 if it cannot be read: the
// ExecStopPost= route, which works on every version).
func (r *Runs) recorder() units.ExitRecorder {
	return units.NewExitRecorder(r.Store.Dir).ForVersion(r.managerVersion())
}

// supported refuses, before anything is made, a manager older than the
// oldest systemd runctl makes runs in. verb is what is refused ("start
// nav").
func (r *Runs) supported(ctx context.Context, verb string) error {
	v, err := r.Manager.Version(ctx)
	if err != nil {
		return fmt.Errorf("cannot %s: %w", verb, err)
	}
	if err := units.CheckVersion(v); err != nil {
		return fmt.Errorf("cannot %s: %w", verb, err)
	}
	return nil
}

// installRecorder writes the recorder's templates where the manager finds
// them: its runtime folder, and for enabled runs, which start at boot
// before runctl does anything, beside their unit files.
func (r *Runs) installRecorder(enabled bool) error {
	files, err := r.recorder().Templates()
	if err != nil {
		return err
	}
	dirs := []string{r.Layout.RuntimeUnitDir}
	if enabled {
		dirs = append(dirs, r.UnitDir)
	}
	for _, d := range dirs {
		for name, data := range files {
			if err := r.writeUnitData(filepath.Join(d, name), data); err != nil {
				return err
			}
		}
	}
	return nil
}

// marker is the file that keeps the run's recorder from running. It does
// not depend on the manager's version: stop does not read it.
func (r *Runs) marker(name string) string {
	return units.NewExitRecorder(r.Store.Dir).Marker(r.Layout.RuntimeDir, name)
}

// holdRecorder keeps the run's recorder from recording the stop runctl is
// about to make, so the stop costs no process in PID 1, and says whether it
// could. The marker covers that one stop (docs/ARCHITECTURE.md): it goes
// once the recorder has skipped the stop's end, and it is a link to a path
// that exists only while this runctl lives (Layout.Alive), which the
// recorder's ConditionPathExists= follows, so the marker of a runctl killed
// mid-stop holds nothing off once that stop is over.
func (r *Runs) holdRecorder(name string) bool {
	p := r.marker(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return false
	}
	os.Remove(p) // a dead runctl's
	return os.Symlink(r.Layout.Alive, p) == nil
}

// releaseRecorder lets the run's recorder record its ends again.
func (r *Runs) releaseRecorder(name string) {
	if !r.anotherStopping(name) {
		os.Remove(r.marker(name))
	}
}

// recordStop records that runctl stopped the run, and how its main
// process ended then.
func (r *Runs) recordStop(name string, after systemdctl.State) {
	rec := units.ExitRecord{Result: after.Result, ByRunctl: true, Boot: currentBoot()}
	rec.Code, rec.Status, _ = after.Exit()
	r.Store.RecordExit(name, rec)
}

// unloadPatience bounds the wait for a stopped unit to unload once its
// recorder's job has run.
const unloadPatience = 5 * time.Second

// waitRecorder waits, at most unloadPatience, until the manager unloads
// the run's stopped unit if a recorder's job still waiting to run is what
// keeps it loaded (a busy manager). A unit kept by another that names it
// is not waited for.
func (r *Runs) waitRecorder(ctx context.Context, name string) {
	m, unit := r.Manager, units.UnitName(name)
	w, err := m.Watch(ctx, unit)
	if err != nil {
		w.Close()
		return
	}
	defer w.Close()
	if cur, err := m.Brief(ctx, unit); err != nil || !cur.Loaded() {
		return
	}
	ok, failed := r.recorder().Triggers(name)
	if ok == "" {
		return // the ExecStopPost= route: the stop job ran it
	}
	for _, u := range []string{ok, failed} {
		if st, err := m.Brief(ctx, u); err == nil && st.Job != 0 {
			systemdctl.WaitRemoved(ctx, unloadPatience, w)
			return
		}
	}
}
