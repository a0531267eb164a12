package slot

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"

	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Cycle is a stop of the run's current instance, if the manager has one,
// and a start of Spec; the caller holds the run's lock and has saved Spec.
type Cycle struct {
	Spec *units.Spec
	// EnvFile is the spec's environment file, in place.
	EnvFile string
	// Stdin is what the new instance reads (run -i).
	Stdin *units.Stdin
	// Timeout is the stop's: SIGKILL after it; 0: the spec's stop timeout.
	Timeout time.Duration
	// Force SIGKILLs the old instance at once.
	Force bool
	// Fresh: the manager has no unit of the name, nothing to stop.
	Fresh bool
	// Checked: CheckPinned was asked before the spec was saved.
	Checked bool
}

// Cycled is what a Cycle did.
type Cycled struct {
	// Stopped is how the stop went, if there was one (Stopping).
	Stopped  systemdctl.Stopped
	Stopping bool
	// Began is when the start began; State is what it left, and Watch
	// follows the new instance (the caller closes it).
	Began time.Time
	State systemdctl.State
	Watch *systemdctl.Watch
}

// ErrNotStopped: the old instance would not go; no second one is started.
var ErrNotStopped = errors.New("the old instance did not stop")

// stopGrace is how long a stop may still take after SIGKILL before runctl
// gives up on it (a process stuck in the kernel).
const stopGrace = 15 * time.Second

// Cycle stops the run's current instance, if the manager has one, waits
// until it is gone, and starts c.Spec. What the start needs is ready before
// the stop: the time between the old process's end and the new one's start
// is the run's downtime. Errors are what went wrong, for the verb to name,
// but for ErrNotStopped, *PinnedError and *KeptError, which say it all.
func (s *Slots) Cycle(ctx context.Context, c Cycle) (out Cycled, err error) {
	m, spec, name := s.Manager, c.Spec, c.Spec.Name
	unit := units.UnitName(name)
	timeout := c.Timeout
	if timeout == 0 {
		timeout = spec.StopAfter()
	}
	rec, enabled := s.Recorder(), s.Enabled(name)
	props := units.Properties(spec, c.EnvFile, rec, s.version())
	if c.Stdin != nil {
		props = append(props, units.StdinProperties(*c.Stdin)...)
	}
	dropIn, err := units.RenderDropIn(spec, c.EnvFile, rec)
	if err != nil {
		return out, err
	}
	if err := s.installRecorder(enabled); err != nil {
		return out, err
	}
	var staged *stagedDropIn
	if !enabled {
		// Staged before the stop: a /run with no room refuses the start
		// while the old instance still runs.
		if staged, err = s.stageDropIn(name, dropIn); err != nil {
			return out, err
		}
		defer staged.discard()
	}
	if !enabled && !c.Fresh && !c.Checked {
		if err := s.CheckPinned(ctx, spec, dropIn); err != nil {
			return out, err
		}
	}
	held := false
	defer func() {
		if held {
			s.ReleaseRecorder(name)
		}
	}()
	err = systemdctl.ErrNotLoaded
	gone := c.Fresh // the manager has no unit of the name now
	began := time.Now()
	if !c.Fresh {
		held = s.holdRecorder(name)
		over := s.handOverOnDrop(ctx, name, held)
		var stopped systemdctl.Stopped
		stopped, gone, err = s.stopToUnload(ctx, unit, systemdctl.StopOptions{Timeout: timeout, Force: c.Force}, !enabled)
		over()
		out.Stopped = stopped
	}
	switch {
	case errors.Is(err, systemdctl.ErrNotLoaded):
		gone = true
	case err != nil:
		return out, fmt.Errorf("%w: %w; not starting a second one (see runctl status %s)", ErrNotStopped, err, name)
	default:
		out.Stopping = true
		if out.Stopped.Before.Running() && held {
			s.recordStop(name, &out.Stopped.After, began)
		}
	}
	systemdctl.Crashpoint("after-stop")

	out.Began = time.Now()
	start := func() (systemdctl.State, *systemdctl.Watch, error) {
		return s.makeTransient(ctx, name, props, staged, &gone)
	}
	if enabled {
		// An enabled run is its unit file: keep the file in step with the
		// spec (run --replace may have changed it), linked (an enable cut
		// short), and start it by name.
		// The unit file is exact and has every command: a drop-in left
		// from a transient instance would only hold an older spec. It goes
		// first, so that the reload that writing the file makes drops it.
		had, err := s.RemoveDropIn(name)
		if err != nil {
			return out, err
		}
		wrote, err := s.SyncUnitFile(ctx, spec, c.EnvFile)
		if err != nil {
			return out, err
		}
		if err := s.LinkUnitFile(ctx, name); err != nil {
			return out, err
		}
		reload := had && !wrote // writing the unit file reloaded
		start = func() (systemdctl.State, *systemdctl.Watch, error) {
			st, w, err := s.startUnitFile(ctx, name, reload)
			reload = false
			return st, w, err
		}
	}
	st, w, err := start()
	if errors.Is(err, systemdctl.ErrUnitExists) {
		// The old unit is still loaded: its recorder's start job has not
		// run yet, another unit names it, or another manager client made
		// the unit meanwhile.
		w.Close()
		if enabled {
			st, w, err = s.startEnabledOverTaken(ctx, name, start)
		} else {
			st, w, err = s.makeOverTaken(ctx, spec, props, dropIn, staged)
		}
		if errors.Is(err, ErrTaken) {
			// runctl's drop-in must not change that unit: gone, and
			// unloaded again if the unit was loaded with it.
			s.RemoveDropIn(name)
			if need, _ := m.NeedsReload(ctx, unit); need {
				_ = m.Reload(ctx)
			}
		}
	}
	// The unit was made again: the old one, and its recorder's start job,
	// are over. A marker left by an earlier stop (runctl stop, or a runctl
	// killed mid-restart) goes too, so the new instance's end is recorded.
	s.ReleaseRecorder(name)
	held = false
	out.State, out.Watch = st, w
	return out, err
}

