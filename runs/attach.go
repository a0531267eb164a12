package runs

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/journal"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Attached is where an attached run's output and runctl's notes about it go.
type Attached struct {
	Stdout, Stderr io.Writer
	// Interrupts: the first Ctrl-C (SIGINT) is passed on to the program, as
	// a terminal does to its foreground job; the first SIGTERM is a graceful
	// stop; the second of either is SIGKILL. SIGHUP or SIGPIPE, the terminal
	// gone, is a stop.
	Interrupts <-chan os.Signal
}

// together is how close two of the same signal come when one sender meant
// one: coreutils timeout (and a shell's kill 0) signals runctl and then its
// process group, runctl included, so runctl gets it twice, microseconds
// apart on an idle machine, milliseconds on a loaded one. A person's second
// Ctrl-C comes later than this.
const together = 100 * time.Millisecond

// Attach streams the run's output from the journal until it is over (see
// untilOver), turning interrupts into a stop and then a kill, and returns
// how it ended.
func (r *Runs) Attach(ctx context.Context, spec *units.Spec, begin time.Time, w *systemdctl.Watch, a Attached) systemdctl.State {
	m := r.Manager
	unit := units.UnitName(spec.Name)
	// Follow the unit since the start, not its invocation id: journald
	// reads the id from the unit's cgroup, which a program that exits at
	// once has already left.
	follow := journal.Follow(journal.Query{User: r.user(), Units: []string{unit}, Since: begin}, func(en journal.Entry) {
		if en.Dropped > 0 {
			fmt.Fprintf(a.Stderr, "runctl: %s\n", journal.DropNote(unit, en.Dropped))
			return
		}
		if en.Manager {
			return
		}
		out := a.Stdout
		if en.Priority <= 3 {
			out = a.Stderr
		}
		out.Write(append(en.Message, '\n'))
	})
	markers := make(chan string, 16)
	waitDone := make(chan systemdctl.State, 1)
	// interrupted: Ctrl-C was passed on; the run ends there, so an
	// automatic restart (Restart=always) is stopped instead.
	var interrupted atomic.Bool
	go func() {
		waitDone <- r.untilOver(ctx, w, spec.Name, func(line string) { markers <- line }, interrupted.Load)
	}()
	var final systemdctl.State
	interrupts := 0
	var last os.Signal
	var lastAt time.Time
loop:
	for {
		select {
		case final = <-waitDone:
			break loop
		case line := <-markers:
			fmt.Fprintf(a.Stderr, "runctl: %s\n", line)
		case sig := <-a.Interrupts:
			if sig == last && time.Since(lastAt) < together {
				r.Log.Debug().Str("signal", sig.String()).Msg("the same signal again at once: counted once")
				continue
			}
			last, lastAt = sig, time.Now()
			interrupts++
			switch {
			case sig == syscall.SIGHUP || sig == syscall.SIGPIPE:
				// The terminal or ssh session is gone: like a shell's job,
				// the run ends with it (nohup runctl run ... keeps it).
				fmt.Fprintf(a.Stderr, "runctl: hangup: stopping %s\n", spec.Name)
				go m.Stop(ctx, unit, systemdctl.StopOptions{})
			case interrupts == 1 && sig == syscall.SIGINT:
				// As a terminal's Ctrl-C reaches its foreground job: every
				// process of the run gets SIGINT (Python's KeyboardInterrupt).
				fmt.Fprintf(a.Stderr, "runctl: interrupting %s (SIGINT; again to kill)\n", spec.Name)
				interrupted.Store(true)
				if err := m.Kill(ctx, unit, unix.SIGINT); err != nil {
					fmt.Fprintf(a.Stderr, "runctl: cannot interrupt %s: %v; stopping it\n", spec.Name, err)
					go m.Stop(ctx, unit, systemdctl.StopOptions{})
				}
			case interrupts == 1:
				fmt.Fprintf(a.Stderr, "runctl: stopping %s (again to kill)\n", spec.Name)
				go m.Stop(ctx, unit, systemdctl.StopOptions{})
			default:
				fmt.Fprintf(a.Stderr, "runctl: killing %s\n", spec.Name)
				_ = m.Kill(ctx, unit, unix.SIGKILL)
			}
		}
	}
	for len(markers) > 0 {
		fmt.Fprintf(a.Stderr, "runctl: %s\n", <-markers)
	}
	if err := follow.Finish(ctx); err != nil {
		fmt.Fprintf(a.Stderr, "runctl: the run's last output may be missing: %v\n", err)
	}
	if err := journal.Reachable(); err != nil {
		fmt.Fprintf(a.Stderr, "runctl: %v: output the run wrote after journald stopped is lost\n", err)
	}
	if final.ActiveState == "failed" {
		_ = m.ResetFailed(ctx, unit)
	}
	return final
}

