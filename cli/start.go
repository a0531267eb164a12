package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/runctl/runctl/runs"
)

// StartCmd starts a known, stopped run from its kept spec.
type StartCmd struct {
	Name   string        `arg:"" help:"Run to start." placeholder:"NAME"`
	Settle time.Duration `help:"${settle_help}" default:"${settle}" placeholder:"DUR"`
}

func (c *StartCmd) Run(ctx context.Context, out *Output, provide Lifecycle) error {
	if err := validNames(c.Name); err != nil {
		return err
	}
	if err := checkSettle(c.Settle); err != nil {
		return err
	}
	rs, err := provide()
	if err != nil {
		return err
	}
	res, err := rs.StartKept(ctx, c.Name, c.Settle)
	if errors.Is(err, runs.ErrAlreadyRunning) {
		// Started already: exit 0, as systemctl start of an active unit.
		if out.JSON {
			return out.PrintJSON(map[string]any{"name": res.Name, "unit": res.Unit, "already_running": true})
		}
		fmt.Fprintf(out.Stdout, "%s is already running\n", c.Name)
		return nil
	}
	if err != nil {
		return err
	}
	if out.JSON {
		return out.PrintJSON(res)
	}
	fmt.Fprintf(out.Stdout, "started %s (unit %s, pid %d)\n", c.Name, res.Unit, res.PID)
	return nil
}
