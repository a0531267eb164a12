package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os/signal"
	"syscall"

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

func (c *LogsCmd) Run(ctx context.Context, out *Output, provide Lifecycle) error {
	if c.Lines < 0 {
		return usage("invalid --lines %d: give 0 (all) or more", c.Lines)
	}
	which := c.Invocation
	if c.Since != "" || c.Until != "" {
		if which != "" && which != "all" {
			return usage("--since and --until select by time: use them with --invocation all (their default)")
		}
		which = "all"
	}
	if which == "" {
		which = "current"
	}
	if which != "current" && which != "previous" && which != "all" && !isInvocationID(which) {
		return usage("invalid --invocation %q: give current, previous, all, or a 32-digit invocation id", which)
	}
	rs, name, err := target(ctx, provide, nil, c.Name, true)
	if err != nil {
		return err
	}
	if err := rs.CanReadJournal(); err != nil {
		return err
	}
	unit := units.UnitName(name)
	q := journal.Query{User: rs.Scope() == systemdctl.User, Units: []string{unit}, Lines: c.Lines, Priority: c.Priority, SinceRaw: c.Since, UntilRaw: c.Until}
	if which != "all" {
		win, err := journal.FindInvocation(ctx, q.User, unit, which)
		if err != nil {
			return rs.JournalHint(err)
		}
		if win.ID == "" {
			if !out.JSON {
				fmt.Fprintf(out.Stderr, "runctl: %s has no %s invocation in the journal\n", name, which)
			}
			if !c.Follow {
				return nil
			}
		}
		q.Since, q.Until = win.Since, win.Until
	}
	if c.Follow {
		if !q.Until.IsZero() {
			return usage("only the newest invocation can be followed: drop --invocation, or --follow")
		}
		q.Follow = true
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
		defer stop()
	}
	last := ""
	w := newLineWriter(out)
	err = journal.Stream(ctx, q, func(en journal.Entry) error {
		l := logLine(en)
		if c.Follow && l.InvocationID != "" && last != "" && l.InvocationID != last && !out.JSON {
			w.marker(fmt.Sprintf("-- new invocation %s --", l.InvocationID))
		}
		if l.InvocationID != "" {
			last = l.InvocationID
		}
		return w.line(l, !c.NoHostname)
	})
	if err != nil && ctx.Err() == nil {
		return rs.JournalHint(err)
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

// lineWriter prints log lines as text or JSON lines.
type lineWriter struct {
	out *Output
	enc *json.Encoder
}

func newLineWriter(out *Output) *lineWriter {
	return &lineWriter{out: out, enc: json.NewEncoder(out.Stdout)}
}

func (w *lineWriter) line(l LogLine, hostname bool) error {
	if w.out.JSON {
		return w.enc.Encode(l)
	}
	_, err := fmt.Fprintln(w.out.Stdout, l.text(hostname))
	return err
}

func (w *lineWriter) marker(s string) { fmt.Fprintln(w.out.Stdout, s) }
