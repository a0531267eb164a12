package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/runctl/runctl/runs"
)

// StartCmd starts known, stopped runs from their kept specs.
type StartCmd struct {
	Names  []string      `arg:"" help:"Runs to start, one after the other." placeholder:"NAME"`
	Settle time.Duration `help:"${settle_help}" default:"${settle}" placeholder:"DUR"`
}

func (c *StartCmd) Run(ctx context.Context, out *Output, provide Lifecycle) error {
	if err := validNames(c.Names...); err != nil {
		return err
	}
	if err := checkSettle(c.Settle); err != nil {
		return err
	}
	rs, err := provide()
	if err != nil {
		return err
	}
	// Each is started and reported in turn; the exit code is the first
	// failure's.
	var first error
	for _, name := range c.Names {
		if err := c.start(ctx, out, rs, name); err != nil {
			if first == nil {
				first = err
			}
			if len(c.Names) > 1 {
				if out.JSON {
					out.PrintJSON(map[string]any{"name": name, "error": err.Error()})
				} else {
					fmt.Fprintf(out.Stderr, "runctl: %v\n", err)
				}
			}
		}
	}
	if first != nil && len(c.Names) > 1 {
		// Each failure was reported already, on stderr or in its JSON.
		if out.JSON {
			return &ExitError{Code: failureCode(first), Err: first, Reported: true}
		}
		return &ExitError{Code: failureCode(first)}
	}
	return first
}

func (c *StartCmd) start(ctx context.Context, out *Output, rs *runs.Runs, name string) error {
	res, err := rs.StartKept(ctx, name, c.Settle)
	if errors.Is(err, runs.ErrAlreadyRunning) {
		// Started already: exit 0, as systemctl start of an active unit.
		if out.JSON {
			return out.PrintJSON(map[string]any{"name": res.Name, "unit": res.Unit, "already_running": true})
		}
		fmt.Fprintf(out.Stdout, "%s is already running\n", name)
		return nil
	}
	if err != nil {
		return err
	}
	if out.JSON {
		return out.PrintJSON(res)
	}
	fmt.Fprintf(out.Stdout, "started %s (unit %s, pid %d)\n", name, res.Unit, res.PID)
	return nil
}
