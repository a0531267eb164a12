package runs

import (
	"context"
	"fmt"
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
// its kept spec. Only who may read the spec (it holds the environment) can:
// the runctl group restarts through the operator service, as root.
func (r *Runs) Restart(ctx context.Context, name string, opt RestartOptions) (Cycle, error) {
	if err := r.supported(ctx, "restart "+name); err != nil {
		return Cycle{Name: name}, err
	}
	unlock, err := r.lock(ctx, name, false)
	if err != nil {
		return Cycle{}, err
	}
	defer unlock()
	spec, err := r.load(name)
	if err != nil {
		return Cycle{}, r.permissionHint(err)
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

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
