package runs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/runctl/runctl/runs/slot"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// The stop-wait-start flow shared by run, start, restart and run --replace.
// The spec is kept before anything is stopped, so runctl dying at any point
// leaves a state from which `runctl restart NAME` or `runctl start NAME`
// brings the run back.

// Step is one timed part of a cycle.
type Step struct {
	Step    string  `json:"step"` // stop, start
	TookSec float64 `json:"took_sec"`
	Outcome string  `json:"outcome"`
}

// Cycle is what run, start and restart did; its JSON is the record
// `restart --json` prints.
type Cycle struct {
	Name         string  `json:"name"`
	Unit         string  `json:"unit"`
	Manager      string  `json:"manager"`
	Environment  string  `json:"environment,omitempty"` // replayed or updated
	WasState     string  `json:"was_state"`             // before the stop: active, failed, stopped...
	OldEnded     string  `json:"old_ended,omitempty"`   // how the old instance ended
	Escalated    bool    `json:"escalated"`             // the old one needed SIGKILL
	PID          uint32  `json:"pid"`
	InvocationID string  `json:"invocation_id"`
	Steps        []Step  `json:"steps"`
	TookSec      float64 `json:"took_sec"`
}

type cycleOptions struct {
	Timeout time.Duration // for the stop; 0: the spec's stop timeout
	Force   bool          // SIGKILL the old instance at once
	Watch   bool          // leave the new instance's Watch open (attached runs: no settle, they follow it)
	Fresh   bool          // systemd has no unit of that name: nothing to stop
	// Collect: the spec's environment may differ from the one the run's
	// earlier units named (run --replace, restart --update-env), so the
	// older environment files go once the new unit runs. Otherwise there
	// are none, but for one a crash between Commit's renames left, which
	// the next of those removes, or rm.
	Collect bool
	// EnvFile is the spec's environment file when the caller just put it
	// in place; "" to check it.
	EnvFile string
	Settle  time.Duration // without Watch: how long settle watches the new instance
	Checked bool          // slot.Slots.CheckPinned was asked before the spec was saved
	Stdin   *units.Stdin  // what the new instance reads (run -i)
}

// preflight checks what a start needs before anything is touched.
func preflight(spec *units.Spec) error {
	fi, err := os.Stat(spec.Path)
	switch {
	case err != nil:
		return fmt.Errorf("%s is gone: %w", spec.Path, errors.Unwrap(err))
	case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s is not executable", spec.Path)
	}
	if fi, err := os.Stat(spec.Dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("working directory %s is gone", spec.Dir)
	}
	return nil
}

// cycle stops the run's current instance, if systemd has one, waits until it
// is gone, and starts spec (slot.Slots.Cycle), then watches it settle. The
// caller holds the run's lock and has saved spec.
func (r *Runs) cycle(ctx context.Context, spec *units.Spec, opt cycleOptions) (res Cycle, w *systemdctl.Watch, err error) {
	begin := time.Now()
	defer func() {
		if !opt.Watch {
			w.Close()
			w = nil
		}
		res.TookSec = time.Since(begin).Seconds()
	}()
	unit := units.UnitName(spec.Name)
	res = Cycle{Name: spec.Name, Unit: unit, Manager: r.Scope().String(), WasState: "stopped"}
	envFile := opt.EnvFile
	if envFile == "" {
		if envFile, err = r.Store.EnsureEnvFile(spec); err != nil {
			return res, nil, r.permissionHint(fmt.Errorf("cannot start %s: %w", spec.Name, err))
		}
	}
	out, err := r.slots().Cycle(ctx, slot.Cycle{Spec: spec, EnvFile: envFile, Stdin: opt.Stdin, Timeout: opt.Timeout, Force: opt.Force, Fresh: opt.Fresh, Checked: opt.Checked})
	w = out.Watch
	if out.Stopping {
		stopped := out.Stopped
		res.WasState, res.OldEnded, res.Escalated = stopped.Before.ActiveState, stopped.After.Ended(), stopped.Escalated
		outcome := res.OldEnded
		if outcome == "" {
			outcome = "was " + res.WasState
		}
		if res.Escalated {
			outcome += " (escalated to SIGKILL)"
		}
		res.Steps = append(res.Steps, Step{"stop", stopped.Took.Seconds(), outcome})
	}
	t, st := out.Began, out.State
	var (
		je     *systemdctl.JobError
		kept   *slot.KeptError
		pinned *slot.PinnedError
	)
	res.PID, res.InvocationID = st.MainPID, st.InvocationID
	switch {
	case errors.As(err, &pinned) || errors.Is(err, slot.ErrNotStopped):
		return res, w, err
	case errors.As(err, &kept):
		res.Steps = append(res.Steps, Step{"start", time.Since(t).Seconds(), fmt.Sprintf("pid %d, invocation %s, as made before", st.MainPID, st.InvocationID)})
		return res, w, err
	case errors.As(err, &je) && spec.Notify && st.Result == "timeout":
		res.Steps = append(res.Steps, Step{"start", time.Since(t).Seconds(), "failed: no READY=1"})
		return res, w, fmt.Errorf("%s did not send READY=1 within its TimeoutStartSec, so systemd stopped it (%s); see runctl logs %s", spec.Name, orDash(st.Ended()), spec.Name)
	case errors.As(err, &je):
		// Left failed on purpose: ls and status show why, and the next
		// start or restart clears it.
		res.Steps = append(res.Steps, Step{"start", time.Since(t).Seconds(), "failed: " + st.Ended()})
		if ProgramRan(st) {
			return res, w, r.died(ctx, w, spec.Name, st, st, t, 0)
		}
		return res, w, fmt.Errorf("cannot start %s: %w; see journalctl -u %s", spec.Name, err, unit)
	case err != nil:
		return res, w, r.permissionHint(fmt.Errorf("cannot start %s: %w", spec.Name, err))
	}
	res.Steps = append(res.Steps, Step{"start", time.Since(t).Seconds(), fmt.Sprintf("pid %d, invocation %s", st.MainPID, st.InvocationID)})
	r.noteStart(spec.Name)
	if opt.Collect {
		r.Store.Collect(spec) // environment files of earlier specs: no unit names them now
	}
	if opt.Watch {
		return res, w, nil
	}
	settle := opt.Settle
	if spec.Notify {
		settle = 0 // READY=1 said it is up: the start job waited for it
	}
	settled := time.Now()
	err = r.settle(ctx, w, spec.Name, st, t, settle)
	var died *DiedError
	switch {
	case errors.As(err, &died):
		res.Steps = append(res.Steps, Step{"settle", time.Since(settled).Seconds(), "ended: " + orDash(died.State.Ended())})
	case err == nil && settle > 0:
		res.Steps = append(res.Steps, Step{"settle", time.Since(settled).Seconds(), "still running"})
	}
	return res, w, err
}

// ProgramRan tells a program that was executed and ended from one systemd
// could not execute (its own exit statuses 200-243, e.g. 203/EXEC) or did
// not start at all (start-limit-hit, where the exit status is the previous
// instance's).
func ProgramRan(st systemdctl.State) bool {
	switch st.Result {
	case "success", "exit-code", "signal", "core-dump":
	default:
		return false
	}
	code, sig, ok := st.Exited()
	return ok && (sig != 0 || code < 200 || code > 243)
}
