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
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return fmt.Errorf("%s %s: %w", what, path, err)
}

// SameDropIn says whether the drop-in beside the run's transient unit
// (command, folder, environment, and the sum of the whole spec) is dropIn:
// the unit was made from that spec.
func (s *Slots) SameDropIn(name string, dropIn []byte) bool {
	have, err := os.ReadFile(s.Layout.Paths(name).DropIn)
	return err == nil && bytes.Equal(have, dropIn)
}

// RemoveDropIn removes the run's drop-in, and its folder if empty, and
// says whether there was one.
func (s *Slots) RemoveDropIn(name string) (bool, error) {
	path := s.Layout.Paths(name).DropIn
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
}

func (s *Slots) stageDropIn(name string, data []byte) (*stagedDropIn, error) {
	p := s.Layout.Paths(name)
	d := &stagedDropIn{path: p.DropIn, staging: p.Staging, data: data}
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
		err = fileError("its drop-in", d.path, err)
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
