package runs

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/journal"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Attached is where an attached run's output and runctl's notes about it go.
type Attached struct {
	Stdout, Stderr io.Writer
	// Interrupts are the first Ctrl-C or SIGTERM (a graceful stop) and the
	// second (SIGKILL).
	Interrupts <-chan os.Signal
}

// Attach streams the run's output from the journal until it ends, turning
// interrupts into a stop and then a kill, and returns how it ended.
func (r *Runs) Attach(ctx context.Context, spec *units.Spec, begin time.Time, w *systemdctl.Watch, a Attached) systemdctl.State {
	m := r.Manager
	unit := units.UnitName(spec.Name)
	// Follow the unit since the start, not its invocation id: journald
	// reads the id from the unit's cgroup, which a program that exits at
	// once has already left.
	follow := journal.Follow(journal.Query{User: r.user(), Units: []string{unit}, Since: begin}, func(en journal.Entry) {
		if en.Manager {
			return
		}
		out := a.Stdout
		if en.Priority <= 3 {
			out = a.Stderr
		}
		out.Write(append(en.Message, '\n'))
	})
	final := w.State()
	if !systemdctl.Over(final, nil) {
		waitDone := make(chan systemdctl.State, 1)
		go func() {
			s, _ := w.Wait(ctx, systemdctl.Over)
			waitDone <- s
		}()
		interrupts := 0
	loop:
		for {
			select {
			case final = <-waitDone:
				break loop
			case <-a.Interrupts:
				interrupts++
				if interrupts == 1 {
					fmt.Fprintf(a.Stderr, "runctl: stopping %s (again to kill)\n", spec.Name)
					go m.Stop(ctx, unit, systemdctl.StopOptions{})
				} else {
					fmt.Fprintf(a.Stderr, "runctl: killing %s\n", spec.Name)
					_ = m.Kill(ctx, unit, unix.SIGKILL)
				}
			}
		}
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
