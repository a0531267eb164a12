package cli

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runctl/runctl/runs"
)

// LsCmd lists runs.
type LsCmd struct {
	Quiet bool   `short:"q" help:"Print only the names (for scripts and shell completion)."`
	Stack string `help:"${stack_help}" placeholder:"STACK"`
}

func (c *LsCmd) Run(ctx context.Context, out *Output, rs *runs.Runs) error {
	list, err := rs.List(ctx, runs.ListOptions{Full: out.JSON})
	if err != nil {
		return err
	}
	if c.Stack != "" {
		members, err := stackRuns(rs, c.Stack)
		if err != nil {
			return err
		}
		list = slices.DeleteFunc(list, func(r runs.Run) bool { return !slices.Contains(members, r.Name) })
	}
	if c.Quiet {
		w := bufio.NewWriter(out.Stdout)
		for _, r := range list {
			fmt.Fprintln(w, r.Name)
		}
		return w.Flush()
	}
	if out.JSON {
		if list == nil {
			list = []runs.Run{}
		}
		return out.PrintJSON(list)
	}
	if len(list) == 0 {
		fmt.Fprintf(out.Stdout, "no runs (start one with: runctl run -d -- CMD [ARG...])\n")
		return nil
	}
	tw := newTable(out.Stdout)
	fmt.Fprintln(tw, "NAME\tSTATE\tPID\tUPTIME\tRESTARTS\tBOOT\tCOMMAND")
	for _, r := range list {
		pid, up := pidUptime(r)
		state := r.State
		switch {
		case r.LimitHit:
			state += " (gave up restarting: " + r.LastExit + ")"
		case r.State == "stopped" && strings.HasPrefix(r.LastExit, "stopped"):
			state = r.LastExit // stopped by runctl
		case (r.State == "failed" || r.State == "stopped") && r.LastExit != "":
			state += " (" + r.LastExit + ")"
		case r.SubState == "auto-restart":
			state = restartState(r, time.Now())
		}
		if r.Damaged != "" && r.State != "damaged" {
			state += " (spec damaged)"
		}
		if r.Damaged != "" && r.CommandLine == "" {
			r.CommandLine = "? (runctl status " + r.Name + " says why)"
		}
		cmd := r.CommandLine
		if cmd == "" {
			cmd = "?"
		}
		boot := "-"
		if r.Autostart {
			boot = "on"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.Name, state, pid, up, r.Restarts, boot, truncate(cmd, 80))
	}
	return tw.Flush()
}

// pidUptime are a run's PID and UPTIME cells, "-" where it has none.
func pidUptime(r runs.Run) (pid, up string) {
	pid, up = "-", "-"
	if r.PID != 0 {
		pid = strconv.Itoa(int(r.PID))
	}
	if r.Since != nil {
		up = humanDuration(time.Duration(r.UptimeSec * float64(time.Second)))
	}
	return pid, up
}

// restartState is the STATE of a run waiting to restart: when, and how its
// program last ended.
func restartState(r runs.Run, now time.Time) string {
	state := "restarting"
	if r.RestartAt != nil {
		state += untilText(r.RestartAt.Sub(now))
	}
	if r.LastExit != "" {
		state += " (" + r.LastExit + ")"
	}
	return state
}

// untilText says how soon something due in d happens: " in 1.2s", " in
// 5m00s", or " now" once due.
func untilText(d time.Duration) string {
	switch {
	case d <= 0:
		return " now"
	case d < time.Minute:
		return " in " + d.Round(100*time.Millisecond).String()
	}
	return " in " + humanDuration(d)
}
