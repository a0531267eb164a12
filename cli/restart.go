package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/systemdctl"

	"github.com/runctl/runctl/units"
)

// RestartCmd stops a run, waits until it is gone, and starts it again from
// its kept spec.
type RestartCmd struct {
	Name      *string       `arg:"" optional:"" help:"Run to restart (default: the most recently started)." placeholder:"NAME"`
	Force     bool          `short:"f" help:"SIGKILL the old instance at once instead of SIGTERM."`
	Timeout   time.Duration `help:"Wait this long after SIGTERM before SIGKILL (default: the run's --stop-timeout)." placeholder:"DUR"`
	UpdateEnv bool          `help:"Replace the replayed environment with your current one."`
	Settle    time.Duration `help:"${settle_help}" default:"${settle}" placeholder:"DUR"`
}

func (c *RestartCmd) Run(e *Env) error {
	if c.Timeout < 0 {
		return fmt.Errorf("invalid --timeout %v: give a positive duration such as 5s", c.Timeout)
	}
	if err := checkSettle(c.Settle); err != nil {
		return err
	}
	name, err := e.target(c.Name, true)
	if err != nil {
		return err
	}
	unlock, err := e.lockRun(name, false)
	if errors.Is(err, os.ErrPermission) {
		return e.restartByName(name, c) // not root: the runs' folder is root's
	}
	if err != nil {
		return err
	}
	defer unlock()
	store, _ := e.Store()
	spec, err := loadSpec(store, name)
	if errors.Is(err, os.ErrPermission) {
		return e.restartByName(name, c)
	}
	if err != nil {
		return err
	}
	crashpoint("after-spec")
	env := "replayed"
	old := *spec
	if c.UpdateEnv {
		fresh, _, err := units.CaptureEnv(os.Environ(), nil, spec.Dir)
		if err != nil {
			return fmt.Errorf("cannot restart %s: %w", name, err)
		}
		spec.Env, env = fresh, "updated"
	}
	if err := preflight(spec); err != nil {
		return fmt.Errorf("cannot restart %s: %w; the running instance was left alone", name, err)
	}
	if c.UpdateEnv {
		if err := store.Save(spec); err != nil {
			return permissionHint(fmt.Errorf("cannot keep the run's new environment: %w; the running instance was left alone", err), e.Scope())
		}
	}
	res, _, err := e.cycle(spec, cycleOptions{Timeout: c.Timeout, Force: c.Force, Settle: c.Settle})
	if err != nil && c.UpdateEnv {
		// The new environment is kept only by a restart that used it.
		if rerr := store.Save(&old); rerr != nil {
			err = fmt.Errorf("%w; the new environment stays kept (%v)", err, rerr)
		}
	}
	res.Environment = env
	if e.JSON {
		if perr := e.printJSON(res); perr != nil {
			return perr
		}
		if err != nil {
			return &ExitError{Code: 1, Err: err}
		}
		return nil
	}
	res.print(e, "restarting")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "restarted %s in %s (pid %d)\n", name, ms(res.TookSec), res.PID)
	return nil
}

// restartByName restarts an enabled run without its spec, which only root
// may read (it holds the environment): stop, wait, start the unit file by
// name. That is what the polkit rule lets the runctl group do; creating a
// transient unit instead would be root-equivalent, so it is not offered.
func (e *Env) restartByName(name string, c *RestartCmd) error {
	if !e.enabled(name) {
		return fmt.Errorf("cannot restart %s: its spec is readable by root only, and starting it as a transient unit needs root (that would allow any command as root); use sudo, or have root run `runctl enable %s`: the runctl group may restart enabled runs", name, name)
	}
	m, err := e.Manager()
	if err != nil {
		return err
	}
	unit := units.UnitName(name)
	timeout := c.Timeout
	if timeout == 0 {
		timeout = units.DefaultStopTimeout
	}
	ctx, cancel := context.WithTimeout(e.Ctx, timeout+stopGrace)
	stopped, err := m.Stop(ctx, unit, systemdctl.StopOptions{Timeout: timeout, Force: c.Force})
	cancel()
	if err != nil && !errors.Is(err, systemdctl.ErrNotLoaded) {
		return permissionHint(fmt.Errorf("cannot restart %s: %w", name, err), e.Scope())
	}
	began := time.Now()
	st, w, err := m.StartWatch(e.Ctx, unit)
	defer w.Close()
	if err != nil {
		return permissionHint(fmt.Errorf("cannot start %s: %w", name, err), e.Scope())
	}
	if err := e.settle(w, name, st, began, c.Settle); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "restarted %s: old instance %s, new pid %d\n", name, orDash(stopped.After.Ended()), st.MainPID)
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// StartCmd starts a known, stopped run from its kept spec.
type StartCmd struct {
	Name   string        `arg:"" help:"Run to start." placeholder:"NAME"`
	Settle time.Duration `help:"${settle_help}" default:"${settle}" placeholder:"DUR"`
}

