package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/runctl/runctl/runs"
	"github.com/runctl/runctl/units"
)

// RestartCmd stops a run, waits until it is gone, and starts it again from
// its kept spec.
type RestartCmd struct {
	Names     []string      `arg:"" optional:"" help:"Runs to restart, one after the other (default: the only running run, else the only run runctl keeps; several: exit 2, listing them)." placeholder:"NAME"`
	Force     bool          `short:"f" help:"SIGKILL the old instance at once instead of SIGTERM."`
	Timeout   time.Duration `help:"Wait this long after SIGTERM before SIGKILL (default: the run's --stop-timeout)." placeholder:"DUR"`
	UpdateEnv bool          `help:"Replace the replayed environment with your current one."`
	Rollback  bool          `help:"With --update-env: ${rollback_help}"`
	Settle    time.Duration `help:"${settle_help}" default:"${settle}" placeholder:"DUR"`
	Stack     string        `help:"${stack_help} One at a time: each once the one before it settled." placeholder:"STACK"`
}

func (c *RestartCmd) Run(ctx context.Context, out *Output, provide Lifecycle) error {
	if c.Timeout < 0 {
		return usage("invalid --timeout %v: give a positive duration such as 5s", c.Timeout)
	}
	if err := checkSettle(c.Settle); err != nil {
		return err
	}
	if err := validNames(c.Names...); err != nil {
		return err
	}
	if c.Rollback && !c.UpdateEnv {
		return usage("--rollback needs --update-env: a plain restart starts the same spec again, so there is nothing to roll back to")
	}
	if c.Stack != "" {
		if len(c.Names) > 0 {
			return usage("give NAME or --stack, not both")
		}
		opt := runs.RestartOptions{Timeout: c.Timeout, Force: c.Force, Settle: c.Settle}
		if c.UpdateEnv {
			opt.Environ = os.Environ()
		}
		return c.restartStack(ctx, out, provide, opt)
	}
	rs, err := provide()
	if err != nil {
		return err
	}
	names := c.Names
	if len(names) == 0 {
		name, err := onlyRun(ctx, rs, out, true)
		if err != nil {
			return err
		}
		names = []string{name}
	}
	// Each is restarted and reported in turn; the exit code is the first
	// failure's.
	var first error
	for _, name := range names {
		if err := c.restart(ctx, out, rs, name, len(names) > 1); err != nil {
			if first == nil {
				first = err
			}
			if len(names) > 1 && !out.JSON {
				fmt.Fprintf(out.Stderr, "runctl: %v\n", err)
			}
		}
	}
	if first != nil && len(names) > 1 {
		// Each failure was reported already, on stderr or in its JSON.
		if out.JSON {
			return &ExitError{Code: failureCode(first), Err: first, Reported: true}
		}
		return &ExitError{Code: failureCode(first)}
	}
	return first
}

// restart restarts one run and reports it. With several, each has its own
// report (in --json one object after another), failed ones included.
func (c *RestartCmd) restart(ctx context.Context, out *Output, rs *runs.Runs, name string, several bool) error {
	opt := runs.RestartOptions{Timeout: c.Timeout, Force: c.Force, Settle: c.Settle}
	if c.UpdateEnv {
		opt.Environ = os.Environ()
	}
	res, rb, err := c.restartOne(ctx, rs, name, opt)
	if out.JSON {
		if res.Name == "" && !several {
			return err // nothing was done: the error's own JSON says it
		}
		if res.Name == "" {
			res.Name = name
		}
		rec := struct {
			runs.Cycle
			Error string `json:"error,omitempty"`
			*rollback
		}{Cycle: res}
		if c.Rollback {
			rec.rollback = &rb
		}
		if err != nil {
			rec.Error = err.Error()
		}
		if perr := out.PrintJSON(rec); perr != nil {
			return perr
		}
		if err != nil {
			return &ExitError{Code: failureCode(err), Err: err, Reported: true}
		}
		return nil
	}
	if len(res.Steps) > 0 {
		printCycle(out, res, "restarting")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out.Stdout, "restarted %s in %s (pid %d)\n", name, ms(res.TookSec), res.PID)
	return nil
}

// restartStack restarts the runs of the stack one by one, each after the
// runs it starts after; a failure is reported and the others restarted.
func (c *RestartCmd) restartStack(ctx context.Context, out *Output, provide Lifecycle, opt runs.RestartOptions) error {
	rs, err := provide()
	if err != nil {
		return err
	}
	names, err := stackRuns(rs, c.Stack)
	if err != nil {
		return err
	}
	type record struct {
		runs.Cycle
		Error string `json:"error,omitempty"`
		*rollback
	}
	var recs []record
	var errs []error
	for _, name := range names {
		res, rb, err := c.restartOne(ctx, rs, name, opt)
		rec := record{Cycle: res}
		if c.Rollback {
			rec.rollback = &rb
		}
		rec.Name = name
		if err != nil {
			rec.Error = err.Error()
			errs = append(errs, err)
		}
		recs = append(recs, rec)
		if out.JSON {
			continue
		}
		if err != nil {
			fmt.Fprintf(out.Stderr, "runctl: %v\n", err)
			continue
		}
		fmt.Fprintf(out.Stdout, "restarted %s in %s (pid %d)\n", name, ms(res.TookSec), res.PID)
	}
	if out.JSON {
		if err := out.PrintJSON(recs); err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return &ExitError{Code: 1, Reported: true, Err: fmt.Errorf("cannot restart %d of the runs of stack %s; the others were restarted", len(errs), c.Stack)}
	}
	return nil
}

// restartOne restarts one run and, with --rollback, starts its previous
// spec again if the new environment kept it from coming up.
func (c *RestartCmd) restartOne(ctx context.Context, rs *runs.Runs, name string, opt runs.RestartOptions) (runs.Cycle, rollback, error) {
	var prev *units.Spec
	if c.Rollback {
		var err error
		if prev, err = rs.Previous(ctx, name); err != nil {
			return runs.Cycle{}, rollback{}, err
		}
	}
	res, err := rs.Restart(ctx, name, opt)
	rb, err := rollBack(ctx, rs, prev, res, err, opt.Settle)
	return res, rb, err
}
