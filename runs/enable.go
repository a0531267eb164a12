package runs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/runctl/runctl/atomicfile"
	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Boot-time autostart: transient units vanish at reboot and have no
// [Install] section, so an enabled run gets a real unit file, rendered from
// its spec. While a transient unit of the same name is loaded it shadows the
// file; from its next start the run is the persistent unit.

func (r *Runs) unitFile(name string) string {
	return filepath.Join(r.UnitDir, units.UnitName(name))
}

// ownUnitFile says whether path exists and whether runctl wrote it.
func ownUnitFile(path string) (own, exists bool) {
	f, err := os.Open(path)
	if err != nil {
		return false, !errors.Is(err, fs.ErrNotExist)
	}
	defer f.Close()
	head := make([]byte, len(units.UnitFileMarker))
	n, _ := io.ReadFull(f, head)
	return units.OwnUnitFile(head[:n]), true
}

// enabled says whether runctl wrote a unit file for the run: it is meant
// to start at boot, even if an interrupted enable left it without its
// link (autostart tells whether it will).
func (r *Runs) enabled(name string) bool {
	own, _ := ownUnitFile(r.unitFile(name))
	return own
}

// wantsDir holds the links enable makes: what starts runs at boot.
func (r *Runs) wantsDir() (string, error) {
	target, err := units.WantedBy(r.Scope().String())
	return filepath.Join(r.UnitDir, target+".wants"), err
}

func (r *Runs) wantsLink(name string) (string, error) {
	dir, err := r.wantsDir()
	return filepath.Join(dir, units.UnitName(name)), err
}

// autostart says whether the run starts at boot: runctl's unit file is
// linked into the boot target. This is read from the files rather than
// systemd's UnitFileState, which says "transient" for as long as the run
// still runs as the transient unit it was before enable (measured, 252).
func (r *Runs) autostart(name string) bool {
	link, err := r.wantsLink(name)
	if err != nil {
		return false
	}
	lfi, err := os.Stat(link)
	if err != nil {
		return false
	}
	path := r.unitFile(name)
	fi, err := os.Stat(path)
	if err != nil || !os.SameFile(fi, lfi) {
		return false
	}
	own, _ := ownUnitFile(path)
	return own
}

// autostartNames lists the runs that start at boot, by one read of the
// boot target's links.
func (r *Runs) autostartNames() map[string]bool {
	out := map[string]bool{}
	dir, err := r.wantsDir()
	if err != nil {
		return out
	}
	ents, _ := os.ReadDir(dir)
	for _, ent := range ents {
		if name, ok := units.NameFromUnit(ent.Name()); ok && r.autostart(name) {
			out[name] = true
		}
	}
	return out
}

