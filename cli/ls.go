package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/runs"
)

// LsCmd lists runs.
type LsCmd struct {
	Quiet bool   `short:"q" help:"Print only the names (for scripts and shell completion)."`
	Usage bool   `short:"u" hidden:"" help:"CPU and MEM are always shown now; kept for scripts that pass it."`
	Stack string `help:"${stack_help}" placeholder:"STACK"`
}

func (c *LsCmd) Run(ctx context.Context, out *Output, rs *runs.Runs) error {
	list, err := rs.List(ctx, runs.ListOptions{Full: out.JSON, Usage: !c.Quiet})
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
	rows := make([][]string, 0, len(list)+1)
	rows = append(rows, []string{"NAME", "STATE", "PID", "UPTIME", "CPU", "MEM", "RESTARTS", "BOOT", "COMMAND"})
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
		cpu, mem := usageCells(r)
		rows = append(rows, []string{r.Name, state, pid, up, cpu, mem, strconv.Itoa(int(r.Restarts)), boot, cmd})
	}
	width := commandWidth(rows, terminalWidth(out.Stdout))
	tw := newTable(out.Stdout)
	for _, row := range rows {
		row[len(row)-1] = truncate(row[len(row)-1], width)
		io.WriteString(tw, strings.Join(row, "\t")+"\n")
	}
	return tw.Flush()
}

// commandWidth is how much of the COMMAND column ls shows: 80 characters,
// fewer where a terminal of cols columns (0: not a terminal) would wrap the
// line, but never fewer than 20.
func commandWidth(rows [][]string, cols int) int {
	const most, least, pad = 80, 20, 2 // pad: newTable's padding
	if cols <= 0 {
		return most
	}
	var before int
	for c := range len(rows[0]) - 1 {
		w := 0
		for _, row := range rows {
			w = max(w, utf8.RuneCountInString(row[c]))
		}
		before += w + pad
	}
	return min(most, max(least, cols-before))
}

// usageCells are a run's CPU and MEM cells: its CPU time so far and the
// memory it uses now, "-" where it has none (stopped) or they are not
// counted.
func usageCells(r runs.Run) (cpu, mem string) {
	cpu, mem = "-", "-"
	if r.CPUSec != nil {
		cpu = cpuText(*r.CPUSec)
	}
	if r.MemoryBytes != nil {
		mem = humanBytes(*r.MemoryBytes)
	}
	return cpu, mem
}

// cpuText is a CPU time as ls shows it: 0.42s, 12.3s, 3m12s, 5h02m.
func cpuText(sec float64) string {
	switch {
	case sec < 9.995:
		return fmt.Sprintf("%.2fs", sec)
	case sec < 59.95:
		return fmt.Sprintf("%.1fs", sec)
	}
	return humanDuration(time.Duration(sec * float64(time.Second)).Round(time.Second))
}

// terminalWidth is the number of columns of the terminal w is, 0 if w is
// not one.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
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
