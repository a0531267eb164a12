package journal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Query selects entries, as journalctl's options do.
type Query struct {
	User     bool     // the user journal and --user-unit, instead of -u
	Units    []string // entries of these units (journalctl -u: the program's and the manager's about it)
	Matches  []string // journalctl matches (FIELD=VALUE, "+" for or), after Units
	Since    time.Time
	Until    time.Time
	Lines    int // the last N; 0 all
	Reverse  bool
	Follow   bool
	SinceRaw string // --since/--until as the user gave them (journalctl parses)
	UntilRaw string
	After    string // cursor
	Priority string // journalctl -p: "err", "0..4"; "" any
	Boot     string // journalctl --boot: "0" the current boot, "-1" the one before, a boot id; "" any
	Grep     string // journalctl --grep: a pattern MESSAGE matches; "" any
}

func stamp(t time.Time) string {
	return fmt.Sprintf("@%d.%06d", t.Unix(), t.Nanosecond()/1000)
}

// Args are journalctl's arguments for q.
func (q Query) Args() []string {
	// --all: without it, journalctl's JSON has null for fields over 4096 bytes.
	args := []string{"--output=json", "--all", "--output-fields=" + fields, "--no-pager", "--quiet"}
	if q.User && os.Geteuid() != 0 {
		// The user's own journal files. Root's user manager logs to the
		// system journal (journald keeps no separate files for system
		// users), where --user would find nothing; root reads all, and
		// --user-unit matches root's own units (_UID=0).
		args = append(args, "--user")
	}
	for _, u := range q.Units {
		if q.User {
			args = append(args, "--user-unit="+u)
		} else {
			args = append(args, "--unit="+u)
		}
	}
	// journalctl refuses --since together with --after-cursor; the cursor
	// is the later bound anyway.
	if !q.Since.IsZero() && q.After == "" {
		args = append(args, "--since="+stamp(q.Since))
	}
	if !q.Until.IsZero() {
		args = append(args, "--until="+stamp(q.Until))
	}
	if q.SinceRaw != "" && q.After == "" {
		args = append(args, "--since="+q.SinceRaw)
	}
	if q.UntilRaw != "" {
		args = append(args, "--until="+q.UntilRaw)
	}
	if q.Lines > 0 {
		args = append(args, "--lines="+strconv.Itoa(q.Lines))
	} else if q.Follow {
		args = append(args, "--lines=all")
	}
	if q.Reverse {
		args = append(args, "--reverse")
	}
	if q.Follow {
		args = append(args, "--follow")
	}
	if q.After != "" {
		args = append(args, "--after-cursor="+q.After)
	}
	if q.Priority != "" {
		args = append(args, "--priority="+q.Priority)
	}
	if q.Boot != "" {
		args = append(args, "--boot="+q.Boot)
	}
	if q.Grep != "" {
		args = append(args, "--grep="+q.Grep)
	}
	return append(args, q.Matches...)
}

// ErrStop, returned by a Stream callback, ends the stream without error.
var ErrStop = errors.New("stop")

// Stream runs journalctl for q and hands each entry to fn until the output
// ends, ctx is done, or fn returns an error (ErrStop: a clean end).
func Stream(ctx context.Context, q Query, fn func(Entry) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, "journalctl", q.Args()...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot read the journal: %w (is journalctl installed?)", err)
	}
	ferr := scan(out, fn)
	if ferr != nil {
		cancel() // stop journalctl; its exit status no longer matters
		io.Copy(io.Discard, out)
	}
	werr := cmd.Wait()
	switch {
	case ferr != nil && !errors.Is(ferr, ErrStop):
		return ferr
	case ferr != nil || ctx.Err() != nil:
		return nil
	case werr != nil && q.Grep != "" && stderr.Len() == 0 && cmd.ProcessState.ExitCode() == 1:
		return nil // journalctl --grep exits 1, silently, when nothing matched
	case werr != nil:
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = werr.Error()
		}
		return fmt.Errorf("cannot read the journal: %s", msg)
	}
	return nil
}

func scan(r io.Reader, fn func(Entry) error) error {
	br := bufio.NewReaderSize(r, 256*1024)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if e, ok := decode(line); ok {
				if ferr := fn(e); ferr != nil {
					return ferr
				}
			}
		}
		if err != nil {
			return nil
		}
	}
}
