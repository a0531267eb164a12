package runs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/runctl/runctl/atomicfile"
	"github.com/runctl/runctl/units"
)

// What keeps a run exact across daemon-reload and daemon-reexec: a drop-in
// restating its commands (units.RenderDropIn), and an enabled run's unit
// file taking over from a transient instance the manager kept.

// dropInPath is the run's drop-in in the manager's runtime unit folder.
func (r *Runs) dropInPath(name string) string {
	return filepath.Join(r.Scope().RuntimeUnitDir(), units.UnitName(name)+".d", units.DropInName)
}

// syncDropIn writes the run's drop-in if its content differs, and reports
// whether it wrote. The manager reads it when it creates the unit and at
// every reload.
func (r *Runs) syncDropIn(spec *units.Spec, envFile string) (bool, error) {
	data, err := units.RenderDropIn(spec, envFile, r.Store.ExitFile(spec.Name))
	if err != nil {
		return false, err
	}
	path := r.dropInPath(spec.Name)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, r.permissionHint(fmt.Errorf("cannot write %s: %w", path, err))
	}
	// World-readable like the unit file: no environment values in it.
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return false, r.permissionHint(err)
	}
	return true, nil
}

// removeDropIn removes the run's drop-in and its folder, if empty.
func (r *Runs) removeDropIn(name string) error {
	path := r.dropInPath(name)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return r.permissionHint(fmt.Errorf("cannot remove %s: %w", path, err))
	}
	os.Remove(filepath.Dir(path)) // kept if someone else put a drop-in there
	return nil
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