// stopToUnload stops unit and, with unload, waits briefly until the
// manager has unloaded it, so that a transient unit of the name can be made
// again: a unit it triggered as it ended (its recorder) keeps it loaded
// until that unit's start job has run, one turn of the manager's loop
// later. A unit other units name stays loaded: the wait gives up after
// unloadWait. gone says whether it was seen unloaded.
func (s *Slots) stopToUnload(ctx context.Context, unit string, opt systemdctl.StopOptions, unload bool) (out systemdctl.Stopped, gone bool, err error) {
	var w *systemdctl.Watch
	if unload {
		// Before the stop, so that no unloading is missed.
		if w, err = s.Manager.Watch(ctx, unit); err != nil {
			w.Close()
			return out, false, err
		}
		defer w.Close()
	}
	sctx, cancel := context.WithTimeout(ctx, opt.Timeout+stopGrace)
	defer cancel()
	out, err = s.Manager.Stop(sctx, unit, opt)
	if err == nil && unload && out.Before.ActiveState != "inactive" {
		// (Inactive and yet loaded before the stop: something names the
		// unit and keeps it loaded.)
		gone = systemdctl.WaitRemoved(sctx, unloadWait, w)
	}
	return out, gone, err
}

// makeTransient makes and starts the run's transient unit with its
// drop-in. When the manager has no unit of the name (gone, or seen so now)
// the drop-in goes in place first, so the manager reads it as it makes the
// unit if it reads the folder then. Otherwise it goes in place once the
// unit exists: a unit of the name still loaded keeps its own drop-in (the
// call then fails, "unit exists"). A drop-in that cannot be put in place
// leaves no run started.
func (s *Slots) makeTransient(ctx context.Context, name string, props []sd.Property, d *stagedDropIn, gone *bool) (systemdctl.State, *systemdctl.Watch, error) {
	m, unit := s.Manager, units.UnitName(name)
	if !*gone {
		if cur, err := m.Brief(ctx, unit); err == nil && !cur.Loaded() {
			*gone = true
		}
	}
	var (
		made     func()
		placeErr error
	)
	if *gone {
		if err := d.place(); err != nil {
			return systemdctl.State{Unit: unit}, nil, err
		}
	} else {
		made = func() { placeErr = d.place() }
	}
	st, w, err := m.StartTransientWatch(ctx, unit, props, made)
	if errors.Is(err, systemdctl.ErrUnitExists) {
		*gone = false
	}
	if placeErr != nil && err == nil {
		w.Close()
		m.Stop(ctx, unit, systemdctl.StopOptions{Force: true})
		return st, nil, fmt.Errorf("%w; without it a daemon-reload would alter the command, so the run was stopped", placeErr)
	}
	return st, w, err
}