func (c *StartCmd) Run(e *Env) error {
	if err := units.ValidateName(c.Name); err != nil {
		return err
	}
	if err := checkSettle(c.Settle); err != nil {
		return err
	}
	unlock, err := e.lockRun(c.Name, false)
	if err != nil {
		return err
	}
	defer unlock()
	store, _ := e.Store()
	spec, err := loadSpec(store, c.Name)
	if err != nil {
		return err
	}
	m, err := e.Manager()
	if err != nil {
		return err
	}
	cur, err := m.Brief(e.Ctx, units.UnitName(c.Name))
	if err != nil {
		return err
	}
	if cur.Running() {
		return fmt.Errorf("run %s is already running; runctl restart %s restarts it", c.Name, c.Name)
	}
	if err := preflight(spec); err != nil {
		return fmt.Errorf("cannot start %s: %w", c.Name, err)
	}
	res, _, err := e.cycle(spec, cycleOptions{Fresh: !cur.Loaded(), Settle: c.Settle})
	if e.JSON && err == nil {
		return e.printJSON(res)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "started %s (unit %s, pid %d)\n", c.Name, res.Unit, res.PID)
	return nil
}

// RmCmd forgets a stopped run.
type RmCmd struct {
	Names []string `arg:"" help:"Runs to forget." placeholder:"NAME"`
	Force bool     `short:"f" help:"Stop a running run first."`
}

func (c *RmCmd) Run(e *Env) error {
	for _, name := range c.Names {
		if err := units.ValidateName(name); err != nil {
			return err
		}
	}
	for _, name := range c.Names {
		if err := e.rm(name, c.Force); err != nil {
			return err
		}
		if !e.JSON {
			fmt.Fprintf(e.Stdout, "forgot %s\n", name)
		}
	}
	return nil
}

func (e *Env) rm(name string, force bool) error {
	unlock, err := e.lockRun(name, false)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := e.Manager()
	if err != nil {
		return err
	}
	cur, err := m.Brief(e.Ctx, units.UnitName(name))
	if err != nil {
		return err
	}
	if cur.Running() && !force {
		return fmt.Errorf("run %s is running: stop it first, or rm --force", name)
	}
	// Forgetting writes the store and the unit folder: check before the
	// stop, which a runctl group member may do, so rm does not stop a run
	// and then fail to forget it.
	store, _ := e.Store()
	dirs := []string{store.Dir}
	if e.enabled(name) {
		dir, _ := e.unitDir()
		dirs = append(dirs, dir)
	}
	for _, d := range dirs {
		if err := unix.Access(d, unix.W_OK); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return permissionHint(fmt.Errorf("cannot forget %s: %s: %w", name, d, err), e.Scope())
		}
	}
	if cur.Loaded() {
		if r := e.stop(name, 0, false); r.Error != "" && cur.Running() {
			return fmt.Errorf("cannot forget %s: %s", name, r.Error)
		}
	}
	if e.enabled(name) {
		if err := e.disable(name, false); err != nil {
			return err
		}
	}
	return store.Remove(name)
}

// target is NAME, checked, or the most recently started run; with known,
// a stopped run runctl keeps counts too.
func (e *Env) target(given *string, known bool) (string, error) {
	if given != nil {
		return *given, units.ValidateName(*given)
	}
	runs, err := e.listRuns(known)
	if err != nil {
		return "", err
	}
	r, err := mostRecent(runs)
	if err != nil && known {
		r, err = mostRecentKnown(runs)
	}
	if err != nil {
		return "", &ExitError{Code: 1, Err: err}
	}
	if !e.JSON {
		fmt.Fprintf(e.Stdout, "%s is the most recently started run\n", r.Name)
	}
	return r.Name, nil
}
