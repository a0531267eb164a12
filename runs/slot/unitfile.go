package slot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/runctl/runctl/atomicfile"
	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/units"
)

// Boot-time autostart: transient units vanish at reboot and have no
// [Install] section, so an enabled run gets a real unit file, rendered from
// its spec. While a transient unit of the same name is loaded it shadows the
// file; from its next start the run is the persistent unit.

// OwnUnitFile says whether path exists and whether runctl wrote it.
func OwnUnitFile(path string) (own, exists bool) {
	f, err := os.Open(path)
	if err != nil {
		return false, !errors.Is(err, fs.ErrNotExist)
	}
	defer f.Close()
	head := make([]byte, len(units.UnitFileMarker))
	n, _ := io.ReadFull(f, head)
	return units.OwnUnitFile(head[:n]), true
}

// Enabled says whether runctl wrote a unit file for the run: it is meant
// to start at boot, even if an interrupted enable left it without its
// link (AutostartNames tells whether it will).
func (s *Slots) Enabled(name string) bool {
	own, _ := OwnUnitFile(s.Layout.Paths(name).UnitFile)
	return own
}

// WantsDir holds the links enable makes: what starts runs at boot.
func (s *Slots) WantsDir() (string, error) {
	target, err := units.WantedBy(s.Manager.Scope().String())
	return filepath.Join(s.Layout.UnitDir, target+".wants"), err
}

// WantsLink is the link that makes the boot target start the run.
func (s *Slots) WantsLink(name string) (string, error) {
	dir, err := s.WantsDir()
	return filepath.Join(dir, units.UnitName(name)), err
}

// autostart says whether the run starts at boot: runctl's unit file is
// linked into the boot target. This is read from the files rather than
// systemd's UnitFileState, which says "transient" for as long as the run
// still runs as the transient unit it was before enable (measured, 252).
func (s *Slots) autostart(name string) bool {
	link, err := s.WantsLink(name)
	if err != nil {
		return false
	}
	lfi, err := os.Stat(link)
	if err != nil {
		return false
	}
	path := s.Layout.Paths(name).UnitFile
	fi, err := os.Stat(path)
	if err != nil || !os.SameFile(fi, lfi) {
		return false
	}
	own, _ := OwnUnitFile(path)
	return own
}

// AutostartNames lists the runs that start at boot, by one read of the
// boot target's links.
func (s *Slots) AutostartNames() map[string]bool {
	out := map[string]bool{}
	dir, err := s.WantsDir()
	if err != nil {
		return out
	}
	ents, _ := os.ReadDir(dir)
	for _, ent := range ents {
		if name, ok := units.NameFromUnit(ent.Name()); ok && s.autostart(name) {
			out[name] = true
		}
	}
	return out
}

// EnabledNames lists the runs runctl wrote a unit file for, by one read of
// the unit folder.
func (s *Slots) EnabledNames() []string {
	var out []string
	ents, _ := os.ReadDir(s.Layout.UnitDir)
	for _, ent := range ents {
		if name, ok := units.NameFromUnit(ent.Name()); ok && ent.Type().IsRegular() && s.Enabled(name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// CheckUnitName refuses to enable a run whose unit name has a unit file
// runctl did not write, in any folder the manager loads units from:
// writing ours would overwrite or shadow it.
func (s *Slots) CheckUnitName(ctx context.Context, name string) error {
	dirs, err := s.Manager.UnitPath(ctx)
	if err != nil {
		return err
	}
	dirs = append(dirs, s.Layout.UnitDir)
	unit := units.UnitName(name)
	for _, d := range dirs {
		if filepath.Base(d) == "transient" {
			continue // runctl's own transient units
		}
		path := filepath.Join(d, unit)
		if own, exists := OwnUnitFile(path); exists && !own {
			return fmt.Errorf("%w: %s is a unit file runctl did not write (%s, no %q line); runctl neither overwrites nor shadows it: choose another name with -n", ErrTaken, path, FileOwner(path), units.UnitFileMarker)
		}
	}
	return nil
}

// FileOwner says whose a file is, for messages.
func FileOwner(path string) string {
	fi, err := os.Lstat(path)
	if err != nil {
		return "unreadable"
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "owner unknown"
	}
	return "owned by " + specstore.UserName(st.Uid)
}

// SyncUnitFile writes the run's unit file from its spec, naming envFile,
// if it differs, and reloads the manager then. It reports whether it wrote.
func (s *Slots) SyncUnitFile(ctx context.Context, spec *units.Spec, envFile string) (bool, error) {
	data, err := units.RenderUnitFile(spec, envFile, s.Recorder(), s.Manager.Scope().String(), s.version())
	if err != nil {
		return false, err
	}
	if err := s.installRecorder(true); err != nil {
		return false, err
	}
	path := s.Layout.Paths(spec.Name).UnitFile
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		// Written already, but runctl may have died before the reload.
		if need, err := s.Manager.NeedsReload(ctx, units.UnitName(spec.Name)); err != nil || !need {
			return false, err
		}
		return true, s.Manager.Reload(ctx)
	}
	if own, exists := OwnUnitFile(path); exists && !own {
		return false, fmt.Errorf("%w: %s is a unit file runctl did not write (%s)", ErrTaken, path, FileOwner(path))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fileError("the unit file", path, err)
	}
	// World-readable like every unit file: it holds no environment values.
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return false, fileError("the unit file", path, err)
	}
	return true, s.Manager.Reload(ctx)
}

// LinkUnitFile makes the boot target want the run's unit file, repairing
// an enable that was cut short (the file written, not yet linked).
func (s *Slots) LinkUnitFile(ctx context.Context, name string) error {
	if s.autostart(name) {
		return nil
	}
	return s.Manager.Enable(ctx, s.Layout.Paths(name).UnitFile)
}

// RemoveUnitFile removes the run's unit file (if runctl wrote it) and its
// links, and reloads the manager. The file goes first: it is what start
// and restart read as "meant to be enabled", so an interrupted disable is
// not undone by them; a link left dangling starts nothing, and the next
// disable removes it.
func (s *Slots) RemoveUnitFile(ctx context.Context, name string) error {
	path := s.Layout.Paths(name).UnitFile
	if s.Enabled(name) {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fileError("the unit file", path, err)
		}
	}
	if err := s.Manager.Disable(ctx, units.UnitName(name)); err != nil {
		return err
	}
	return s.Manager.Reload(ctx)
}
