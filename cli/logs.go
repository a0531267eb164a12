package cli

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// LogsCmd shows a run's output; journald keeps it, journalctl reads it.
type LogsCmd struct {
	Name   string `arg:"" optional:"" help:"Run whose output to show (default: the most recently started)." placeholder:"NAME"`
	Follow bool   `short:"f" help:"Keep printing new output until Ctrl-C."`
	Lines  int    `short:"n" help:"How many of the last lines to show." default:"50"`
}

func (c *LogsCmd) Run(e *Env) error {
	name := c.Name
	if name == "" {
		runs, err := e.listRuns(false)
		if err != nil {
			return err
		}
		r, err := mostRecent(runs)
		if err != nil {
			return &ExitError{Code: 1, Err: err}
		}
		name = r.Name
	} else if err := units.ValidateName(name); err != nil {
		return err
	}
	args := []string{"--no-pager", "--output=short-precise", "--lines=" + strconv.Itoa(c.Lines)}
	if e.Scope() == systemdctl.User {
		args = append(args, "--user-unit="+units.UnitName(name))
	} else {
		args = append(args, "--unit="+units.UnitName(name))
	}
	if c.Follow {
		args = append(args, "--follow")
	}
	if e.JSON {
		args = append(args, "--output=json")
	}
	cmd := exec.CommandContext(e.Ctx, "journalctl", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, e.Stdout, e.Stderr
	// Ctrl-C ends journalctl, whose exit then ends runctl.
	sigs, stop := interrupts()
	defer stop()
	go func() { <-sigs }()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("cannot read the journal of %s: %w", name, err)
	}
	return nil
}
