package cli

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// LsCmd lists runs.
type LsCmd struct {
	Quiet bool `short:"q" help:"Print only the names (for scripts and shell completion)."`
}

func (c *LsCmd) Run(e *Env) error {
	runs, err := e.listRuns(e.JSON)
	if err != nil {
		return err
	}
	if c.Quiet {
		for _, r := range runs {
			fmt.Fprintln(e.Stdout, r.Name)
		}
		return nil
	}
	if e.JSON {
		if runs == nil {
			runs = []Run{}
		}
		return e.printJSON(runs)
	}
	if len(runs) == 0 {
		fmt.Fprintf(e.Stdout, "no runs (start one with: runctl run -d -- CMD [ARG...])\n")
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPID\tUPTIME\tRESTARTS\tBOOT\tCOMMAND")
	for _, r := range runs {
		pid, up := "-", "-"
		if r.PID != 0 {
			pid = strconv.Itoa(int(r.PID))
		}
		if r.Since != nil {
			up = humanDuration(time.Duration(r.UptimeSec * float64(time.Second)))
		}
		state := r.State
		switch {
		case r.LimitHit:
			state += " (gave up restarting: " + r.LastExit + ")"
		case r.State == "failed" && r.LastExit != "":
			state += " (" + r.LastExit + ")"
		case r.SubState == "auto-restart":
			state = "restarting"
		}
		if r.Damaged != "" && r.State != "damaged" {
			state += " (spec damaged)"
		}
		if r.Damaged != "" && r.commandLine == "" {
			r.commandLine = "? (runctl status " + r.Name + " says why)"
		}
		cmd := r.commandLine
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

// humanDuration prints 4s, 3m12s, 5h02m, 2d03h.
func humanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

func truncate(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", `\n`)
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
