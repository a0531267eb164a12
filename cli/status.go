package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/journal"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// StatusCmd shows, for each run, what systemctl status shows, focused.
type StatusCmd struct {
	Names []string `arg:"" optional:"" help:"Runs to show (default: every run)." placeholder:"NAME"`
	Lines int      `short:"n" help:"How many of the last log lines to show." default:"10"`
}

// Status is one run in detail; its JSON extends the `ls --json` object.
type Status struct {
	Run
	StateSince  *time.Time           `json:"state_since,omitempty"`
	LastExitAt  *time.Time           `json:"last_exit_at,omitempty"`
	Processes   []systemdctl.Process `json:"processes"`
	MemoryBytes *uint64              `json:"memory_bytes,omitempty"`
	CPUSec      *float64             `json:"cpu_sec,omitempty"`
	Tasks       *uint64              `json:"tasks,omitempty"`
	// Who runs the program, how it is stopped, the -p properties as typed.
	User           string    `json:"user,omitempty"`  // --uid
	Group          string    `json:"group,omitempty"` // --gid
	StopSignal     string    `json:"stop_signal,omitempty"`
	StopTimeoutSec float64   `json:"stop_timeout_sec,omitempty"`
	Properties     []string  `json:"properties,omitempty"`
	Logs           []LogLine `json:"logs"`
}

// Exit codes of status, as systemctl status has them.
const (
	statusNotRunning = 3
	statusNoSuchRun  = 4
)

func (c *StatusCmd) Run(e *Env) error {
	m, err := e.Manager()
	if err != nil {
		return err
	}
	store, err := e.Store()
	if err != nil {
		return err
	}
	names := c.Names
	for _, n := range names {
		if err := units.ValidateName(n); err != nil {
			return err
		}
	}
	if len(names) == 0 {
		runs, err := e.listRuns(false)
		if err != nil {
			return err
		}
		for _, r := range runs {
			names = append(names, r.Name)
		}
		if len(names) == 0 {
			fmt.Fprintln(e.Stderr, "runctl: no runs (start one with: runctl run -d -- CMD [ARG...])")
			return &ExitError{Code: statusNoSuchRun}
		}
	}
	unitNames := make([]string, len(names))
	for i, n := range names {
		unitNames[i] = units.UnitName(n)
	}
	// journalctl reads the log lines on the other core meanwhile.
	var logs map[string][]journal.Entry
	var logErr error
	tailDone := make(chan struct{})
	go func() {
		defer close(tailDone)
		logs, logErr = journal.Tail(e.Ctx, e.Scope() == systemdctl.User, unitNames, c.Lines)
	}()
	states, procs, err := m.Details(e.Ctx, unitNames, systemdctl.StatusProps)
	<-tailDone
	if err != nil {
		return err
	}
	now := time.Now()
	var out []Status
	code := 0
	for i, name := range names {
		spec, damaged := loadDamaged(store, name)
		st := states[i]
		if spec == nil && damaged == nil && !st.Loaded() {
			fmt.Fprintf(e.Stderr, "runctl: no run named %s (runctl ls lists them)\n", name)
			code = statusNoSuchRun
			continue
		}
		s := Status{Run: makeRun(e.Scope(), name, spec, spec != nil || damaged != nil, st, now), Processes: procs[i]}
		if damaged != nil {
			s.Damaged = damaged.Error()
			if !st.Loaded() || st.ActiveState == "inactive" {
				s.State = "damaged"
			}
		}
		s.Autostart = e.autostart(name)
		if spec != nil {
			s.StopSignal, s.StopTimeoutSec = unix.SignalName(spec.StopSignal()), spec.StopAfter().Seconds()
			s.Properties = spec.Properties
			s.User, s.Group = spec.User, spec.Group
		}
		if !s.running() && code == 0 {
			code = statusNotRunning
		}
		if st.Loaded() {
			if !st.StateChange.IsZero() {
				t := st.StateChange
				s.StateSince = &t
			}
			if !st.ExecMainExit.IsZero() {
				t := st.ExecMainExit
				s.LastExitAt = &t
			}
			if st.MemoryCurrent != ^uint64(0) && s.running() {
				v := st.MemoryCurrent
				s.MemoryBytes = &v
			}
			if st.CPUUsageNSec != ^uint64(0) && s.running() {
				v := float64(st.CPUUsageNSec) / 1e9
				s.CPUSec = &v
			}
			if st.TasksCurrent != ^uint64(0) && s.running() {
				v := st.TasksCurrent
				s.Tasks = &v
			}
		}
		s.Logs = []LogLine{}
		for _, en := range logs[unitNames[i]] {
			s.Logs = append(s.Logs, logLine(en))
		}
		out = append(out, s)
	}
	if e.JSON {
		if out == nil {
			out = []Status{}
		}
		if err := e.printJSON(out); err != nil {
			return err
		}
	} else {
		for i, s := range out {
			if i > 0 {
				fmt.Fprintln(e.Stdout)
			}
			s.print(e.Stdout, now)
		}
	}
	if logErr != nil {
		fmt.Fprintf(e.Stderr, "runctl: %v\n", journalHint(logErr, e.Scope()))
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

func (s Status) print(w io.Writer, now time.Time) {
	dot := "○"
	switch {
	case s.State == "failed" || s.State == "damaged":
		dot = "×"
	case s.running():
		dot = "●"
	}
	cmd := s.commandLine
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
			at = " at " + s.LastExitAt.Local().Format("15:04:05.000")
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
			fmt.Fprintln(w, l.text(true))
		}
	}
}

func humanBytes(b uint64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1fK", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%dB", b)
}

// journalHint turns journalctl's access refusal into the group to join.
func journalHint(err error, scope systemdctl.Scope) error {
	if os.Geteuid() == 0 || scope == systemdctl.User {
		return err
	}
	if strings.Contains(err.Error(), "No journal files") || strings.Contains(err.Error(), "ermission") {
		return errors.New("cannot read the system journal: your user must be in group systemd-journal (or adm): sudo usermod -aG systemd-journal $USER, then log in again")
	}
	return err
}
