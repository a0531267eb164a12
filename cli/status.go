package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/journal"
	"github.com/runctl/runctl/runs"
	"github.com/runctl/runctl/systemdctl"
)

// StatusCmd shows, for each run, what systemctl status shows, focused.
type StatusCmd struct {
	Names []string `arg:"" optional:"" help:"Runs to show (default: every run)." placeholder:"NAME"`
	Lines int      `short:"n" help:"How many of the last log lines to show." default:"10"`
	Stack string   `help:"${stack_help}" placeholder:"STACK"`
}

// Status is one run in detail; its JSON extends the `ls --json` object.
type Status struct {
	runs.Run
	StateSince *time.Time           `json:"state_since,omitempty"`
	LastExitAt *time.Time           `json:"last_exit_at,omitempty"`
	Processes  []systemdctl.Process `json:"processes"`
	// CPUFrom says where CPUSec comes from: "cgroup" (the count of every
	// process the run ever had: systemd's, or, where the manager does not
	// count it (no cpu controller), read from the run's cgroup as ls reads
	// it) or "processes" (the CPU time of its processes now, from /proc,
	// where neither can be read).
	CPUFrom string  `json:"cpu_from,omitempty"`
	Tasks   *uint64 `json:"tasks,omitempty"`
	// Who runs the program, how it is stopped, the -p properties as typed.
	User  string   `json:"user,omitempty"`  // --uid
	Group string   `json:"group,omitempty"` // --gid
	After []string `json:"after,omitempty"` // --after
	Wants []string `json:"wants,omitempty"` // --wants
	// AddedEnv: what runctl adds to the run's environment for unbuffered
	// output (run --buffered: none); not part of the spec's env.
	AddedEnv []string `json:"added_env,omitempty"`
	// Limits: the -p limits asked for, as the running program has them.
	Limits      []Limit `json:"limits,omitempty"`
	Notify      bool    `json:"notify,omitempty"`
	WatchdogSec float64 `json:"watchdog_sec,omitempty"`
	// WatchdogAt: when systemd last killed it for a missed WATCHDOG=1.
	WatchdogAt     *time.Time `json:"watchdog_timeout_at,omitempty"`
	StopSignal     string     `json:"stop_signal,omitempty"`
	StopTimeoutSec float64    `json:"stop_timeout_sec,omitempty"`
	Properties     []string   `json:"properties,omitempty"`
	Logs           []LogLine  `json:"logs"`
}

// Exit codes of status, as systemctl status has them.
const (
	statusNotRunning = 3
	statusNoSuchRun  = 4
)

