package runs

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/units"
)

// Remove forgets a stopped run (with force, a running one is stopped
// first): its unit file if enabled, and its spec.
func (r *Runs) Remove(ctx context.Context, name string, force bool) error {
	unlock, err := r.lock(ctx, name, false)
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := r.Manager.Brief(ctx, units.UnitName(name))
	if err != nil {
		return err
	}
	if cur.Running() && !force {
		return fmt.Errorf("run %s is running: stop it first, or rm --force", name)
	}
	// Forgetting writes the store and the unit folder: check before the
	// stop, which a runctl group member may do, so rm does not stop a run
	// and then fail to forget it.
	dirs := []string{r.Store.Dir}
	slots := r.slots()
	enabled := slots.Enabled(name)
	if enabled {
		dirs = append(dirs, r.UnitDir)
	}
	for _, d := range dirs {
		if err := unix.Access(d, unix.W_OK); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return r.permissionHint(fmt.Errorf("cannot forget %s: %s: %w", name, d, err))
		}
	}
	if cur.Loaded() {
		if _, err := r.stop(ctx, name, 0, false, enabled); err != nil && cur.Running() {
			return fmt.Errorf("cannot forget %s: %w", name, err)
		}
	}
	if enabled {
		if _, err := r.disableLocked(ctx, name); err != nil {
			return err
		}
	}
	if _, err := slots.RemoveDropIn(name); err != nil {
		return r.permissionHint(fmt.Errorf("cannot forget %s: %w", name, err))
	}
	if err := r.Store.Remove(name); err != nil {
		if errors.Is(err, specstore.ErrNotFound) {
			return unknown(name) // exit 5, as for every verb
		}
		return r.permissionHint(err)
	}
	slots.ReleaseRecorder(name)
	os.Remove(r.startNote(name))
	return nil
}
