package cli

import (
	"context"
	"fmt"
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
	var forgot []string
	for _, name := range c.Names {
		if err := rs.Remove(ctx, name, c.Force); err != nil {
			return err
		}
		forgot = append(forgot, name)
		if !out.JSON {
			fmt.Fprintf(out.Stdout, "forgot %s\n", name)
		}
	}
	if out.JSON {
		return out.PrintJSON(map[string]any{"forgot": forgot})
	}
	return nil
}
