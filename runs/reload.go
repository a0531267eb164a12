package runs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	sd "github.com/coreos/go-systemd/v22/dbus"

	"github.com/runctl/runctl/atomicfile"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// What keeps a run exact across daemon-reload and daemon-reexec: a drop-in
// restating a transient run's commands (units.RenderDropIn), and an enabled
// run's unit file taking over from a transient instance the manager kept.
//
// Where the drop-in goes decides when the manager reads it. A new folder in
// /run/systemd/system is read as the unit is created, but makes the manager
// rescan its unit folders then: 4-12 ms more per new run with 80-240 runs,
// growing with their number (measured on 252). Over D-Bus the unit gets the
// same commands at creation, so the drop-in goes beside the unit's own file
// in the manager's transient folder instead, at no measurable cost, put in
// place once the unit exists. But when its folder is already there (a
// drop-in left by an earlier unit, which the manager deletes only if it
// loaded it), it is put in place before the unit is made: a manager that
// listed the folder at its last reload reads it as it makes the unit, and
// would give the new unit the earlier command (makeTransient).

// dropInPath is where the run's drop-in goes.
func (r *Runs) dropInPath(name string) string {
	return filepath.Join(r.Layout.TransientDir, units.UnitName(name)+".d", units.DropInName)
}

// writeUnitData writes a drop-in or a unit file runctl owns to path, if
// its content differs.
func (r *Runs) writeUnitData(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return r.permissionHint(fmt.Errorf("cannot write %s: %w", path, err))
	}
	// World-readable like the unit: no environment values in it.
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return r.permissionHint(err)
	}
	return nil
}

// removeDropIn removes the run's drop-in, and its folder if empty, and
// says whether there was one.
func (r *Runs) removeDropIn(name string) (bool, error) {
	path := r.dropInPath(name)
	err := os.Remove(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, r.permissionHint(fmt.Errorf("cannot remove %s: %w", path, err))
	}
	os.Remove(filepath.Dir(path)) // kept if someone else put a drop-in there
	return true, nil
}

// loadUnitFile makes the manager start an enabled run, stopped now, from
// the unit file runctl wrote, reloading if reload is set or it must:
//
//   - A transient instance that unloaded as it stopped leaves the manager's
//     name cache pointing at its gone /run/systemd/transient file: the unit
//     is "not found" until a reload.
//   - A transient instance that was loaded across a reload stays loaded, as
//     the [Install] links make the target want it, and its transient file
//     shadows the unit file until reboot (measured on 252): a start by name
//     would run the old command. Worse, the manager deletes a transient
//     unit's file when it unloads, even if that is the unit file by then.
//     Unlinked for a moment, the stopped unit unloads at the reload and takes
//     its transient file with it; linked again, the unit file is loaded.
func (r *Runs) loadUnitFile(ctx context.Context, name string, reload bool) error {
	m := r.Manager
	unit := units.UnitName(name)
	cur, err := m.Origin(ctx, unit)
	if err != nil {
		return err
	}
	switch {
	case cur.Transient && !cur.Running():
		r.Log.Info().Str("fragment", cur.FragmentPath).Msg("a transient instance shadows the unit file; unlinking it for a reload")
		if err := m.Disable(ctx, unit); err != nil {
			return r.permissionHint(err)
		}
		if err := m.Reload(ctx); err != nil {
			return err
		}
		// Its recorder's job, still waiting to run, kept it loaded across
		// that reload; it unloads once the job has run.
		r.waitRecorder(ctx, name)
		// Killed before this, the next start links it again (linkUnitFile).
		if err := m.Enable(ctx, r.unitFile(name)); err != nil {
			return r.permissionHint(err)
		}
		reload = true
	case !cur.Loaded():
		reload = true
	}
	if !reload {
		return nil
	}
	if err := m.Reload(ctx); err != nil {
		return err
	}
	if after, err := m.Origin(ctx, unit); err == nil && after.Transient {
		return fmt.Errorf("%s is still loaded from %s, not from its unit file; systemctl daemon-reload, then runctl restart %s", unit, after.FragmentPath, name)
	}
	return nil
}

