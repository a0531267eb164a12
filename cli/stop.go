package cli

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/runctl/runctl/runs"
)

// StopCmd stops runs.
type StopCmd struct {
	Names   []string      `arg:"" optional:"" help:"Runs to stop (default: the only running run; several: exit 2, listing them)." placeholder:"NAME"`
	Force   bool          `short:"f" help:"SIGKILL every process of the run at once."`
	All     bool          `help:"Stop every running run."`
	Timeout time.Duration `help:"Wait this long after SIGTERM before SIGKILL (default: the run's --stop-timeout)." placeholder:"DUR"`
	Stack   string        `help:"${stack_help}" placeholder:"STACK"`
}

func (c *StopCmd) Run(ctx context.Context, out *Output, provide Lifecycle) error {
	if c.Timeout < 0 {
		return usage("invalid --timeout %v: give a positive duration such as 5s", c.Timeout)
	}
	if c.All && len(c.Names) > 0 {
		return usage("give NAMEs or --all, not both")
	}
	if c.Stack != "" && (c.All || len(c.Names) > 0) {
		return usage("give NAMEs, --all or --stack, one of them")
	}
	if err := validNames(c.Names...); err != nil {
		return err
	}
	rs, err := provide()
	if err != nil {
		return err
	}
	names := c.Names
	switch {
	case c.Stack != "":
		if names, err = stackRuns(rs, c.Stack); err != nil {
			return err
		}
	case c.All:
		list, err := rs.List(ctx, runs.ListOptions{})
		if err != nil {
			return err
		}
		for _, r := range list {
			if r.Running() || r.State == "failed" {
				names = append(names, r.Name)
			}
		}
		if len(names) == 0 {
			return runs.ErrNothingRunning
		}
	case len(names) == 0:
		name, err := onlyRun(ctx, rs, out, false)
		if err != nil {
			return err
		}
		names = []string{name}
	}
	results := make([]runs.Stopped, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			res, err := rs.Stop(ctx, name, c.Timeout, c.Force)
			// A run that is not running is stopped: exit 0, as systemctl
			// stop of an inactive unit.
			if err != nil && !errors.Is(err, runs.ErrNotRunning) {
				res.Error, errs[i] = err.Error(), err
			}
			results[i] = res
		})
	}
	wg.Wait()
	failed := errors.Join(errs...)
	if out.JSON {
		var err error
		if len(c.Names) == 1 && !c.All || len(names) == 1 && len(c.Names) == 0 && !c.All && c.Stack == "" {
			err = out.PrintJSON(results[0])
		} else {
			err = out.PrintJSON(results)
		}
		if err != nil {
			return err
		}
		if failed != nil {
			return &ExitError{Code: failureCode(failed), Err: failed, Reported: true}
		}
		return nil
	}
	for _, r := range results {
		if r.Error == "" {
			fmt.Fprintln(out.Stdout, describeStop(r))
		}
	}
	return failed
}

func describeStop(r runs.Stopped) string {
	if r.NotRunning {
		return r.Name + " is not running"
	}
	if r.WasState == "failed" {
		return fmt.Sprintf("%s had already ended (%s); cleared its failed state", r.Name, r.Ended)
	}
	s := "stopped " + r.Name
	if r.Ended != "" {
		s += ": " + r.Ended
	}
	s += " after " + ms(r.TookSec)
	if r.Escalated {
		s += " (escalated to SIGKILL)"
	}
	return s
}
