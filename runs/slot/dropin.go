package slot

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/runctl/runctl/atomicfile"
)

// What keeps a run exact across daemon-reload and daemon-reexec: a drop-in
// restating a transient run's commands (units.RenderDropIn), and an enabled
// run's unit file taking over from a transient instance the manager kept.
//
// Where the drop-in goes decides when the manager reads it, and what it
// costs (measured on 252 and 257). It goes in place before the unit is
// made whenever the manager has no unit of the name, so the manager reads
// it as it makes the unit if it can, and never leaves a drop-in of an
// earlier unit to be read instead (the manager deletes a drop-in only if
// it loaded it, and reads a folder it listed at its last reload).
//
//   - Up to systemd 255 it goes in the manager's transient folder, beside
//     the unit's own file: no measurable cost (PID 1's time per new run
//     is the same as with the drop-in written after the unit was made, or
//     none). A folder new since the last reload is not read as the unit is
//     made, which is harmless: over D-Bus the unit gets the same commands,
//     and the next reload reads it.
//   - From systemd 256 on, a drop-in the manager finds on disk but did not
//     load makes the unit need a daemon-reload (NeedDaemonReload=yes, and
//     a warning in every systemctl status; systemd issue 31752), and a new
//     folder in the transient folder is not read as the unit is made
//     (257). One in the runtime unit folder (/run/systemd/system) is, as
//     it makes the manager rescan its unit folders: 7-9 ms more of PID
//     1's time for the first start of a name with 150 units (257). The
//     folder stays until rm, so restarts do not pay it. So from 256 on
//     the drop-in goes there.

// runtimeDropInVersion is the first systemd that counts drop-ins written
// after a unit loaded (NeedDaemonReload).
const runtimeDropInVersion = 256

// dropIn is where the run's drop-in goes for this manager, and the other
// place, where one left from before an upgrade of the manager would
// override or outlive it.
func (s *Slots) dropIn(name string) (path, other string) {
	p := s.Layout.Paths(name)
	if s.version() >= runtimeDropInVersion {
		return p.RuntimeDropIn, p.TransientDropIn
	}
	return p.TransientDropIn, p.RuntimeDropIn
}

// writeUnitData writes a drop-in or a unit file runctl owns to path, if
// its content differs.
func writeUnitData(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	// World-readable like the unit: no environment values in it.
	return atomicfile.Write(path, data, 0o644)
}

// fileError says what went wrong with file what at path, once: without
// the path and the verb the layers below repeat.
func fileError(what, path string, err error) error {
	return fmt.Errorf("%s %s: %w", what, path, atomicfile.Cause(err))
}

// sameDropIn says whether the run's drop-in
// (command, folder, environment, and the sum of the whole spec) is dropIn:
// the unit was made from that spec.
func (s *Slots) sameDropIn(name string, dropIn []byte) bool {
	path, _ := s.dropIn(name)
	have, err := os.ReadFile(path)
	return err == nil && bytes.Equal(have, dropIn)
}

// RemoveDropIn removes the run's drop-in, and its folder if empty, and
// says whether there was one.
func (s *Slots) RemoveDropIn(name string) (bool, error) {
	path, other := s.dropIn(name)
	had, _ := removeDropIn(other)
	h, err := removeDropIn(path)
	return had || h, err
}

func removeDropIn(path string) (bool, error) {
	err := os.Remove(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, fileError("its drop-in", path, err)
	}
	os.Remove(filepath.Dir(path)) // kept if someone else put a drop-in there
	return true, nil
}

// stagedDropIn is the run's drop-in, written before the stop into
// runctl's runtime folder, on the file system of the manager's transient
// folder, so that a /run with no room refuses the start while the old
// instance still runs; place renames it into place.
type stagedDropIn struct {
	path, staging string
	tmp           string
	data          []byte
	// other is where an earlier manager's drop-in could be left.
	other string
}

func (s *Slots) stageDropIn(name string, data []byte) (*stagedDropIn, error) {
	path, other := s.dropIn(name)
	d := &stagedDropIn{path: path, staging: s.Layout.Paths(name).Staging, data: data, other: other}
	if err := d.stage(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *stagedDropIn) stage() error {
	if err := os.MkdirAll(filepath.Dir(d.staging), 0o755); err != nil {
		return fileError("its drop-in", d.path, err)
	}
	var err error
	if d.tmp, err = atomicfile.Temp(d.staging, d.data, 0o644); err != nil {
		return fileError("its drop-in", d.path, err)
	}
	return nil
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
		err = fileError("its drop-in", d.path, err)
	}
	d.tmp = ""
	if err == nil && d.other != "" {
		// Left from before an upgrade of the manager: it would override
		// this one, or hold an older spec.
		removeDropIn(d.other)
	}
	return err
}

// discard removes the staged file if it was not placed.
func (d *stagedDropIn) discard() {
	if d != nil && d.tmp != "" {
		os.Remove(d.tmp)
	}
}
