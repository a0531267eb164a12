package cli

import (
	"context"
	"fmt"

	"github.com/runctl/runctl/runs"
)

// DisableCmd undoes enable.
type DisableCmd struct {
	Names []string `arg:"" optional:"" help:"Runs to no longer start at boot." placeholder:"NAME"`
	All   bool     `help:"Disable every run runctl enabled."`
}

func (c *DisableCmd) Run(ctx context.Context, out *Output, provide Lifecycle) error {
	switch {
	case c.All && len(c.Names) > 0:
		return usage("give NAMEs or --all, not both")
	case !c.All && len(c.Names) == 0:
		return usage("give the NAMEs of runs to disable, or --all")
	}
	if err := validNames(c.Names...); err != nil {
		return err
	}
	rs, err := provide()
	if err != nil {
		return err
	}
	var done []runs.Disabled
	if c.All {
		done, err = rs.DisableAll(ctx)
		if err == nil && len(done) == 0 && !out.JSON {
			fmt.Fprintln(out.Stdout, "no run is enabled")
		}
	}
	for _, name := range c.Names {
		var d runs.Disabled
		if d, err = rs.Disable(ctx, name); err != nil {
			break
		}
		done = append(done, d)
	}
	if out.JSON {
		if err != nil {
			return err
		}
		if done == nil {
			done = []runs.Disabled{}
		}
		return out.PrintJSON(done)
	}
	for _, d := range done {
		if d.Running {
			fmt.Fprintf(out.Stdout, "disabled %s: it keeps running until stopped, and will not start at boot\n", d.Name)
		} else {
			fmt.Fprintf(out.Stdout, "disabled %s: it will not start at boot\n", d.Name)
		}
	}
	return err
}