// observe reads what the manager holds under spec's name, when the
// run's unit is to be made and the name was found taken.
func (s *Slots) observe(ctx context.Context, spec *units.Spec, dropIn []byte) Observed {
	m, unit := s.Manager, units.UnitName(spec.Name)
	cur, err := m.Origin(ctx, unit)
	if err != nil || !cur.Loaded() || cur.FragmentPath == "" && !cur.Transient {
		// Not loaded, or unloaded between Origin's two reads: a make
		// then tells.
		return Observed{}
	}
	o := Observed{Loaded: true, Running: cur.Running(), Transient: cur.Transient}
	if o.Running {
		return o
	}
	o.Stale, _ = m.NeedsReload(ctx, unit)
	_, _, ours := units.ParseDescription(spec.Name, cur.Description)
	o.Own = ours && cur.Transient && filepath.Base(filepath.Dir(cur.FragmentPath)) == "transient"
	if !o.Own {
		return o
	}
	if o.SameSpec = s.sameDropIn(spec.Name, dropIn); o.SameSpec {
		return o
	}
	o.PinnedBy, _ = m.NamedBy(ctx, unit)
	o.RecorderPending = s.recorderPending(ctx, spec.Name)
	return o
}

// makeOverTaken makes the run's transient unit when the name was found
// taken: observe, plan, act, and again while the manager changes under it
// (at most a few rounds).
func (s *Slots) makeOverTaken(ctx context.Context, spec *units.Spec, props []sd.Property, dropIn []byte, staged *stagedDropIn) (systemdctl.State, *systemdctl.Watch, error) {
	m, unit := s.Manager, units.UnitName(spec.Name)
	for range 3 {
		plan := Plan(s.observe(ctx, spec, dropIn), Want{})
		s.Log.Debug().Str("plan", fmt.Sprint(plan)).Msg("the unit's name is taken")
		for _, a := range plan {
			switch a {
			case RefuseRunning:
				return systemdctl.State{Unit: unit}, nil, startedMeanwhile(spec.Name)
			case RefuseTaken:
				return systemdctl.State{Unit: unit}, nil, TakenError(unit)
			case ResetFailed:
				_ = m.ResetFailed(ctx, unit)
			case Reload:
				if err := m.Reload(ctx); err != nil {
					return systemdctl.State{Unit: unit}, nil, err
				}
			case WaitUnload:
				s.waitRecorder(ctx, spec.Name)
			case StartByName, StartAsMade:
				if s.BeforeStartByName != nil {
					s.BeforeStartByName()
				}
				st, w, err := m.StartWatch(ctx, unit)
				if errors.Is(err, systemdctl.ErrNotLoaded) {
					w.Close() // unloaded meanwhile: observe again
					break
				}
				if err == nil && a == StartAsMade {
					err = &KeptError{spec.Name, unit}
				}
				return st, w, err
			case Make:
				gone := false
				st, w, err := s.makeTransient(ctx, spec.Name, props, staged, &gone)
				if !errors.Is(err, systemdctl.ErrUnitExists) {
					return st, w, err
				}
				w.Close() // made again meanwhile: observe again
			}
		}
	}
	return systemdctl.State{Unit: unit}, nil, fmt.Errorf("the manager kept changing %s meanwhile; try again", unit)
}

// KeptError: the run's unit stayed loaded as it was made, so its start ran
// the earlier command and environment, not the spec's.
type KeptError struct{ name, unit string }

func (e *KeptError) Error() string {
	return fmt.Sprintf("cannot start %s with its changed command or environment: a unit outside runctl names %s (systemctl show -p Before,WantedBy,RequiredBy %s tells which), so systemd keeps it as it was made; it was started again as before. Stop that unit, then try again", e.name, e.unit, e.unit)
}

// PinnedError refuses a changed spec for a run whose unit another run
// names in --after: that unit stays loaded, as it was made, once stopped,
// so the new command or environment could not start, and nothing would
// run.
type PinnedError struct {
	Name string
	By   []string // the runs that pin it
}

func (e *PinnedError) Error() string {
	by := strings.Join(e.By, ", ")
	return fmt.Sprintf("cannot start %s with a changed command or environment while %s, which names it in --after, is loaded: systemd keeps %s as it was made until then; stop %s first (the running instance and the saved spec were left alone)", e.Name, by, units.UnitName(e.Name), by)
}

