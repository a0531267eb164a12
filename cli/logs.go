package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"

	"github.com/runctl/runctl/journal"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// LogsCmd shows a run's output from the journal.
type LogsCmd struct {
	Name       *string `arg:"" optional:"" help:"Run whose output to show (default: the most recently started)." placeholder:"NAME"`
	Follow     bool    `short:"f" help:"Keep printing new output, across restarts, until Ctrl-C."`
	Lines      int     `short:"n" help:"How many of the last lines to show (0: all)." default:"50"`
	Since      string  `help:"Show entries from this time on (journalctl's formats: '10 min ago', '2026-11-25 10:00', '@1764064800'). Implies --invocation all." placeholder:"TIME"`
	Until      string  `help:"Show entries up to this time. Implies --invocation all." placeholder:"TIME"`
	Invocation string  `short:"I" help:"Which instance: current (the newest, default), previous, all, or an invocation id." placeholder:"WHICH"`
	Priority   string  `short:"p" help:"Only entries of this priority or more urgent: err, warning, info, ... or a range 0..4." placeholder:"LEVEL"`
	NoHostname bool    `help:"Leave the host name out of each line."`
}

func (c *LogsCmd) Run(e *Env) error {
	if c.Lines < 0 {
		return fmt.Errorf("invalid --lines %d: give 0 (all) or more", c.Lines)
	}
	which := c.Invocation
	if c.Since != "" || c.Until != "" {
		if which != "" && which != "all" {
			return errors.New("--since and --until select by time: use them with --invocation all (their default)")
		}
		which = "all"
	}
	if which == "" {
		which = "current"
	}
	if which != "current" && which != "previous" && which != "all" && !isInvocationID(which) {
		return fmt.Errorf("invalid --invocation %q: give current, previous, all, or a 32-digit invocation id", which)
	}
	name, err := e.logTarget(c.Name)
	if err != nil {
		return err
	}
	if err := canReadJournal(e.Scope()); err != nil {
		return err
	}
	unit := units.UnitName(name)
	q := journal.Query{User: e.Scope() == systemdctl.User, Units: []string{unit}, Lines: c.Lines, Priority: c.Priority, SinceRaw: c.Since, UntilRaw: c.Until}
	if which != "all" {
		win, err := journal.FindInvocation(e.Ctx, q.User, unit, which)
		if err != nil {
			return journalHint(err, e.Scope())
		}
		if win.ID == "" {
			if !e.JSON {
				fmt.Fprintf(e.Stderr, "runctl: %s has no %s invocation in the journal\n", name, which)
			}
			if !c.Follow {
				return nil
			}
		}
		q.Since, q.Until = win.Since, win.Until
	}
	if c.Follow {
		if !q.Until.IsZero() {
			return errors.New("only the newest invocation can be followed: drop --invocation, or --follow")
		}
		q.Follow = true
		sigs, stop := interrupts()
		defer stop()
		go func() { <-sigs; e.cancel() }()
	}
	last := ""
	w := newLineWriter(e)
	err = journal.Stream(e.Ctx, q, func(en journal.Entry) error {
		l := logLine(en)
		if c.Follow && l.InvocationID != "" && last != "" && l.InvocationID != last && !e.JSON {
			w.marker(fmt.Sprintf("-- new invocation %s --", l.InvocationID))
		}
		if l.InvocationID != "" {
			last = l.InvocationID
		}
		return w.line(l, !c.NoHostname)
	})
	if err != nil && e.Ctx.Err() == nil {
		return journalHint(err, e.Scope())
	}
	return nil
}

func isInvocationID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// logTarget is NAME, or the most recently started run; a stopped run
// runctl keeps counts too: its logs are still in the journal.
func (e *Env) logTarget(given *string) (string, error) {
	if given != nil {
		return *given, units.ValidateName(*given)
	}
	runs, err := e.listRuns(true)
	if err != nil {
		return "", err
	}
	r, err := mostRecent(runs)
	if err != nil {
		r, err = mostRecentKnown(runs)
	}
	if err != nil {
		return "", &ExitError{Code: 1, Err: err}
	}
	return r.Name, nil
}

// canReadJournal says which group a user needs to read the system journal;
// journalctl itself would just show nothing.
func canReadJournal(scope systemdctl.Scope) error {
	if os.Geteuid() == 0 || scope == systemdctl.User {
		return nil
	}
	gids, _ := os.Getgroups()
	for _, name := range []string{"systemd-journal", "adm", "wheel"} {
		g, err := user.LookupGroup(name)
		if err != nil {
			continue
		}
		gid, _ := strconv.Atoi(g.Gid)
		if slices.Contains(gids, gid) || os.Getegid() == gid {
			return nil
		}
	}
	return errors.New("cannot read the system journal: your user must be in group systemd-journal (or adm): sudo usermod -aG systemd-journal $USER, then log in again; or use --user for your own runs")
}

// lineWriter prints log lines as text or JSON lines.
type lineWriter struct {
	e   *Env
	enc *json.Encoder
}

func newLineWriter(e *Env) *lineWriter {
	return &lineWriter{e: e, enc: json.NewEncoder(e.Stdout)}
}

func (w *lineWriter) line(l LogLine, hostname bool) error {
	if w.e.JSON {
		return w.enc.Encode(l)
	}
	_, err := fmt.Fprintln(w.e.Stdout, l.text(hostname))
	return err
}

func (w *lineWriter) marker(s string) { fmt.Fprintln(w.e.Stdout, s) }