// untilOver follows an attached run until it is really over, as
// systemd-run --wait does, and returns its final state. It stays through
// systemd's automatic restarts (Restart=) and through a restart by
// `runctl restart` or `systemctl restart` from elsewhere, calling marker
// with a line for each.
//
// A state Over holds is not trusted at once: with Restart= the manager
// shows a dead program's unit "failed" just before "auto-restart" (so the
// run detached at a crash, ~2 tries in 3), and a runctl restart stops the
// unit and makes a new one. So the end is confirmed by a read past such
// steps (Refresh), then under the run's lock, which a restart or start
// holds from before its stop to after its start: once the lock is free,
// the run either runs again or is over.
//
// Once interrupted says so, the run ends where it is: an automatic restart
// pending or done is stopped.
func (r *Runs) untilOver(ctx context.Context, w *systemdctl.Watch, name string, marker func(string), interrupted func() bool) systemdctl.State {
	cur := w.State()
	// ended is how cur ended, if the signals told: a Wait may wake past it.
	ended := func(st systemdctl.State) systemdctl.State {
		if e := w.Ended(); st.ExecMainCode == 0 && e.InvocationID == cur.InvocationID {
			return e
		}
		return st
	}
	for {
		st, err := w.Wait(ctx, func(s systemdctl.State, j map[uint32]string) bool {
			return systemdctl.Over(s, j) || restarted(cur, s) || s.SubState == "auto-restart" && interrupted()
		})
		if err != nil {
			return ended(st)
		}
		r.Log.Debug().Str("state", st.ActiveState+"/"+st.SubState).Uint32("job", st.Job).Str("ended", st.Ended()).Str("invocation", st.InvocationID).Msg("attached run changed")
		if interrupted() && (st.SubState == "auto-restart" || restarted(cur, st)) {
			how := ended(systemdctl.State{}).Ended()
			if how == "" {
				how = "interrupted"
			}
			marker(fmt.Sprintf("%s ended (%s) after Ctrl-C; stopping it instead of restarting it", name, how))
			if _, err := r.Manager.Stop(ctx, units.UnitName(name), systemdctl.StopOptions{}); err != nil {
				r.Log.Info().Err(err).Msg("cannot stop the interrupted run")
			}
			continue
		}
		if restarted(cur, st) {
			marker(restartMarker(name, cur, st, ended(systemdctl.State{}).Ended()))
			cur = st
			continue
		}
		// Over for now: whatever the manager does next (an automatic
		// restart, a restart's start job) is pending by the time it
		// answers. How it ended is what the signals said.
		now, err := w.Refresh(ctx)
		if err != nil {
			return ended(st)
		}
		r.Log.Debug().Str("load", now.LoadState).Str("state", now.ActiveState+"/"+now.SubState).Uint32("job", now.Job).Msg("attached run read")
		if now.Running() || now.Job != 0 {
			continue
		}
		unlock, err := r.lock(ctx, name, false)
		if err != nil {
			return ended(st)
		}
		now, err = w.Refresh(ctx)
		unlock()
		if err != nil || !now.Running() && now.Job == 0 {
			return ended(st)
		}
		// Restarted from elsewhere while the lock was held.
	}
}

// restarted says s is a new instance of the run, started after cur.
func restarted(cur, s systemdctl.State) bool {
	return s.InvocationID != "" && s.InvocationID != cur.InvocationID && s.Running() && s.SubState != "auto-restart"
}

// restartMarker is the line an attached run prints when its program was
// restarted: by systemd (Restart=), or from elsewhere.
func restartMarker(name string, cur, s systemdctl.State, ended string) string {
	how := ""
	if ended != "" {
		how = " (" + ended + ")"
	}
	if s.NRestarts > cur.NRestarts {
		return fmt.Sprintf("%s ended%s; systemd restarted it (restart %d), still attached", name, how, s.NRestarts)
	}
	return fmt.Sprintf("%s was restarted from elsewhere%s, still attached", name, how)
}
