package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/runctl/runctl/runs"
)

// EnableCmd makes runs start at boot.
type EnableCmd struct {
	Names []string `arg:"" optional:"" help:"Runs to start at boot." placeholder:"NAME"`
	Stack string   `help:"Enable every run of this stack (runctl apply), and the stack's target, runctl-STACK.target, which starts them at boot and whose restart restarts them." placeholder:"STACK"`
}

func (c *EnableCmd) Run(ctx context.Context, out *Output, provide Lifecycle) error {
	switch {
	case c.Stack != "" && len(c.Names) > 0:
		return usage("give NAMEs or --stack, not both")
	case c.Stack == "" && len(c.Names) == 0:
		return usage("give the NAMEs of runs to enable, or --stack")
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
		if names, err = stackRuns(rs, c.Stack); err != nil {
			return err
		}
	}
	var done []runs.Enabled
	for _, name := range names {
		res, err := rs.Enable(ctx, name)
		if err != nil {
			return err
		}
		done = append(done, res)
		if res.Linger != "" {
			fmt.Fprintf(out.Stderr, "runctl: %s\n", res.Linger)
		}
		if !out.JSON {
			fmt.Fprintf(out.Stdout, "enabled %s: it starts at boot (%s)\n", name, res.UnitFile)
			if res.Transient {
				fmt.Fprintf(out.Stdout, "%s keeps running as a transient unit until its next restart; from then on, and at boot, it runs from the unit file\n", name)
			}
		}
		if res.Interrupted {
			return &ExitError{Code: 130, Err: fmt.Errorf("interrupted after enabling %s", name)}
		}
	}
	targets, err := syncStacks(ctx, out, rs, c.Stack, names)
	switch {
	case err != nil || !out.JSON:
		return err
	case c.Stack != "":
		return out.PrintJSON(map[string]any{"runs": done, "stack": targets[0]})
	}
	return out.PrintJSON(done)
}

// syncStacks brings the targets of the stacks of names (and stack, if
// set) in step with their runs after an enable, disable or rm, and says
// what changed.
func syncStacks(ctx context.Context, out *Output, rs *runs.Runs, stack string, names []string) ([]runs.Stacked, error) {
	stacks := []string{}
	if stack != "" {
		stacks = append(stacks, stack)
	}
	for _, name := range names {
		if s := rs.StackOf(name); s != "" && !slices.Contains(stacks, s) {
			stacks = append(stacks, s)
		}
	}
	return syncStackList(ctx, out, rs, stacks)
}

func syncStackList(ctx context.Context, out *Output, rs *runs.Runs, stacks []string) ([]runs.Stacked, error) {
	var done []runs.Stacked
	for _, s := range stacks {
		st, err := rs.SyncStack(ctx, s)
		if err != nil {
			return done, err
		}
		done = append(done, st)
		if out.JSON || !st.Changed {
			continue
		}
		if st.File != "" {
			fmt.Fprintf(out.Stdout, "stack %s: %s starts %s at boot (%s); systemctl restart %s restarts its %s\n", s, st.Target, countRuns(len(st.Wants)), st.File, st.Target, countRuns(len(st.Members)))
		} else {
			fmt.Fprintf(out.Stdout, "stack %s: no run of it is enabled, %s removed\n", s, st.Target)
		}
	}
	return done, nil
}

// countRuns is "1 run" or "N runs".
func countRuns(n int) string {
	if n == 1 {
		return "1 run"
	}
	return fmt.Sprintf("%d runs", n)
}
