package cli

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// StopCmd stops runs.
type StopCmd struct {
	Name    *string       `arg:"" optional:"" help:"Run to stop (default: the most recently started)." placeholder:"NAME"`
	Force   bool          `short:"f" help:"SIGKILL every process of the run at once."`
	All     bool          `help:"Stop every running run."`
	Timeout time.Duration `help:"Wait this long after SIGTERM before SIGKILL (default: the run's --stop-timeout, 10s)." placeholder:"DUR"`
}

// stopResult is what stop prints per run, and its JSON.
type stopResult struct {
	Name      string  `json:"name"`
	Unit      string  `json:"unit"`
	WasState  string  `json:"was_state"`
	Ended     string  `json:"ended,omitempty"` // "exit status 0", "killed by SIGTERM"
	Result    string  `json:"result,omitempty"`
	Escalated bool    `json:"escalated"` // SIGKILL was needed (or --force)
	TookSec   float64 `json:"took_sec"`
	Error     string  `json:"error,omitempty"`
}

func (c *StopCmd) Run(e *Env) error {
	if c.Timeout < 0 {
		return fmt.Errorf("invalid --timeout %v: give a positive duration such as 5s", c.Timeout)
	}
	if c.All && c.Name != nil {
		return errors.New("give a NAME or --all, not both")
	}
	var names []string
	switch {
	case c.Name != nil:
		if err := units.ValidateName(*c.Name); err != nil {
			return err
		}
		names = []string{*c.Name}
	default:
		runs, err := e.listRuns(false)
		if err != nil {
			return err
		}
		if c.All {
			for _, r := range runs {
				if r.running() || r.State == "failed" {
					names = append(names, r.Name)
				}
			}
			if len(names) == 0 {
				return &ExitError{Code: 1, Err: errNothingRunning}
			}
		} else {
			r, err := mostRecent(runs)
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			names = []string{r.Name}
			if !e.JSON {
				fmt.Fprintf(e.Stdout, "stopping %s, the most recently started run\n", r.Name)
			}
		}
	}
	results := make([]stopResult, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			unlock, err := e.lockRun(name, false)
			if err != nil {
				results[i] = stopResult{Name: name, Unit: units.UnitName(name), Error: err.Error()}
				return
			}
			defer unlock()
			results[i] = e.stop(name, c.Timeout, c.Force)
		})
	}
	wg.Wait()
	failed := false
	for _, r := range results {
		failed = failed || r.Error != ""
	}
	if e.JSON {
		var err error
		if c.All {
			err = e.printJSON(results)
		} else {
			err = e.printJSON(results[0])
		}
		if err == nil && failed {
			err = &ExitError{Code: 1}
		}
		return err
	}
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(e.Stderr, "runctl: %s\n", r.Error)
			continue
		}
		fmt.Fprintf(e.Stdout, "%s\n", r.describe())
	}
	if failed {
		return &ExitError{Code: 1}
	}
	return nil
}

func (r stopResult) describe() string {
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

// stop stops one run; timeout 0 leaves the escalation to the unit's own
// TimeoutStopSec, the run's --stop-timeout (no spec to read). The caller
// holds the run's lock.
func (e *Env) stop(name string, timeout time.Duration, force bool) stopResult {
	unit := units.UnitName(name)
	res := stopResult{Name: name, Unit: unit}
	m, err := e.Manager()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	out, err := m.Stop(e.Ctx, unit, systemdctl.StopOptions{Timeout: timeout, Force: force})
	res.WasState, res.Ended, res.Result = out.Before.ActiveState, out.After.Ended(), out.After.Result
	res.Escalated, res.TookSec = out.Escalated, out.Took.Seconds()
	switch {
	case errors.Is(err, systemdctl.ErrNotLoaded) || err == nil && out.Before.ActiveState == "inactive":
		res.Error = fmt.Sprintf("%s is not running", name)
	case errors.Is(err, systemdctl.ErrPermission):
		res.Error = permissionHint(fmt.Errorf("cannot stop %s: %w", name, err), e.Scope()).Error()
	case err != nil:
		res.Error = fmt.Sprintf("cannot stop %s: %v", name, err)
	}
	return res
}