// enabledNames lists the runs runctl wrote a unit file for, by one read of
// the unit folder.
func (r *Runs) enabledNames() []string {
	var out []string
	ents, _ := os.ReadDir(r.UnitDir)
	for _, ent := range ents {
		if name, ok := units.NameFromUnit(ent.Name()); ok && ent.Type().IsRegular() && r.enabled(name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// checkUnitName refuses to enable a run whose unit name has a unit file
// runctl did not write, in any folder the manager loads units from:
// writing ours would overwrite or shadow it.
func (r *Runs) checkUnitName(ctx context.Context, name string) error {
	dirs, err := r.Manager.UnitPath(ctx)
	if err != nil {
		return err
	}
	dirs = append(dirs, r.UnitDir)
	unit := units.UnitName(name)
	for _, d := range dirs {
		if filepath.Base(d) == "transient" {
			continue // runctl's own transient units
		}
		path := filepath.Join(d, unit)
		if own, exists := ownUnitFile(path); exists && !own {
			return fmt.Errorf("%w: %s is a unit file runctl did not write (%s, no %q line); runctl neither overwrites nor shadows it: choose another name with -n", ErrTaken, path, fileOwner(path), units.UnitFileMarker)
		}
	}
	return nil
}

// fileOwner says whose a file is, for messages.
func fileOwner(path string) string {
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

// syncUnitFile writes the run's unit file from its spec, naming envFile,
// if it differs, and reloads the manager then. It reports whether it wrote.
func (r *Runs) syncUnitFile(ctx context.Context, spec *units.Spec, envFile string) (bool, error) {
	data, err := units.RenderUnitFile(spec, envFile, r.recorder(), r.Scope().String(), r.managerVersion())
	if err != nil {
		return false, err
	}
	if err := r.installRecorder(true); err != nil {
		return false, r.permissionHint(err)
	}
	path := r.unitFile(spec.Name)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		// Written already, but runctl may have died before the reload.
		if need, err := r.Manager.NeedsReload(ctx, units.UnitName(spec.Name)); err != nil || !need {
			return false, err
		}
		return true, r.Manager.Reload(ctx)
	}
	if own, exists := ownUnitFile(path); exists && !own {
		return false, fmt.Errorf("%w: %s is a unit file runctl did not write (%s)", ErrTaken, path, fileOwner(path))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, r.permissionHint(err)
	}
	// World-readable like every unit file: it holds no environment values.
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return false, r.permissionHint(err)
	}
	return true, r.Manager.Reload(ctx)
}

// linkUnitFile makes the boot target want the run's unit file, repairing
// an enable that was cut short (the file written, not yet linked).
func (r *Runs) linkUnitFile(ctx context.Context, name string) error {
	if r.autostart(name) {
		return nil
	}
	return r.permissionHint(r.Manager.Enable(ctx, r.unitFile(name)))
}

// Enabled is what Enable did.
type Enabled struct {
	Name     string `json:"name"`
	UnitFile string `json:"unit_file"`
	// Transient: the run keeps running as a transient unit until its next
	// restart; from then on, and at boot, it runs from the unit file.
	Transient bool `json:"transient"`
	// Linger: what enabling a user run at boot still needs, if anything.
	Linger string `json:"linger,omitempty"`
	// Interrupted: Ctrl-C or SIGTERM came while enabling, which finished
	// first; the caller should stop there.
	Interrupted bool `json:"-"`
}

// Enable writes the run's unit file and enables it, so it starts at boot.
func (r *Runs) Enable(ctx context.Context, name string) (Enabled, error) {
	res := Enabled{Name: name, UnitFile: r.unitFile(name)}
	if err := r.supported(ctx, "enable "+name); err != nil {
		return res, err
	}
	unlock, err := r.lock(ctx, name, false)
	if err != nil {
		return res, err
	}
	defer unlock()
	spec, err := r.load(name)
	if err != nil {
		return res, err
	}
	if res.Interrupted, err = r.enableLocked(ctx, spec); err != nil {
		return res, err
	}
	if st, err := r.Manager.Brief(ctx, units.UnitName(name)); err == nil && st.Running() {
		res.Transient = true
	}
	if r.Scope() == systemdctl.User {
		res.Linger = ensureLinger(ctx)
	}
	return res, nil
}

// enableLocked writes and enables the unit file; the caller holds the lock.
// Ctrl-C and SIGTERM wait until both are done (interrupted says one came);
// a SIGKILL in between leaves the file without its link, which the next
// enable, start or restart adds.
func (r *Runs) enableLocked(ctx context.Context, spec *units.Spec) (interrupted bool, err error) {
	name := spec.Name
	held := make(chan os.Signal, 2)
	signal.Notify(held, syscall.SIGINT, syscall.SIGTERM)
	defer func() {
		signal.Stop(held)
		interrupted = len(held) > 0
	}()
	if err := r.checkUnitName(ctx, name); err != nil {
		return false, fmt.Errorf("cannot enable %s: %w", name, err)
	}
	envFile, err := r.Store.EnsureEnvFile(spec)
	if err != nil {
		return false, fmt.Errorf("cannot enable %s: %w", name, err)
	}
	if _, err := r.syncUnitFile(ctx, spec, envFile); err != nil {
		return false, fmt.Errorf("cannot enable %s: %w", name, err)
	}
	if err := r.linkUnitFile(ctx, name); err != nil {
		return false, fmt.Errorf("cannot enable %s: %w", name, err)
	}
	return false, nil
}

// Disabled is what Disable did.
type Disabled struct {
	Name string `json:"name"`
	// Running: the run keeps running until stopped.
	Running bool `json:"running"`
}

// Disable removes the unit file runctl wrote and its links.
func (r *Runs) Disable(ctx context.Context, name string) (Disabled, error) {
	unlock, err := r.lock(ctx, name, false)
	if err != nil {
		return Disabled{Name: name}, err
	}
	defer unlock()
	return r.disableLocked(ctx, name)
}

// DisableAll disables every run runctl enabled, by name.
func (r *Runs) DisableAll(ctx context.Context) ([]Disabled, error) {
	var out []Disabled
	for _, name := range r.enabledNames() {
		d, err := r.Disable(ctx, name)
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
	return out, nil
}

func (r *Runs) disableLocked(ctx context.Context, name string) (Disabled, error) {
	res := Disabled{Name: name}
	link, _ := r.wantsLink(name)
	_, lerr := os.Lstat(link)
	enabled := r.enabled(name)
	if !enabled && lerr != nil {
		return res, fmt.Errorf("%s is not enabled (runctl enable %s makes it start at boot)", name, name)
	}
	// The file first: it is what start and restart read as "meant to be
	// enabled", so an interrupted disable is not undone by them; a link
	// left dangling starts nothing, and disable removes it.
	path := r.unitFile(name)
	if enabled {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, r.permissionHint(fmt.Errorf("cannot disable %s: %w", name, err))
		}
	}
	unit := units.UnitName(name)
	if err := r.Manager.Disable(ctx, unit); err != nil {
		return res, r.permissionHint(fmt.Errorf("cannot disable %s: %w", name, err))
	}
	if err := r.Manager.Reload(ctx); err != nil {
		return res, fmt.Errorf("cannot disable %s: %w", name, err)
	}
	st, _ := r.Manager.Brief(ctx, unit)
	res.Running = st.Running()
	return res, nil
}

// ensureLinger makes a user's manager start at boot, without which their
// enabled runs would wait for a login. It asks logind (allowed for oneself
// where polkit permits) and otherwise says what to run.
func ensureLinger(ctx context.Context) string {
	u := os.Getenv("USER")
	if u == "" {
		u = fmt.Sprint(os.Getuid())
	}
	if _, err := os.Stat("/var/lib/systemd/linger/" + u); err == nil {
		return ""
	}
	if err := systemdctl.EnableLinger(ctx, uint32(os.Getuid())); err == nil {
		return fmt.Sprintf("enabled lingering for %s, so your manager and its enabled runs start at boot", u)
	}
	return fmt.Sprintf("your user manager does not start at boot until lingering is on: sudo loginctl enable-linger %s", strings.TrimSpace(u))
}
