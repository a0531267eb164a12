package runs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

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
	Checked bool          // refuseKept was asked before the spec was saved
	Stdin   *units.Stdin  // what the new instance reads (run -i)
}

// stopGrace is how long a stop may still take after SIGKILL before runctl
// gives up on it (a process stuck in the kernel).
const stopGrace = 15 * time.Second

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
// is gone, and starts spec. The caller holds the run's lock and kept spec.
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
	m := r.Manager
	res = Cycle{Name: spec.Name, Unit: unit, Manager: r.Scope().String(), WasState: "stopped"}
	timeout := opt.Timeout
	if timeout == 0 {
		timeout = spec.StopAfter()
	}
	// What the start needs is ready before the stop: the time between the
	// old process's end and the new one's start is the run's downtime.
	envFile := opt.EnvFile
	if envFile == "" {
		if envFile, err = r.Store.EnsureEnvFile(spec); err != nil {
			return res, nil, r.permissionHint(fmt.Errorf("cannot start %s: %w", spec.Name, err))
		}
	}
	props, enabled := units.Properties(spec, envFile, r.recorder(), r.managerVersion()), r.enabled(spec.Name)
	if opt.Stdin != nil {
		props = append(props, units.StdinProperties(*opt.Stdin)...)
	}
	dropIn, err := units.RenderDropIn(spec, envFile, r.recorder())
	if err != nil {
		return res, nil, fmt.Errorf("cannot start %s: %w", spec.Name, err)
	}
	if err := r.installRecorder(enabled); err != nil {
		return res, nil, r.permissionHint(fmt.Errorf("cannot start %s: %w", spec.Name, err))
	}
	var staged *stagedDropIn
	if !enabled {
		// Staged before the stop: a /run with no room refuses the start
		// while the old instance still runs.
		if staged, err = r.stageDropIn(spec.Name, dropIn); err != nil {
			return res, nil, fmt.Errorf("cannot start %s: %w", spec.Name, err)
		}
		defer staged.discard()
	}
	if !enabled && !opt.Fresh && !opt.Checked {
		if err := r.refuseKept(ctx, spec, dropIn); err != nil {
			return res, nil, err
		}
	}
	held := false
	defer func() {
		if held {
			r.releaseRecorder(spec.Name)
		}
	}()
	var stopped systemdctl.Stopped
	err = systemdctl.ErrNotLoaded
	gone := opt.Fresh // the manager has no unit of the name now
	if !opt.Fresh {
		held = r.holdRecorder(spec.Name)
		sctx, cancel := context.WithTimeout(ctx, timeout+stopGrace)
		stopped, err = m.Stop(sctx, unit, systemdctl.StopOptions{Timeout: timeout, Force: opt.Force, Unload: !enabled})
		cancel()
	}
	switch {
	case errors.Is(err, systemdctl.ErrNotLoaded):
		gone = true
	case err != nil:
		return res, nil, fmt.Errorf("%w: %w; not starting a second one (see runctl status %s)", ErrNotStopped, err, spec.Name)
	default:
		gone = stopped.Unloaded
		if stopped.Before.Running() && held {
			r.recordStop(spec.Name, stopped.After)
		}
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
	crashpoint("after-stop")

	t := time.Now()
	start := func() (systemdctl.State, *systemdctl.Watch, error) {
		return r.makeTransient(ctx, spec.Name, props, staged, &gone)
	}
	if enabled {
		// An enabled run is its unit file: keep the file in step with the
		// spec (run --replace may have changed it), linked (an enable cut
		// short), and start it by name.
		wrote, err := r.syncUnitFile(ctx, spec, envFile)
		if err != nil {
			return res, nil, fmt.Errorf("cannot start %s: %w", spec.Name, err)
		}
		if err := r.linkUnitFile(ctx, spec.Name); err != nil {
			return res, nil, fmt.Errorf("cannot start %s: %w", spec.Name, err)
		}
		// The unit file is exact and has every command: a drop-in left
		// from a transient instance would only hold an older spec.
		had, err := r.removeDropIn(spec.Name)
		if err != nil {
			return res, nil, fmt.Errorf("cannot start %s: %w", spec.Name, err)
		}
		reload := had && !wrote // writing the unit file reloaded
		start = func() (systemdctl.State, *systemdctl.Watch, error) {
			if err := r.loadUnitFile(ctx, spec.Name, reload); err != nil {
				return systemdctl.State{Unit: unit}, nil, err
			}
			reload = false
			// Manual starts count against StartLimitBurst, which is meant
			// for automatic restarts: clearing it first means a restart is
			// never refused for it.
			_ = m.ResetFailed(ctx, unit)
			return m.StartWatch(ctx, unit)
		}
	}
	st, w, err := start()
	if errors.Is(err, systemdctl.ErrUnitExists) {
		// The old unit is still loaded: its recorder's start job has not
		// run yet, another unit names it, or another manager client made
		// the unit meanwhile.
		w.Close()
		if enabled {
			st, w, err = r.startEnabledOverTaken(ctx, spec.Name, start)
		} else {
			st, w, err = r.makeOverTaken(ctx, spec, props, dropIn, staged)
		}
		if errors.Is(err, ErrTaken) {
			// runctl's drop-in must not change that unit: gone, and
			// unloaded again if the unit was loaded with it.
			r.removeDropIn(spec.Name)
			if need, _ := m.NeedsReload(ctx, unit); need {
				_ = m.Reload(ctx)
			}
		}
	}
	// The unit was made again: the old one, and its recorder's start job,
	// are over. A marker left by an earlier stop (runctl stop, or a runctl
	// killed mid-restart) goes too, so the new instance's end is recorded.
	r.releaseRecorder(spec.Name)
	held = false
	var je *systemdctl.JobError
	var kept *keptError
	res.PID, res.InvocationID = st.MainPID, st.InvocationID
	switch {
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

// sameDropIn says whether the drop-in beside the run's transient unit
// (command, folder, environment, and the sum of the whole spec) is dropIn:
// the unit was made from that spec.
func (r *Runs) sameDropIn(name string, dropIn []byte) bool {
	have, err := os.ReadFile(r.dropInPath(name))
	return err == nil && bytes.Equal(have, dropIn)
}

// refuseKept refuses a changed spec (dropIn is the new one's) for a run
// whose unit another run names in --after: that unit stays loaded, as it
// was made, once stopped, so the new command or environment could not
// start, and nothing would run.
func (r *Runs) refuseKept(ctx context.Context, spec *units.Spec, dropIn []byte) error {
	if r.sameDropIn(spec.Name, dropIn) {
		return nil
	}
	if by := strings.Join(r.keptBy(ctx, spec.Name), ", "); by != "" {
		return fmt.Errorf("cannot start %s with a changed command or environment while %s, which names it in --after, is loaded: systemd keeps %s as it was made until then; stop %s first (the running instance and the saved spec were left alone)", spec.Name, by, units.UnitName(spec.Name), by)
	}
	return nil
}

// keptBy names the runs that name run name in their dependencies (--after)
// and that systemd has loaded: they keep its unit loaded, as it was made,
// after it stops.
func (r *Runs) keptBy(ctx context.Context, name string) []string {
	named, _ := r.Manager.NamedBy(ctx, units.UnitName(name))
	var by []string
	for _, u := range named {
		if n, ok := units.NameFromUnit(u); ok && !slices.Contains(by, n) {
			by = append(by, n)
		}
	}
	return by
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
