package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/runctl/runctl/runs"
	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/stack"
)

// ExportCmd writes runs as a stack file.
type ExportCmd struct {
	Names []string `arg:"" optional:"" help:"Runs to write (default: every run runctl keeps, or with --stack the stack's)." placeholder:"NAME"`
	Stack string   `help:"The stack's name in the file; without NAMEs, only its runs are written (default: the stack the runs belong to)." placeholder:"STACK"`
}

func (c *ExportCmd) Run(ctx context.Context, out *Output, provide Lifecycle) error {
	if err := validNames(c.Names...); err != nil {
		return err
	}
	if c.Stack != "" {
		if err := validNames(c.Stack); err != nil {
			return err
		}
	}
	rs, err := provide()
	if err != nil {
		return err
	}
	names := c.Names
	if len(names) == 0 {
		if names, err = rs.Store.Names(); err != nil {
			return err
		}
	}
	list, err := rs.List(ctx, runs.ListOptions{})
	if err != nil {
		return err
	}
	enabled := map[string]bool{}
	for _, r := range list {
		enabled[r.Name] = r.Autostart
	}
	file := &stack.File{Name: c.Stack}
	stacks := map[string]bool{}
	for _, name := range names {
		spec, err := rs.Store.Load(name)
		var damaged *specstore.DamagedError
		switch {
		case errors.Is(err, specstore.ErrNotFound) || errors.As(err, &damaged):
			return fmt.Errorf("cannot export %s: %w", name, err)
		case err != nil:
			return err // it says what it could not read
		}
		if len(c.Names) == 0 && c.Stack != "" && spec.Stack != c.Stack {
			continue
		}
		r, lossy := stack.FromSpec(spec, enabled[name])
		if lossy != "" {
			fmt.Fprintf(out.Stderr, "runctl: %s: %s\n", name, lossy)
		}
		file.Runs = append(file.Runs, r)
		stacks[spec.Stack] = true
	}
	if len(file.Runs) == 0 {
		if c.Stack != "" {
			return fmt.Errorf("cannot export stack %s: no run belongs to it (runctl ls lists the runs)", c.Stack)
		}
		return fmt.Errorf("cannot export: runctl keeps no run (runctl ls lists the runs)")
	}
	if file.Name == "" {
		if len(stacks) != 1 || stacks[""] {
			return usage("cannot export: the runs belong to no one stack; give the stack's name with --stack NAME")
		}
		for s := range stacks {
			file.Name = s
		}
	}
	// The file's order is one that apply keeps: each run after the runs
	// of the file it starts after.
	file.Runs = afterFirst(file.Runs)
	if out.JSON {
		return out.PrintJSON(file)
	}
	data, err := stack.Marshal(file)
	if err != nil {
		return fmt.Errorf("cannot export: %w", err)
	}
	_, err = out.Stdout.Write(data)
	return err
}

// afterFirst orders runs so that each follows those it starts after.
func afterFirst(rs []stack.Run) []stack.Run {
	var out []stack.Run
	placed := map[string]bool{}
	var place func(r stack.Run)
	place = func(r stack.Run) {
		if placed[r.Name] {
			return
		}
		placed[r.Name] = true
		for _, a := range r.After {
			if i := slices.IndexFunc(rs, func(x stack.Run) bool { return x.Name == a }); i >= 0 {
				place(rs[i])
			}
		}
		out = append(out, r)
	}
	for _, r := range rs {
		place(r)
	}
	return out
}