func (c *StatusCmd) Run(ctx context.Context, out *Output, provide Lifecycle) error {
	if err := validNames(c.Names...); err != nil {
		return err
	}
	if c.Stack != "" && len(c.Names) > 0 {
		return usage("give NAMEs or --stack, not both")
	}
	rs, err := provide()
	if err != nil {
		return err
	}
	if c.Stack != "" {
		if c.Names, err = stackRuns(rs, c.Stack); err != nil {
			return err
		}
	}
	details, logErr, err := rs.Details(ctx, c.Names, c.Lines)
	if err != nil {
		return err
	}
	if len(details) > 0 && c.Lines > 0 && journal.Volatile() {
		fmt.Fprintf(out.Stderr, "runctl: %s\n", journal.VolatileNote)
	}
	if len(details) == 0 {
		return &ExitError{Code: statusNoSuchRun, Err: fmt.Errorf("no runs (start one with: runctl run -d -- CMD [ARG...])")}
	}
	now := time.Now()
	var list []Status
	code := 0
	for _, d := range details {
		if !d.Found {
			fmt.Fprintf(out.Stderr, "runctl: no run named %s (runctl ls lists them)\n", d.Name)
			code = statusNoSuchRun
			continue
		}
		s := makeStatus(d)
		if !s.Running() && code == 0 {
			code = statusNotRunning
		}
		list = append(list, s)
	}
	if out.JSON {
		if list == nil {
			list = []Status{}
		}
		if err := out.PrintJSON(list); err != nil {
			return err
		}
	} else {
		// A run's command line, processes and log lines are its own (or
		// another user's) bytes: a terminal gets them escaped.
		w := out.Stdout
		if isTerminal(w) {
			w = escaper{w}
		}
		for i, s := range list {
			if i > 0 {
				fmt.Fprintln(w)
			}
			s.print(w, now)
		}
	}
	if logErr != nil {
		fmt.Fprintf(out.Stderr, "runctl: %v\n", rs.JournalHint(logErr))
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

func makeStatus(d runs.Detail) Status {
	s := Status{Run: d.Run, Processes: d.Processes, Logs: []LogLine{}}
	if d.Spec != nil {
		s.StopSignal, s.StopTimeoutSec = unix.SignalName(d.Spec.StopSignal()), d.Spec.StopAfter().Seconds()
		s.Properties = d.Spec.Properties
		s.User, s.Group, s.After, s.Wants = d.Spec.User, d.Spec.Group, d.Spec.After, d.Spec.Wants
		s.AddedEnv = d.Spec.AddedEnv()
		if d.Run.Running() {
			s.Limits = limitsInForce(d.Run.PID, d.Spec)
		}
		s.Notify, s.WatchdogSec = d.Spec.Notify, time.Duration(d.Spec.Watchdog).Seconds()
		if !d.WatchdogAt.IsZero() {
			s.WatchdogAt = &d.WatchdogAt
		}
	}
	if !d.LastExitAt.IsZero() {
		t := d.LastExitAt
		s.LastExitAt = &t
	}
	st := d.Systemd
	if st.Loaded() {
		if !st.StateChange.IsZero() {
			t := st.StateChange
			s.StateSince = &t
		}
		// MemoryBytes and CPUSec are the run's, as systemd counts them.
		if s.CPUSec != nil {
			s.CPUFrom = "cgroup"
		} else if v, ok := processesCPU(d.Processes); ok && s.Running() {
			s.CPUSec, s.CPUFrom = &v, "processes"
		}
		if st.TasksCurrent != ^uint64(0) && s.Running() {
			v := st.TasksCurrent
			s.Tasks = &v
		}
	}
	for _, en := range d.Logs {
		s.Logs = append(s.Logs, logLine(en))
	}
	return s
}

func (s Status) print(w io.Writer, now time.Time) {
	dot := "○"
	switch {
	case s.State == "failed" || s.State == "damaged":
		dot = "×"
	case s.Running():
		dot = "●"
	}
	cmd := s.CommandLine
	if cmd == "" {
		cmd = "?"
	}
	fmt.Fprintf(w, "%s %s - %s\n", dot, s.Name, truncate(cmd, 120))
	state := s.State
	if s.SubState != "" && s.SubState != s.State {
		state += " (" + s.SubState + ")"
	}
	if s.LimitHit {
		state += ", gave up restarting"
	}
	if s.SubState == "auto-restart" {
		// Its program ended; systemd starts it again by itself (--restart).
		wait := "waiting to restart"
		if s.RestartAt != nil {
			wait += " at " + s.RestartAt.Local().Format("15:04:05.000") + "," + untilText(s.RestartAt.Sub(now))
		}
		if s.LastExit != "" {
			wait += "; last " + s.LastExit
		}
		state = s.State + " (" + wait + ")"
	}
	if s.StateSince != nil {
		state += fmt.Sprintf(" since %s; %s ago", s.StateSince.Local().Format("Mon 2006-01-02 15:04:05 MST"), humanDuration(now.Sub(*s.StateSince)))
	}
	row := func(k, v string) { fmt.Fprintf(w, "%12s: %s\n", k, v) }
	row("State", state)
	if s.Damaged != "" {
		row("Spec", s.Damaged)
	}
	autostart := "off"
	if s.Autostart {
		autostart = "on"
	}
	row("Unit", fmt.Sprintf("%s (%s manager, autostart %s)", s.Unit, s.Manager, autostart))
	if s.Dir != "" {
		row("Directory", s.Dir)
	}
	if s.PID != 0 {
		row("Main PID", strconv.Itoa(int(s.PID)))
	}
	if s.InvocationID != "" {
		row("Invocation", s.InvocationID)
	}
	row("Restarts", strconv.Itoa(int(s.Restarts)))
	if s.User != "" || s.Group != "" {
		row("User", strings.Trim(s.User+":"+s.Group, ":"))
	}
	if len(s.After) > 0 {
		row("After", strings.Join(s.After, " "))
	}
	if len(s.Wants) > 0 {
		row("Wants", strings.Join(s.Wants, " "))
	}
	if len(s.AddedEnv) > 0 {
		row("Output", "unbuffered: runctl adds "+strings.Join(s.AddedEnv, " ")+" (run --buffered: not)")
	}
	if s.Notify || s.WatchdogSec > 0 {
		var r []string
		if s.Notify {
			r = append(r, "ready on READY=1 (Type=notify)")
		}
		if s.WatchdogSec > 0 {
			r = append(r, fmt.Sprintf("watchdog %s", time.Duration(s.WatchdogSec*float64(time.Second))))
		}
		if s.WatchdogAt != nil {
			r = append(r, "killed by the watchdog at "+s.WatchdogAt.Local().Format("15:04:05.000"))
		}
		row("Readiness", strings.Join(r, ", "))
	}
	if len(s.Limits) > 0 {
		row("Limits", limitsText(s.Limits))
	}
	if s.StopSignal != "" {
		row("Stop", fmt.Sprintf("%s, SIGKILL after %s", s.StopSignal, time.Duration(s.StopTimeoutSec*float64(time.Second))))
	}
	for i, p := range s.Properties {
		k := ""
		if i == 0 {
			k = "Properties"
		}
		fmt.Fprintf(w, "%12s  %s\n", k, p)
	}
	if s.LastExit != "" {
		at := ""
		if s.LastExitAt != nil {
			at = " at " + s.LastExitAt.Local().Format("Mon 2006-01-02 15:04:05.000")
		}
		row("Last exit", s.LastExit+at)
	}
	var res []string
	if s.MemoryBytes != nil {
		res = append(res, "memory "+humanBytes(*s.MemoryBytes))
	}
	if s.CPUSec != nil {
		res = append(res, fmt.Sprintf("CPU %.3fs", *s.CPUSec))
	}
	if s.Tasks != nil {
		res = append(res, fmt.Sprintf("%d tasks", *s.Tasks))
	}
	if len(res) > 0 {
		row("Resources", strings.Join(res, ", "))
	}
	for i, p := range s.Processes {
		k := ""
		if i == 0 {
			k = "Processes"
		}
		fmt.Fprintf(w, "%12s  %d %s\n", k, p.PID, truncate(p.Command, 100))
	}
	if len(s.Logs) > 0 {
		fmt.Fprintln(w)
		for _, l := range s.Logs {
			w.Write(append(l.text(true), '\n'))
		}
	}
}

// processesCPU is the CPU time (user and system) the processes have used,
// from /proc/PID/stat, in seconds; false if none could be read.
func processesCPU(procs []systemdctl.Process) (float64, bool) {
	const ticks = 100 // USER_HZ, fixed at 100 on Linux
	var total uint64
	read := false
	for _, p := range procs {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(int(p.PID)) + "/stat")
		if err != nil {
			continue
		}
		// The command (field 2) is in parentheses and may hold spaces.
		i := bytes.LastIndexByte(data, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) < 13 {
			continue
		}
		utime, err1 := strconv.ParseUint(f[11], 10, 64) // field 14
		stime, err2 := strconv.ParseUint(f[12], 10, 64) // field 15
		if err1 != nil || err2 != nil {
			continue
		}
		total += utime + stime
		read = true
	}
	return float64(total) / ticks, read
}
