package journal

import (
	"context"
	"os"
	"os/exec"
	"time"
)

// flush makes journald write what programs sent it before now: journalctl
// --sync (root only; its reply comes after pending stream data is
// written), or else a moment for journald to read it.
func flush(ctx context.Context, user bool) {
	if os.Geteuid() == 0 && !user {
		_ = exec.CommandContext(ctx, "journalctl", "--sync").Run()
		return
	}
	time.Sleep(100 * time.Millisecond)
}

// Recent returns the last n lines a unit's program wrote since a time,
// oldest first: what a program that just died said last.
func Recent(ctx context.Context, user bool, unit string, since time.Time, n int) ([]Entry, error) {
	if n <= 0 {
		return nil, nil
	}
	flush(ctx, user)
	var lines []Entry
	err := Read(ctx, Query{User: user, Units: []string{unit}, Since: since}, 0, func(e Entry) error {
		if !e.Manager {
			if len(lines) == n {
				lines = lines[1:]
			}
			lines = append(lines, e)
		}
		return nil
	})
	return lines, err
}
