package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/signal"
	"syscall"

	"github.com/runctl/runctl/journal"
	"github.com/runctl/runctl/runs"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// LogsCmd shows a run's output from the journal.
type LogsCmd struct {
	Name       *string `arg:"" optional:"" help:"Run whose output to show (default: the most recently started)." placeholder:"NAME"`
	Follow     bool    `short:"f" help:"Keep printing new output, across restarts, until Ctrl-C."`
	Lines      int     `short:"n" help:"How many of the last lines to show (0: all; with --follow, none: only new lines)." default:"50"`
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
	q := journal.Query{User: rs.Scope() == systemdctl.User, Units: []string{unit}, Priority: c.Priority, SinceRaw: c.Since, UntilRaw: c.Until}
	if which != "all" {
		win, err := journal.FindInvocation(ctx, q.User, unit, which)
		if err != nil {
			return rs.JournalHint(err)
		}
		if win.ID == "" {
			if err := noOutput(ctx, rs, out, name, which, c.Follow); err != nil || !c.Follow {
				return err
			}
		}
		q.Since, q.Until = win.Since, win.Until
	}
	last, shown := "", 0
	w := newLineWriter(out, c.Follow)
	defer w.flush()
	print := func(en journal.Entry) error {
		shown++
		l := logLine(en)
		if c.Follow && l.InvocationID != "" && last != "" && l.InvocationID != last && !out.JSON {
			w.marker(fmt.Sprintf("-- new invocation %s --", l.InvocationID))
		}
		if l.InvocationID != "" {
			last = l.InvocationID
		}
		return w.line(l, !c.NoHostname)
	}
	if c.Follow {
		if !q.Until.IsZero() {
			return usage("only the newest invocation can be followed: drop --invocation, or --follow")
		}
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		// -n 0 follows only what comes next, as journalctl -f -n 0 does.
		n := c.Lines
		if n == 0 && which == "all" && (c.Since != "" || c.Until != "") {
			n = -1
		}
		err = journal.FollowLast(ctx, q, n, print)
	} else {
		err = journal.Read(ctx, q, c.Lines, print)
	}
	if err != nil && ctx.Err() == nil {
		return rs.JournalHint(err)
	}
	if shown == 0 && which == "all" && !c.Follow {
		return noOutput(ctx, rs, out, name, which, false)
	}
	return nil
}

// noOutput explains an empty journal: an error for a name runctl and
// systemd do not know (a typo), a note for a known run with no output yet;
// a follow of an unknown name waits for its first start.
func noOutput(ctx context.Context, rs *runs.Runs, out *Output, name, which string, follow bool) error {
	known := rs.Store.Has(name)
	if !known {
		st, err := rs.Manager.Brief(ctx, units.UnitName(name))
		if err != nil {
			return err
		}
		known = st.Loaded()
	}
	switch {
	case !known && !follow:
		return fmt.Errorf("%w: runctl knows no run named %s and the journal has nothing of it (runctl ls lists the runs)", runs.ErrUnknown, name)
	case out.JSON:
	case !known:
		fmt.Fprintf(out.Stderr, "runctl: no run named %s yet: waiting for its output (Ctrl-C to stop)\n", name)
	case which == "all":
		fmt.Fprintf(out.Stderr, "runctl: %s has no output in the journal yet\n", name)
	default:
		fmt.Fprintf(out.Stderr, "runctl: %s has no %s invocation in the journal\n", name, which)
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

// lineWriter prints log lines as text or JSON lines, buffered; a follow
// flushes after each line.
type lineWriter struct {
	json   bool
	out    *bufio.Writer
	enc    *json.Encoder
	follow bool
}

func newLineWriter(out *Output, follow bool) *lineWriter {
	b := bufio.NewWriterSize(out.Stdout, 64<<10)
	return &lineWriter{json: out.JSON, out: b, enc: json.NewEncoder(b), follow: follow}
}

func (w *lineWriter) line(l LogLine, hostname bool) error {
	if w.json {
		if err := w.enc.Encode(l); err != nil {
			return err
		}
	} else if _, err := w.out.Write(append(l.text(hostname), '\n')); err != nil {
		return err
	}
	if w.follow {
		return w.out.Flush()
	}
	return nil
}

func (w *lineWriter) marker(s string) { fmt.Fprintln(w.out, s) }

func (w *lineWriter) flush() error { return w.out.Flush() }