// stagedDropIn is the run's drop-in, written before the stop into
// runctl's runtime folder, on the file system of the manager's transient
// folder, so that a /run with no room refuses the start while the old
// instance still runs; place renames it into place.
type stagedDropIn struct {
	path, staging string
	tmp           string
	data          []byte
}

func (r *Runs) stageDropIn(name string, data []byte) (*stagedDropIn, error) {
	d := &stagedDropIn{path: r.dropInPath(name), staging: filepath.Join(filepath.Dir(r.marker(name)), name+".conf"), data: data}
	if err := d.stage(); err != nil {
		return nil, r.permissionHint(err)
	}
	return d, nil
}

func (d *stagedDropIn) stage() error {
	if err := os.MkdirAll(filepath.Dir(d.staging), 0o755); err != nil {
		return fmt.Errorf("cannot write %s: %w", d.path, err)
	}
	var err error
	d.tmp, err = atomicfile.Temp(d.staging, d.data, 0o644)
	return err
}

// folderExists says whether the drop-in's folder is there: the manager
// reads what it holds as it makes the unit if it listed the folder at its
// last reload.
func (d *stagedDropIn) folderExists() bool {
	_, err := os.Stat(filepath.Dir(d.path))
	return err == nil
}

// place puts the drop-in in place, its folder made if need be (the manager
// removes it when the last unit that loaded a drop-in from it unloads);
// again, it is written anew.
func (d *stagedDropIn) place() error {
	if d.tmp == "" {
		if err := d.stage(); err != nil {
			return err
		}
	}
	var err error
	for range 3 {
		if err = os.MkdirAll(filepath.Dir(d.path), 0o755); err != nil {
			break
		}
		if err = os.Rename(d.tmp, d.path); !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		os.Remove(d.tmp)
		err = fmt.Errorf("cannot write %s: %w", d.path, err)
	}
	d.tmp = ""
	return err
}

// discard removes the staged file if it was not placed.
func (d *stagedDropIn) discard() {
	if d != nil && d.tmp != "" {
		os.Remove(d.tmp)
	}
}

// makeTransient makes and starts the run's transient unit with its
// drop-in. When the manager has no unit of the name (gone, or seen so now)
// and the drop-in's folder is there, the drop-in goes in place first: a
// manager that listed the folder at its last reload reads it as the unit
// is made, so one left by an earlier unit would give the new unit that
// unit's command. Otherwise it goes in place once the unit exists: a new
// folder before would make the manager rescan its unit folders as it makes
// the unit, and a unit of the name still loaded keeps its own drop-in (the
// call then fails, "unit exists"). A drop-in that cannot be put in place
// leaves no run started.
func (r *Runs) makeTransient(ctx context.Context, name string, props []sd.Property, d *stagedDropIn, gone *bool) (systemdctl.State, *systemdctl.Watch, error) {
	m, unit := r.Manager, units.UnitName(name)
	if !*gone {
		if cur, err := m.Brief(ctx, unit); err == nil && !cur.Loaded() {
			*gone = true
		}
	}
	var (
		made     func()
		placeErr error
	)
	if *gone && d.folderExists() {
		if err := d.place(); err != nil {
			return systemdctl.State{Unit: unit}, nil, r.permissionHint(err)
		}
	} else {
		made = func() { placeErr = d.place() }
	}
	st, w, err := m.StartTransientWatch(ctx, unit, props, made)
	if errors.Is(err, systemdctl.ErrUnitExists) {
		*gone = false
	}
	if placeErr != nil && err == nil {
		w.Close()
		m.Stop(ctx, unit, systemdctl.StopOptions{Force: true})
		return st, nil, r.permissionHint(fmt.Errorf("%w; without it a daemon-reload would alter the command, so the run was stopped", placeErr))
	}
	return st, w, err
}
