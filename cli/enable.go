package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/runctl/runctl/atomicfile"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Boot-time autostart: transient units vanish at reboot and have no
// [Install] section, so an enabled run gets a real unit file, rendered from
// its spec. While a transient unit of the same name is loaded it shadows the
// file; from its next start the run is the persistent unit.

// EnableCmd makes runs start at boot.
type EnableCmd struct {
	Names []string `arg:"" help:"Runs to start at boot." placeholder:"NAME"`
}

// DisableCmd undoes enable.
type DisableCmd struct {
	Names []string `arg:"" optional:"" help:"Runs to no longer start at boot." placeholder:"NAME"`
	All   bool     `help:"Disable every run runctl enabled."`
}

// unitDir is where this manager's enabled runs' unit files go.
func (e *Env) unitDir() (string, error) {
	if d := os.Getenv("RUNCTL_UNIT_DIR"); d != "" {
		return d, nil
	}
	if e.Scope() == systemdctl.System {
		return "/etc/systemd/system", nil
	}
	if d := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "systemd", "user"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find your unit folder: %w", err)
	}
	return filepath.Join(home, ".config", "systemd", "user"), nil
}

func (e *Env) unitFile(name string) (string, error) {
	dir, err := e.unitDir()
	return filepath.Join(dir, units.UnitName(name)), err
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
func (e *Env) enabled(name string) bool {
	path, err := e.unitFile(name)
	if err != nil {
		return false
	}
	own, _ := ownUnitFile(path)
	return own
}

// wantsLink is the link enable makes: what starts the run at boot.
func (e *Env) wantsLink(name string) (string, error) {
	dir, err := e.unitDir()
	if err != nil {
		return "", err
	}
	target, err := units.WantedBy(e.Scope().String())
	return filepath.Join(dir, target+".wants", units.UnitName(name)), err
}

// autostart says whether the run starts at boot: runctl's unit file is
// linked into the boot target. This is read from the files rather than
// systemd's UnitFileState, which says "transient" for as long as the run
// still runs as the transient unit it was before enable (measured, 252).
func (e *Env) autostart(name string) bool {
	path, err := e.unitFile(name)
	if err != nil {
		return false
	}
	link, err := e.wantsLink(name)
	if err != nil {
		return false
	}
	lfi, err := os.Stat(link)
	if err != nil {
		return false
	}
	fi, err := os.Stat(path)
	if err != nil || !os.SameFile(fi, lfi) {
		return false
	}
	own, _ := ownUnitFile(path)
	return own
}

// autostartNames lists the runs that start at boot, by one read of the
// boot target's links.
func (e *Env) autostartNames() map[string]bool {
	out := map[string]bool{}
	link, err := e.wantsLink("x")
	if err != nil {
		return out
	}
	ents, _ := os.ReadDir(filepath.Dir(link))
	for _, ent := range ents {
		if name, ok := units.NameFromUnit(ent.Name()); ok && e.autostart(name) {
			out[name] = true
		}
	}
	return out
}

// enabledNames lists the runs runctl wrote a unit file for, by one read of
// the unit folder.
func (e *Env) enabledNames() map[string]bool {
	out := map[string]bool{}
	dir, err := e.unitDir()
	if err != nil {
		return out
	}
	ents, _ := os.ReadDir(dir)
	for _, ent := range ents {
		if name, ok := units.NameFromUnit(ent.Name()); ok && ent.Type().IsRegular() && e.enabled(name) {
			out[name] = true
		}
	}
	return out
}

// checkUnitName refuses to enable a run whose unit name has a unit file
// runctl did not write, in any folder the manager loads units from:
// writing ours would overwrite or shadow it.
func (e *Env) checkUnitName(name string) error {
	m, err := e.Manager()
	if err != nil {
		return err
	}
	dirs, err := m.UnitPath(e.Ctx)
	if err != nil {
		return err
	}
	if own, err := e.unitDir(); err == nil {
		dirs = append(dirs, own)
	}
	unit := units.UnitName(name)
	for _, d := range dirs {
		if filepath.Base(d) == "transient" {
			continue // runctl's own transient units
		}
		path := filepath.Join(d, unit)
		if own, exists := ownUnitFile(path); exists && !own {
			return fmt.Errorf("%w: %s is a unit file runctl did not write (%s, no %q line); runctl neither overwrites nor shadows it: choose another name with -n", errTaken, path, fileOwner(path), units.UnitFileMarker)
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
	if u, err := user.LookupId(strconv.Itoa(int(st.Uid))); err == nil {
		return "owned by " + u.Username
	}
	return fmt.Sprintf("owned by uid %d", st.Uid)
}

// syncUnitFile writes the run's unit file from its spec, naming envFile,
// if it differs, and reloads the manager then. It reports whether it wrote.
func (e *Env) syncUnitFile(spec *units.Spec, envFile string) (bool, error) {
	data, err := units.RenderUnitFile(spec, envFile, e.Scope().String())
	if err != nil {
		return false, err
	}
	path, err := e.unitFile(spec.Name)
	if err != nil {
		return false, err
	}
	m, err := e.Manager()
	if err != nil {
		return false, err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		// Written already, but runctl may have died before the reload.
		if need, err := m.NeedsReload(e.Ctx, units.UnitName(spec.Name)); err != nil || !need {
			return false, err
		}
		return true, m.Reload(e.Ctx)
	}
	if own, exists := ownUnitFile(path); exists && !own {
		return false, fmt.Errorf("%w: %s is a unit file runctl did not write (%s)", errTaken, path, fileOwner(path))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, permissionHint(fmt.Errorf("cannot write %s: %w", path, err), e.Scope())
	}
	// World-readable like every unit file: it holds no environment values.
	if err := atomicfile.Write(path, data, 0o644); err != nil {
		return false, permissionHint(err, e.Scope())
	}
	return true, m.Reload(e.Ctx)
}

// linkUnitFile makes the boot target want the run's unit file, repairing
// an enable that was cut short (the file written, not yet linked).
func (e *Env) linkUnitFile(name string) error {
	if e.autostart(name) {
		return nil
	}
	path, err := e.unitFile(name)
	if err != nil {
		return err
	}
	m, err := e.Manager()
	if err != nil {
		return err
	}
	return permissionHint(m.Enable(e.Ctx, path), e.Scope())
}

func (c *EnableCmd) Run(e *Env) error {
	for _, name := range c.Names {
		if err := units.ValidateName(name); err != nil {
			return err
		}
	}
	for _, name := range c.Names {
		if err := e.enable(name); err != nil {
			return err
		}
		if e.interrupted {
			return &ExitError{Code: 130, Err: fmt.Errorf("interrupted after enabling %s", name)}
		}
	}
	return nil
}

func (e *Env) enable(name string) error {
	unlock, err := e.lockRun(name, false)
	if err != nil {
		return err
	}
	defer unlock()
	store, _ := e.Store()
	spec, err := loadSpec(store, name)
	if err != nil {
		return err
	}
	if err := e.enableLocked(spec); err != nil {
		return err
	}
	m, _ := e.Manager()
	if st, err := m.Brief(e.Ctx, units.UnitName(name)); err == nil && st.Running() && !e.JSON {
		fmt.Fprintf(e.Stdout, "%s keeps running as a transient unit until its next restart; from then on, and at boot, it runs from the unit file\n", name)
	}
	return nil
}

// enableLocked writes and enables the unit file; the caller holds the lock.
// Ctrl-C and SIGTERM wait until both are done; a SIGKILL in between leaves
// the file without its link, which the next enable, start or restart adds.
func (e *Env) enableLocked(spec *units.Spec) error {
	name := spec.Name
	held := make(chan os.Signal, 2)
	signal.Notify(held, syscall.SIGINT, syscall.SIGTERM)
	defer func() {
		signal.Stop(held)
		if len(held) > 0 {
			e.interrupted = true
		}
	}()
	if err := e.checkUnitName(name); err != nil {
		return fmt.Errorf("cannot enable %s: %w", name, err)
	}
	store, err := e.Store()
	if err != nil {
		return err
	}
	envFile, err := store.EnsureEnvFile(spec)
	if err != nil {
		return fmt.Errorf("cannot enable %s: %w", name, err)
	}
	if _, err := e.syncUnitFile(spec, envFile); err != nil {
		return fmt.Errorf("cannot enable %s: %w", name, err)
	}
	if err := e.linkUnitFile(name); err != nil {
		return err
	}
	path, _ := e.unitFile(name)
	if !e.JSON {
		fmt.Fprintf(e.Stdout, "enabled %s: it starts at boot (%s)\n", name, path)
	}
	if e.Scope() == systemdctl.User {
		if msg := ensureLinger(e); msg != "" {
			fmt.Fprintln(e.Stderr, msg)
		}
	}
	return nil
}

func (c *DisableCmd) Run(e *Env) error {
	names := c.Names
	switch {
	case c.All && len(names) > 0:
		return errors.New("give NAMEs or --all, not both")
	case c.All:
		for name := range e.enabledNames() {
			names = append(names, name)
		}
		sort.Strings(names)
		if len(names) == 0 {
			fmt.Fprintln(e.Stdout, "no run is enabled")
			return nil
		}
	case len(names) == 0:
		return errors.New("give the NAMEs of runs to disable, or --all")
	}
	for _, name := range names {
		if err := units.ValidateName(name); err != nil {
			return err
		}
	}
	for _, name := range names {
		if err := e.disable(name, true); err != nil {
			return err
		}
	}
	return nil
}

// disable removes the unit file runctl wrote and its links, and says
// whether the run keeps running.
func (e *Env) disable(name string, lock bool) error {
	if lock {
		unlock, err := e.lockRun(name, false)
		if err != nil {
			return err
		}
		defer unlock()
	}
	link, _ := e.wantsLink(name)
	_, lerr := os.Lstat(link)
	if !e.enabled(name) && lerr != nil {
		return fmt.Errorf("%s is not enabled (runctl enable %s makes it start at boot)", name, name)
	}
	m, err := e.Manager()
	if err != nil {
		return err
	}
	// The file first: it is what start and restart read as "meant to be
	// enabled", so an interrupted disable is not undone by them; a link
	// left dangling starts nothing, and disable removes it.
	path, _ := e.unitFile(name)
	if e.enabled(name) {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return permissionHint(fmt.Errorf("cannot remove %s: %w", path, err), e.Scope())
		}
	}
	unit := units.UnitName(name)
	if err := m.Disable(e.Ctx, unit); err != nil {
		return permissionHint(err, e.Scope())
	}
	if err := m.Reload(e.Ctx); err != nil {
		return err
	}
	st, _ := m.Brief(e.Ctx, unit)
	if e.JSON {
		return nil
	}
	if st.Running() {
		fmt.Fprintf(e.Stdout, "disabled %s: it keeps running until stopped, and will not start at boot\n", name)
	} else {
		fmt.Fprintf(e.Stdout, "disabled %s: it will not start at boot\n", name)
	}
	return nil
}

// ensureLinger makes a user's manager start at boot, without which their
// enabled runs would wait for a login. It asks logind (allowed for oneself
// where polkit permits) and otherwise says what to run.
func ensureLinger(e *Env) string {
	u := os.Getenv("USER")
	if u == "" {
		u = fmt.Sprint(os.Getuid())
	}
	if _, err := os.Stat("/var/lib/systemd/linger/" + u); err == nil {
		return ""
	}
	if err := systemdctl.EnableLinger(e.Ctx, uint32(os.Getuid())); err == nil {
		return fmt.Sprintf("runctl: enabled lingering for %s, so your manager and its enabled runs start at boot", u)
	}
	return fmt.Sprintf("runctl: your user manager does not start at boot until lingering is on: sudo loginctl enable-linger %s", strings.TrimSpace(u))
}
