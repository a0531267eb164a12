package cli

import (
	"context"
	"fmt"
	"slices"
)

// RmCmd forgets stopped runs.
type RmCmd struct {
	Names []string `arg:"" help:"Runs to forget." placeholder:"NAME"`
	Force bool     `short:"f" help:"Stop a running run first."`
}

func (c *RmCmd) Run(ctx context.Context, out *Output, provide Lifecycle) error {
	if err := validNames(c.Names...); err != nil {
		return err
	}
	rs, err := provide()
	if err != nil {
		return err
	}
	// Each is forgotten and reported in turn, past a failure; the exit code
	// is the first failure's.
	// The stacks of the runs, read before their specs go: their targets
	// follow.
	var stacks []string
	for _, name := range c.Names {
		if s := rs.StackOf(name); s != "" && !slices.Contains(stacks, s) {
			stacks = append(stacks, s)
		}
	}
	forgot := []string{}
	failed := map[string]string{}
	var first error
	for _, name := range c.Names {
		if err := rs.Remove(ctx, name, c.Force); err != nil {
			if first == nil {
				first = err
			}
			failed[name] = err.Error()
			if len(c.Names) > 1 && !out.JSON {
				fmt.Fprintf(out.Stderr, "runctl: %v\n", err)
			}
			continue
		}
		forgot = append(forgot, name)
		if !out.JSON {
			fmt.Fprintf(out.Stdout, "forgot %s\n", name)
		}
	}
	if _, err := syncStackList(ctx, out, rs, stacks); err != nil && first == nil {
		first = err
	}
	if out.JSON && (first == nil || len(c.Names) > 1) {
		rec := map[string]any{"forgot": forgot}
		if len(failed) > 0 {
			rec["failed"] = failed
		}
		if err := out.PrintJSON(rec); err != nil {
			return err
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
