package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/runctl/runctl/journal"
	"github.com/runctl/runctl/runs"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// LogsCmd shows a run's output from the journal. Its flags are
// journalctl's, with journalctl's meaning.
type LogsCmd struct {
	Names      []string `arg:"" optional:"" help:"Runs whose output to show, interleaved by time (default: the only running run; several: exit 2, listing them)." placeholder:"NAME"`
	Follow     bool     `short:"f" help:"Keep printing new output, across restarts, until Ctrl-C."`
	Lines      string   `short:"n" help:"Show the last N lines, 0 none, or all (default: 50; with --since or --until, all). With --follow, the lines before the new ones." placeholder:"N"`
	Boot       bootFlag `short:"b" help:"Only entries of this boot, as journalctl -b: 0 or no value the current boot, -1 the one before, 1 the first, or a boot id (journalctl --list-boots). Implies --invocation all." placeholder:"N"`
	Grep       string   `short:"g" help:"Only lines whose message matches this pattern (journalctl --grep: PCRE2, case-insensitive when it has no capital letter)." placeholder:"PATTERN"`
	Reverse    bool     `short:"r" help:"Newest line first."`
	Output     string   `short:"o" help:"How to print lines: short (time to the second), short-precise (to the microsecond; the default), short-iso, cat (the message only, exactly as written), json (runctl's JSON lines, as --json)." placeholder:"MODE"`
	NoPager    bool     `help:"Accepted for journalctl's sake: runctl never pages."`
	Since      string   `help:"Show entries from this time on (journalctl's formats: '10 min ago', '2026-11-25 10:00', '@1764064800'). Implies --invocation all." placeholder:"TIME"`
	Until      string   `help:"Show entries up to this time. Implies --invocation all." placeholder:"TIME"`
	Invocation string   `short:"I" help:"Which instance: current (the newest, default), previous, all, or an invocation id." placeholder:"WHICH"`
	Priority   string   `short:"p" help:"Only entries of this priority or more urgent: err, warning, info, ... or a range 0..4." placeholder:"LEVEL"`
	NoHostname bool     `help:"Leave the host name out of each line."`
	Stack      string   `help:"Show the output of every run of this stack (runctl apply), interleaved by time." placeholder:"STACK"`
}

// Output modes of logs -o.
var logModes = []string{"short", "short-precise", "short-iso", "cat", "json"}

// lines is -n as a count: -1 all.
func (c *LogsCmd) lines() (int, error) {
	switch c.Lines {
	case "":
		if c.Since != "" || c.Until != "" {
			return -1, nil
		}
		return 50, nil
	case "all":
		return -1, nil
	}
	n, err := strconv.Atoi(c.Lines)
	if err != nil || n < 0 {
		return 0, usage("invalid --lines %q: give a number of lines (0: none) or all", c.Lines)
	}
	return n, nil
}