// CheckPinned refuses (PinnedError) a changed spec, dropIn being its
// drop-in, for a run whose unit runs that name it in --after keep loaded.
// It reads only the drop-in when the spec is the one the unit was made
// from.
func (s *Slots) CheckPinned(ctx context.Context, spec *units.Spec, dropIn []byte) error {
	if s.sameDropIn(spec.Name, dropIn) {
		return nil
	}
	named, _ := s.Manager.NamedBy(ctx, units.UnitName(spec.Name))
	var by []string
	for _, u := range named {
		if n, ok := units.NameFromUnit(u); ok && !slices.Contains(by, n) {
			by = append(by, n)
		}
	}
	if len(by) > 0 {
		return &PinnedError{spec.Name, by}
	}
	return nil
}

// startUnitFile starts an enabled run, stopped now, from the unit file
// runctl wrote: observe where the manager loaded the unit from, plan, act
// (planUnitFile says why each step).
func (s *Slots) startUnitFile(ctx context.Context, name string, reload bool) (systemdctl.State, *systemdctl.Watch, error) {
	return s.actUnitFile(ctx, name, reload, true)
}

// loadUnitFile is startUnitFile without the start.
func (s *Slots) loadUnitFile(ctx context.Context, name string) error {
	_, _, err := s.actUnitFile(ctx, name, false, false)
	return err
}

func (s *Slots) actUnitFile(ctx context.Context, name string, reload, start bool) (systemdctl.State, *systemdctl.Watch, error) {
	m, unit := s.Manager, units.UnitName(name)
	cur, err := m.Origin(ctx, unit)
	if err != nil {
		return systemdctl.State{Unit: unit}, nil, err
	}
	o := Observed{Loaded: cur.Loaded(), Running: cur.Running(), Transient: cur.Transient}
	for _, a := range Plan(o, Want{UnitFile: true, Reload: reload}) {
		switch a {
		case Unlink:
			s.Log.Info().Str("fragment", cur.FragmentPath).Msg("a transient instance shadows the unit file; unlinking it for a reload")
			err = m.Disable(ctx, unit)
		case Reload:
			err = m.Reload(ctx)
		case WaitUnload:
			// Its recorder's job, still waiting to run, kept it loaded
			// across that reload; it unloads once the job has run.
			s.waitRecorder(ctx, name)
		case Link:
			// Killed before this, the next start links it again
			// (LinkUnitFile).
			err = m.Enable(ctx, s.Layout.Paths(name).UnitFile)
		case CheckFromFile:
			if after, err := m.Origin(ctx, unit); err == nil && after.Transient {
				return systemdctl.State{Unit: unit}, nil, fmt.Errorf("%s is still loaded from %s, not from its unit file; systemctl daemon-reload, then runctl restart %s", unit, after.FragmentPath, name)
			}
		case ResetFailed:
			if start {
				_ = m.ResetFailed(ctx, unit)
			}
		case StartByName:
			if start {
				return m.StartWatch(ctx, unit)
			}
		}
		if err != nil {
			return systemdctl.State{Unit: unit}, nil, err
		}
	}
	return systemdctl.State{Unit: unit}, nil, nil
}

// startEnabledOverTaken starts an enabled run from its unit file when a
// unit of its name was loaded from elsewhere.
func (s *Slots) startEnabledOverTaken(ctx context.Context, name string, start func() (systemdctl.State, *systemdctl.Watch, error)) (systemdctl.State, *systemdctl.Watch, error) {
	m, unit := s.Manager, units.UnitName(name)
	cur, _ := m.Brief(ctx, unit)
	if cur.Running() {
		return cur, nil, startedMeanwhile(name)
	}
	_ = m.ResetFailed(ctx, unit)
	if need, _ := m.NeedsReload(ctx, unit); need {
		if err := m.Reload(ctx); err != nil {
			return cur, nil, err
		}
	}
	st, w, err := start()
	if errors.Is(err, systemdctl.ErrUnitExists) {
		w.Close()
		return st, nil, TakenError(unit)
	}
	return st, w, err
}

func startedMeanwhile(name string) error {
	return fmt.Errorf("%s was started by someone else meanwhile; runctl ls shows it", name)
}

// TakenError says unit is not runctl's.
func TakenError(unit string) error {
	return fmt.Errorf("%w: %s is defined outside runctl (a unit file of its own, or another tool's unit); choose another name with -n", ErrTaken, unit)
}
