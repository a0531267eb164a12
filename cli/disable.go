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
	Stack string   `help:"Disable every enabled run of this stack, and remove the stack's target, runctl-STACK.target." placeholder:"STACK"`
}

func (c *DisableCmd) Run(ctx context.Context, out *Output, provide Lifecycle) error {
	given := 0
	for _, set := range []bool{c.All, len(c.Names) > 0, c.Stack != ""} {
		if set {
			given++
		}
	}
	switch {
	case given > 1:
		return usage("give NAMEs, --stack or --all, one of them")
	case given == 0:
		return usage("give the NAMEs of runs to disable, --stack or --all")
	}
	if err := validNames(c.Names...); err != nil {
		return err
	}
	rs, err := provide()
	if err != nil {
		return err
	}
	names := c.Names
	if c.Stack != "" {
		members, err := stackRuns(rs, c.Stack)
		if err != nil {
			return err
		}
		names = nil
		for _, m := range members {
			if rs.IsEnabled(m) {
				names = append(names, m)
			}
		}
	}
	var done []runs.Disabled
	var stacks []string
	if c.All {
		stacks = rs.Stacks()
		done, err = rs.DisableAll(ctx)
		if err == nil && len(done) == 0 && !out.JSON {
			fmt.Fprintln(out.Stdout, "no run is enabled")
		}
	}
	for _, name := range names {
		var d runs.Disabled
		if d, err = rs.Disable(ctx, name); err != nil {
			break
		}
		done = append(done, d)
	}
	if !out.JSON {
		for _, d := range done {
			if d.Running {
				fmt.Fprintf(out.Stdout, "disabled %s: it keeps running until stopped, and will not start at boot\n", d.Name)
			} else {
				fmt.Fprintf(out.Stdout, "disabled %s: it will not start at boot\n", d.Name)
			}
		}
	}
	if err != nil {
		return err
	}
	var targets []runs.Stacked
	if c.All {
		targets, err = syncStackList(ctx, out, rs, stacks)
	} else {
		targets, err = syncStacks(ctx, out, rs, c.Stack, names)
	}
	if err != nil {
		return err
	}
	if !out.JSON {
		if c.Stack != "" && len(names) == 0 && !targets[0].Changed {
			fmt.Fprintf(out.Stdout, "stack %s: no run of it is enabled\n", c.Stack)
		}
		return nil
	}
	if done == nil {
		done = []runs.Disabled{}
	}
	if c.Stack != "" {
		return out.PrintJSON(map[string]any{"runs": done, "stack": targets[0]})
	}
	return out.PrintJSON(done)
}
