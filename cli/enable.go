package cli

import (
	"context"
	"fmt"

	"github.com/runctl/runctl/runs"
)

// EnableCmd makes runs start at boot.
type EnableCmd struct {
	Names []string `arg:"" help:"Runs to start at boot." placeholder:"NAME"`
}

func (c *EnableCmd) Run(ctx context.Context, out *Output, provide Lifecycle) error {
	if err := validNames(c.Names...); err != nil {
		return err
	}
	rs, err := provide()
	if err != nil {
		return err
	}
	var done []runs.Enabled
	for _, name := range c.Names {
		res, err := rs.Enable(ctx, name)
		if err != nil {
			return err
		}
		done = append(done, res)
		if res.Linger != "" {
			fmt.Fprintf(out.Stderr, "runctl: %s\n", res.Linger)
		}
		if out.JSON {
			continue
		}
		fmt.Fprintf(out.Stdout, "enabled %s: it starts at boot (%s)\n", name, res.UnitFile)
		if res.Transient {
			fmt.Fprintf(out.Stdout, "%s keeps running as a transient unit until its next restart; from then on, and at boot, it runs from the unit file\n", name)
		}
		if res.Interrupted {
			return &ExitError{Code: 130, Err: fmt.Errorf("interrupted after enabling %s", name)}
		}
	}
	if out.JSON {
		return out.PrintJSON(done)
	}
	return nil
}
