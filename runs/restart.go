package runs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/runctl/runctl/units"
)

// RestartOptions tune Restart.
type RestartOptions struct {
	// Timeout after SIGTERM before SIGKILL; 0: the run's stop timeout.
	Timeout time.Duration
	// Force SIGKILLs the old instance at once.
	Force bool
	// Environ, if set, is the caller's environment (os.Environ), which
	// replaces the replayed one (restart --update-env).
	Environ []string
	// Settle is how long the new instance is watched before success.
	Settle time.Duration
}

// Restart stops the run, waits until it is gone and starts it again from
// its kept spec. A user who may not read the spec (it is root's: it holds
// the environment) restarts an enabled run by its unit file instead.
func (r *Runs) Restart(ctx context.Context, name string, opt RestartOptions) (Cycle, error) {
	if err := r.supported(ctx, "restart "+name); err != nil {
		return Cycle{Name: name}, err
	}
	unlock, err := r.lock(ctx, name, false)
	if errors.Is(err, os.ErrPermission) {
		return r.restartByName(ctx, name, opt)
	}
	if err != nil {
		return Cycle{}, err
	}
	defer unlock()
	spec, err := r.load(name)
	if errors.Is(err, os.ErrPermission) {
		return r.restartByName(ctx, name, opt)
	}
	if err != nil {
		return Cycle{}, err
	}
	crashpoint("after-spec")
	env := "replayed"
	old := *spec
	if opt.Environ != nil {
		fresh, _, err := units.CaptureEnv(opt.Environ, nil, spec.Dir)
		if err != nil {
			return Cycle{Name: name}, fmt.Errorf("cannot restart %s: %w", name, err)
		}
		spec.Env, env = fresh, "updated"
	}
	if err := preflight(spec); err != nil {
		return Cycle{Name: name, Environment: env}, fmt.Errorf("cannot restart %s: %w; the running instance was left alone", name, err)
	}
	if opt.Environ != nil {
		if err := r.Store.Save(spec); err != nil {
			return Cycle{Name: name, Environment: env}, r.permissionHint(fmt.Errorf("cannot keep the run's new environment: %w; the running instance was left alone", err))
		}
	}
	res, _, err := r.cycle(ctx, spec, cycleOptions{Timeout: opt.Timeout, Force: opt.Force, Settle: opt.Settle, Collect: opt.Environ != nil})
	if err != nil && opt.Environ != nil {
		// The new environment is kept only by a restart that used it.
		if rerr := r.Store.Save(&old); rerr != nil {
			err = fmt.Errorf("%w; the new environment stays kept (%v)", err, rerr)
		}
	}
	res.Environment = env
	return res, err
}

// restartByName restarts an enabled run without its spec: one restart job
// of the unit, by name. That is what the polkit rule lets the runctl group
// do; creating a transient unit instead would be root-equivalent, so it is
// not offered.
func (r *Runs) restartByName(ctx context.Context, name string, opt RestartOptions) (Cycle, error) {
	res := Cycle{Name: name, Unit: units.UnitName(name), Manager: r.Scope().String(), WasState: "stopped"}
	if !r.slots().Enabled(name) {
		return res, fmt.Errorf("cannot restart %s: its spec is readable by root only, and starting it as a transient unit needs root (that would allow any command as root); use sudo, or have root run `runctl enable %s`: the runctl group may restart enabled runs", name, name)
	}
	if opt.Force || opt.Timeout != 0 {
		// Both mean a SIGKILL, and the polkit rule lets the group send no
		// signal: the unit's own stop timeout escalates.
		return res, fmt.Errorf("cannot restart %s with --force or --timeout: they send SIGKILL, which needs root; without them the run's own stop timeout applies", name)
	}
	begin := time.Now()
	if cur, err := r.Manager.Brief(ctx, res.Unit); err == nil && cur.Loaded() {
		res.WasState = cur.ActiveState
	}
	// Manual starts count against StartLimitBurst, which is meant for
	// automatic restarts: clearing it first means a restart is never
	// refused for it (the polkit rule allows reset-failed).
	_ = r.Manager.ResetFailed(ctx, res.Unit)
	// One job, stop then start: a transient instance (enabled while it
	// ran) that stopped would unload, and only a reload, which members
	// may not do, would find the unit file again.
	st, w, err := r.Manager.RestartWatch(ctx, res.Unit)
	defer w.Close()
	res.PID, res.InvocationID = st.MainPID, st.InvocationID
	if err != nil {
		return res, r.permissionHint(fmt.Errorf("cannot restart %s: %w", name, err))
	}
	res.Steps = append(res.Steps, Step{"restart", time.Since(begin).Seconds(), fmt.Sprintf("pid %d, invocation %s", st.MainPID, st.InvocationID)})
	err = r.settle(ctx, w, name, st, begin, opt.Settle)
	res.TookSec = time.Since(begin).Seconds()
	return res, err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