func (c *LogsCmd) Run(ctx context.Context, out *Output, provide Lifecycle) error {
	n, err := c.lines()
	if err != nil {
		return err
	}
	mode := c.Output
	switch {
	case mode == "" && out.JSON:
		mode = "json"
	case mode == "":
		mode = "short-precise"
	case !slices.Contains(logModes, mode):
		return usage("invalid --output %q: give %s", mode, strings.Join(logModes, ", "))
	case out.JSON && mode != "json":
		return usage("--json prints JSON lines: drop it, or --output %s", mode)
	}
	out.JSON = mode == "json"
	if c.Reverse && c.Follow {
		return usage("--reverse and --follow do not go together: give one")
	}
	which := c.Invocation
	byTime := c.Since != "" || c.Until != ""
	switch {
	case byTime && which != "" && which != "all":
		return usage("--since and --until select by time: use them with --invocation all (their default)")
	case which == "" && (byTime || c.Boot.Set):
		which = "all"
	case which == "":
		which = "current"
	}
	if which != "current" && which != "previous" && which != "all" && !isInvocationID(which) {
		return usage("invalid --invocation %q: give current, previous, all, or a 32-digit invocation id", which)
	}
	if len(c.Names) > 1 && which != "current" && which != "all" {
		return usage("--invocation %s names one run's instance: give one NAME, or --invocation current or all", which)
	}
	if c.Stack != "" {
		if len(c.Names) > 0 {
			return usage("give NAMEs or --stack, not both")
		}
		if which != "current" && which != "all" {
			return usage("--invocation %s names one run's instance: use --stack with --invocation current or all", which)
		}
		rs, err := provide()
		if err != nil {
			return err
		}
		if c.Names, err = stackRuns(rs, c.Stack); err != nil {
			return err
		}
	}
	var given *string
	if len(c.Names) > 0 {
		if err := validNames(c.Names...); err != nil {
			return err
		}
		given = &c.Names[0]
	}
	rs, name, err := target(ctx, provide, nil, given, true)
	if err != nil {
		return err
	}
	names := c.Names
	if len(names) == 0 {
		names = []string{name}
	}
	unitNames := make([]string, len(names))
	for i, nm := range names {
		unitNames[i] = units.UnitName(nm)
	}
	// Each name must be known (or, followed, may come): a typo is an error.
	eachKnown := func() error {
		for _, nm := range names {
			if err := known(ctx, rs, nm); err != nil {
				return err
			}
		}
		return nil
	}
	if err := rs.CanReadJournal(); err != nil {
		return err
	}
	if journal.Volatile() {
		fmt.Fprintf(out.Stderr, "runctl: %s\n", journal.VolatileNote)
	}
	q := journal.Query{User: rs.Scope() == systemdctl.User, Units: unitNames, Priority: c.Priority, SinceRaw: c.Since, UntilRaw: c.Until,
		Boot: c.Boot.Value, Grep: c.Grep}
	if which != "all" {
		// Several runs' current invocations: from the earliest one's start
		// to the latest one's end (none while one is running).
		found, open := 0, false
		for i, nm := range names {
			win, err := journal.FindInvocation(ctx, q.User, unitNames[i], which)
			if err != nil {
				return rs.JournalHint(err)
			}
			if win.ID == "" {
				if err := noOutput(ctx, rs, out, nm, which, c.Follow); err != nil {
					return err
				}
				continue
			}
			found++
			if q.Since.IsZero() || win.Since.Before(q.Since) {
				q.Since = win.Since
			}
			if win.Until.IsZero() {
				open = true
			} else if win.Until.After(q.Until) {
				q.Until = win.Until
			}
		}
		if found == 0 && !c.Follow {
			return nil
		}
		if open || found == 0 {
			q.Until = time.Time{}
		}
		if found == 0 {
			// Followed before their first start: every line from then on,
			// however many the run wrote before journalctl follows.
			n = -1
		}
	}
	if n == 0 && !c.Follow {
		// Nothing asked for, as journalctl -n 0: only a typo is an error.
		return eachKnown()
	}
	last, shown := "", 0
	w := newLineWriter(out, c.Follow, mode)
	defer w.flush()
	var reversed []LogLine
	print := func(en journal.Entry) error {
		shown++
		l := logLine(en)
		if c.Reverse {
			reversed = append(reversed, l)
			return nil
		}
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
		var stop, stopGone context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		// Also when nobody reads any more (-H's ssh session ended):
		// journalctl goes with runctl, not at the run's next line.
		ctx, stopGone = untilOutputGone(ctx, out)
		defer stopGone()
		systemdctl.Crashpoint("follow-start")
		err = journal.FollowLast(ctx, q, n, print)
	} else {
		err = journal.Read(ctx, q, n, print)
	}
	if err != nil && ctx.Err() == nil {
		if c.Boot.Set && strings.Contains(err.Error(), "specified boot") {
			return fmt.Errorf("%w; journalctl --list-boots lists the boots the journal keeps (a journal kept in memory, Storage=volatile or auto without /var/log/journal, keeps only this one)", err)
		}
		return rs.JournalHint(err)
	}
	for i := len(reversed) - 1; i >= 0; i-- {
		if err := w.line(reversed[i], !c.NoHostname); err != nil {
			return err
		}
	}
	switch {
	case shown == 0 && (c.Grep != "" || c.Boot.Set || c.Priority != ""):
		return eachKnown() // nothing matched: not news
	case shown == 0 && which == "all" && !c.Follow:
		for _, nm := range names {
			if err := noOutput(ctx, rs, out, nm, which, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// noOutput explains an empty journal: an error for a name runctl and
// systemd do not know (a typo), a note for a known run with no output yet;
// a follow of an unknown name waits for its first start.
func noOutput(ctx context.Context, rs *runs.Runs, out *Output, name, which string, follow bool) error {
	err := known(ctx, rs, name)
	switch {
	case err != nil && (!follow || !errors.Is(err, runs.ErrUnknown)):
		return err
	case out.JSON:
	case err != nil:
		fmt.Fprintf(out.Stderr, "runctl: no run named %s yet: waiting for its output (Ctrl-C to stop)\n", name)
	case which == "all":
		fmt.Fprintf(out.Stderr, "runctl: %s has no output in the journal yet\n", name)
	default:
		fmt.Fprintf(out.Stderr, "runctl: %s has no %s invocation in the journal\n", name, which)
	}
	return nil
}

// known is nil for a run runctl keeps or systemd has loaded, else
// runs.ErrUnknown.
func known(ctx context.Context, rs *runs.Runs, name string) error {
	if rs.Store.Has(name) {
		return nil
	}
	st, err := rs.Manager.Brief(ctx, units.UnitName(name))
	if err != nil {
		return err
	}
	if !st.Loaded() {
		return fmt.Errorf("%w: runctl knows no run named %s and the journal has nothing of it (runctl ls lists the runs)", runs.ErrUnknown, name)
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

// lineWriter prints log lines in an output mode (logs -o), buffered; a
// follow flushes after each line. Text to a terminal has its control
// characters escaped, but in mode cat, which is the program's bytes.
type lineWriter struct {
	mode   string
	escape bool
	out    *bufio.Writer
	enc    *json.Encoder
	follow bool
}

func newLineWriter(out *Output, follow bool, mode string) *lineWriter {
	b := bufio.NewWriterSize(out.Stdout, 64<<10)
	return &lineWriter{mode: mode, escape: mode != "cat" && isTerminal(out.Stdout), out: b, enc: json.NewEncoder(b), follow: follow}
}

func (w *lineWriter) line(l LogLine, hostname bool) error {
	if w.mode == "json" {
		if err := w.enc.Encode(l); err != nil {
			return err
		}
	} else {
		text := l.format(w.mode, hostname)
		if w.escape {
			text = escapeControl(text, false)
		}
		if _, err := w.out.Write(append(text, '\n')); err != nil {
			return err
		}
	}
	if w.follow {
		return w.out.Flush()
	}
	return nil
}

func (w *lineWriter) marker(s string) { fmt.Fprintln(w.out, s) }

func (w *lineWriter) flush() error { return w.out.Flush() }

// bootFlag is -b/--boot, whose value is optional as journalctl's is: -b,
// -b 0, -b -1, -b1, --boot=ID. A following word that is not a boot (a run's
// name, another flag) is left to be parsed on its own.
type bootFlag struct {
	Set   bool
	Value string
}

func (b *bootFlag) Decode(ctx *kong.DecodeContext) error {
	b.Set, b.Value = true, "0"
	t := ctx.Scan.Peek()
	v, _ := t.Value.(string)
	switch {
	case t.Type == kong.FlagValueToken && !isBoot(v):
		ctx.Scan.Pop()
		return fmt.Errorf("invalid --boot %q: give 0 (this boot), -1 (the one before), ... or a boot id", v)
	case t.Type == kong.FlagValueToken, t.Type == kong.ShortFlagTailToken && isBoot(v), t.Type == kong.UntypedToken && isBoot(v):
		ctx.Scan.Pop()
		b.Value = v
	}
	return nil
}

// isBoot says whether s names a boot as journalctl -b takes it: an offset
// (0, -1, +2, 3) or a 32-digit boot id, with an offset or not.
func isBoot(s string) bool {
	if len(s) >= 32 && isInvocationID(s[:32]) {
		if s = s[32:]; s == "" {
			return true
		}
		if s[0] != '+' && s[0] != '-' {
			return false
		}
	}
	_, err := strconv.Atoi(s)
	return err == nil
}
