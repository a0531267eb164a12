package runs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/runctl/runctl/journal"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// DefaultSettle is how long run -d, start and restart watch a started
// program before they report success (pm2's min_uptime). Measured in the
// sandbox (2-core VM): a Python import error dies 11-50 ms after its exec,
// one after heavier standard-library imports 62-124 ms, `sh -c 'sleep 0.1;
// exit 3'` 105 ms. A robot CPU (Raspberry Pi / Jetson class, SD card) is
// 5-8x slower at Python start-up; 1 s still catches those there.
const DefaultSettle = time.Second

// DiedError: the program ended within its settle window, or during its
// start. Its message holds how it ended and its last lines.
type DiedError struct {
	Name       string
	After      time.Duration // since the start job finished; 0: during it
	State      systemdctl.State
	Lines      []journal.Entry
	Restarting bool // systemd restarts it (Restart=)
	// Leftovers: systemd had to end processes the program left behind.
	Leftovers bool
}

// Finished says the program did its job: it exited 0, left nothing
// behind and is not restarted; a short -d job, not a failed start.
func (d *DiedError) Finished() bool {
	code, sig, ok := d.State.Exited()
	return ok && code == 0 && sig == 0 && !d.Leftovers && !d.Restarting
}

func (d *DiedError) Error() string {
	var b strings.Builder
	when := "at once"
	if d.After > 0 {
		when = fmt.Sprintf("%s after its start", d.After.Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "%s exited %s (%s)", d.Name, when, orDash(d.State.Ended()))
	if len(d.Lines) > 0 {
		b.WriteString("; its last lines:")
		for _, l := range d.Lines {
			b.WriteString("\n  " + strings.ToValidUTF8(string(l.Message), "\uFFFD"))
		}
		b.WriteString("\n")
	} else {
		b.WriteString("; ")
	}
	switch code, sig, _ := d.State.Exited(); {
	case d.Restarting:
		fmt.Fprintf(&b, "systemd restarts it (--restart); runctl logs -f %s follows it, runctl stop %s ends it", d.Name, d.Name)
	case code == 0 && sig == 0:
		b.WriteString("systemd ended the run and everything it left behind; a launcher that daemonizes itself (--daemon, double fork) leaves nothing to supervise: run the program in the foreground instead")
	default:
		fmt.Fprintf(&b, "see runctl logs %s", d.Name)
	}
	return b.String()
}

// FinishedText reports a Finished run: when it ended, and its last lines.
func (d *DiedError) FinishedText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s finished (exit 0)", d.Name)
	if d.After > 0 {
		fmt.Fprintf(&b, " %s after its start", d.After.Round(time.Millisecond))
	}
	if len(d.Lines) > 0 {
		b.WriteString("; its last lines:")
		for _, l := range d.Lines {
			b.WriteString("\n  " + strings.ToValidUTF8(string(l.Message), "\uFFFD"))
		}
	}
	return b.String()
}

// settle watches the instance start, which the start job just reported
// running, for d: the one place a start is held to its program staying up.
// d = 0 (--settle 0, and --notify runs, whose READY=1 is the readiness
// signal) only checks it has not ended already. It returns a *DiedError
// if the program ended; since the Watch follows the manager's signals, no
// state is polled.
func (r *Runs) settle(ctx context.Context, w *systemdctl.Watch, name string, start systemdctl.State, began time.Time, d time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, d)
	st, err := w.Wait(wctx, systemdctl.EndedSince(start))
	cancel()
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot watch %s after its start: %w", name, err)
	}
	return r.died(ctx, w, name, start, st, began, time.Since(began))
}

// died reports the instance seen started in start and ended in st, after
// (0: during its start job).
func (r *Runs) died(ctx context.Context, w *systemdctl.Watch, name string, start, st systemdctl.State, began time.Time, after time.Duration) *DiedError {
	// Whether systemd restarts it shows once the end has played out
	// (ExecStopPost, what it left killed): the unit over, or waiting for
	// or past an automatic restart; a read confirms it, as the manager
	// shows "failed" for an instant before "auto-restart".
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	restarting := false
	for {
		now, err := w.Wait(wctx, func(s systemdctl.State, j map[uint32]string) bool {
			return systemdctl.Over(s, j) || s.SubState == "auto-restart" || restarted(start, s)
		})
		if err != nil {
			break
		}
		if now.ExecMainCode != 0 && !restarted(start, now) {
			st = now // how it ended
		}
		if now, err = w.Refresh(wctx); err != nil {
			break
		}
		if systemdctl.Over(now, nil) || now.SubState == "auto-restart" || restarted(start, now) {
			restarting = !systemdctl.Over(now, nil)
			break
		}
	}
	lines, _ := journal.Recent(ctx, r.user(), units.UnitName(name), began, 10)
	return &DiedError{Name: name, After: after, State: st, Lines: lines, Restarting: restarting, Leftovers: w.KilledLeftovers()}
}
