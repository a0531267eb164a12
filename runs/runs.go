// Package runs is the run lifecycle: start, stop, restart, enable, list and
// forget runs of one systemd manager, keeping each run's spec and its unit in
// step. It does not print: it returns what happened, and the command line
// says it.
package runs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/runctl/runctl/runs/slot"
	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Runs acts on the runs of one manager.
type Runs struct {
	// Manager is the connection to the systemd manager the runs live in.
	Manager *systemdctl.Manager
	// Store keeps each run's spec.
	Store specstore.Store
	// UnitDir is where enabled runs' unit files go.
	UnitDir string
	// Layout is where runctl reaches the manager's runtime folders.
	Layout Layout
	// Log takes diagnostics (--log-level).
	Log zerolog.Logger

	// beforeStartByName, if set, is called between observing a loaded
	// unit and starting it by name (slot.Slots.BeforeStartByName).
	beforeStartByName func()
}

// slots is where the runs are in the manager: every file runctl writes on
// their behalf, derived from the store, the unit folder and the layout.
func (r *Runs) slots() *slot.Slots {
	return &slot.Slots{
		Manager: r.Manager,
		Layout: slot.Layout{
			Store:          r.Store.Dir,
			UnitDir:        r.UnitDir,
			RuntimeDir:     r.Layout.RuntimeDir,
			TransientDir:   r.Layout.TransientDir,
			RuntimeUnitDir: r.Layout.RuntimeUnitDir,
			Alive:          r.Layout.Alive,
		},
		Log:               r.Log,
		BeforeStartByName: r.beforeStartByName,
	}
}

// Layout is where runctl reaches the folders of the manager's runtime
// state: its %t (markers), the folder of its transient units (drop-ins) and
// its runtime unit folder (recorder templates). Tests point it at a
// sandbox's; runctl itself at the machine's own (DefaultLayout).
type Layout struct {
	RuntimeDir, TransientDir, RuntimeUnitDir string
	// Alive is a path that exists, as the manager sees it, while this
	// runctl lives: what its stop markers link to.
	Alive string
	// CgroupRoot is the cgroup file system where ls reads the running
	// runs' memory and CPU time (systemdctl.ReadUsage); empty: the
	// manager's control groups are not there to read (a manager reached
	// through another machine's bus), ask the manager.
	CgroupRoot string
}

// DefaultLayout is the layout of a manager of scope on this machine.
func DefaultLayout(scope systemdctl.Scope) Layout {
	return Layout{RuntimeDir: scope.RuntimeDir(), TransientDir: scope.TransientDir(), RuntimeUnitDir: scope.RuntimeUnitDir(), Alive: fmt.Sprintf("/proc/%d", os.Getpid()), CgroupRoot: "/sys/fs/cgroup"}
}

// Scope is the manager's: system or user.
func (r *Runs) Scope() systemdctl.Scope { return r.Manager.Scope() }

// user says whether the runs' journal is the user's own.
func (r *Runs) user() bool { return r.Scope() == systemdctl.User }

// StoreDir is where the runs of a manager are kept: $RUNCTL_STATE_DIR, the
// system folder, or the user's.
func StoreDir(scope systemdctl.Scope) (string, error) {
	if d := os.Getenv("RUNCTL_STATE_DIR"); d != "" {
		return d, nil
	}
	if scope == systemdctl.System {
		return specstore.SystemDir, nil
	}
	return specstore.UserDir()
}

// UnitDir is where the unit files of a manager's enabled runs go:
// $RUNCTL_UNIT_DIR, /etc/systemd/system, or the user's unit folder.
func UnitDir(scope systemdctl.Scope) (string, error) {
	if d := os.Getenv("RUNCTL_UNIT_DIR"); d != "" {
		return d, nil
	}
	if scope == systemdctl.System {
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

var (
	// ErrNotStopped: the old instance would not go; no second one is started.
	ErrNotStopped = slot.ErrNotStopped
	// ErrTaken: the unit name belongs to something runctl did not make.
	ErrTaken = slot.ErrTaken
	// ErrNothingRunning: a verb without NAME found no run to act on.
	ErrNothingRunning = errors.New("no run is running (runctl ls shows the runs runctl knows)")
	// ErrUnknown: runctl keeps no run of that name and systemd has none.
	ErrUnknown = errors.New("no such run")
)

// unknown is ErrUnknown for one name, with where to look.
func unknown(name string) error {
	return fmt.Errorf("%w: runctl knows no run named %s (runctl ls lists them)", ErrUnknown, name)
}

// permissionHint says what to do about a refusal: the one home of that hint.
func (r *Runs) permissionHint(err error) error {
	if !errors.Is(err, os.ErrPermission) && !errors.Is(err, systemdctl.ErrPermission) {
		return err
	}
	if r.Scope() == systemdctl.System {
		return fmt.Errorf("%w; runs of the system manager need root: use sudo, or --user for your own manager", err)
	}
	return err
}

// lock takes the run's lock for the rest of the command. Only run makes a
// lock for a new name (create); for a name runctl keeps no spec of, the
// other verbs have nothing to protect and leave no lock file behind.
func (r *Runs) lock(ctx context.Context, name string, create bool) (func(), error) {
	if !create && !r.Store.Has(name) {
		return func() {}, nil
	}
	unlock, err := r.Store.Lock(ctx, name)
	if err != nil {
		return nil, r.permissionHint(err)
	}
	return unlock, nil
}

// load reads a kept spec; a name runctl does not keep is ErrUnknown.
func (r *Runs) load(name string) (*units.Spec, error) {
	spec, err := r.Store.Load(name)
	if errors.Is(err, specstore.ErrNotFound) {
		return nil, unknown(name)
	}
	return spec, err
}
