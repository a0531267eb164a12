package runs

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	sd "github.com/coreos/go-systemd/v22/dbus"

	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// When making a run's transient unit finds the name taken ("unit
// exists"), runctl observes what the manager holds under the name, plans
// from that alone, acts, and observes again if the manager changed
// meanwhile: it does not guess from the error.

// holding is what the manager holds under a run's name.
type holding struct {
	Loaded, Running bool
	// Own: the run's own transient unit, made from this or an earlier
	// spec (runctl's Description for the run, made over D-Bus).
	Own bool
	// SameSpec: made from the very spec to start (its drop-in names the
	// spec's sum).
	SameSpec bool
	// NeedsReload: loaded from a unit file since removed.
	NeedsReload bool
	// Pinned: loaded units name it (Wants=, After=...): it stays loaded, as
	// it was made, while they are.
	Pinned bool
	// RecorderPending: the job of its recorder, triggered as it stopped,
	// has not run yet (a busy manager); the unit unloads once it has.
	RecorderPending bool
}

// move is one step of a plan.
type move int

const (
	moveMake          move = iota // make the unit anew (StartTransientUnit)
	moveStartByName               // start the loaded unit: it is made from the spec
	moveStartAsMade               // start the loaded unit as made, and say so (keptError)
	moveWaitUnload                // wait until the manager unloads it
	moveResetFailed               // clear a failed state and the start limit
	moveReload                    // daemon-reload
	moveRefuseRunning             // someone else started it meanwhile
	moveRefuseTaken               // not runctl's
)

var moveNames = [...]string{"make", "start-by-name", "start-as-made", "wait-unload", "reset-failed", "reload", "refuse-running", "refuse-taken"}

func (m move) String() string { return moveNames[m] }

// planTaken is what to do about what the manager holds under the run's
// name when its unit is to be made.
func planTaken(h holding) []move {
	switch {
	case !h.Loaded:
		return []move{moveMake}
	case h.Running:
		return []move{moveRefuseRunning}
	}
	p := []move{moveResetFailed}
	if h.NeedsReload {
		// A disable cut short before its reload: the boot link kept the
		// unit loaded from a file that is gone; the reload drops it.
		return append(p, moveReload, moveMake)
	}
	switch {
	case !h.Own:
		return append(p, moveRefuseTaken)
	case h.SameSpec:
		// Its start by name runs exactly what a new unit would.
		return append(p, moveStartByName)
	case h.RecorderPending:
		return append(p, moveWaitUnload, moveMake)
	case h.Pinned:
		// Another unit keeps it as made (a run that does is refused
		// before the stop): that instance rather than none.
		return append(p, moveStartAsMade)
	}
	return append(p, moveMake) // unloading now
}

// observeTaken reads what the manager holds under spec's name.
func (r *Runs) observeTaken(ctx context.Context, spec *units.Spec, dropIn []byte) holding {
	m, unit := r.Manager, units.UnitName(spec.Name)
	cur, err := m.Origin(ctx, unit)
	if err != nil || !cur.Loaded() || cur.FragmentPath == "" && !cur.Transient {
		// Not loaded, or unloaded between Origin's two reads: a make
		// then tells.
		return holding{}
	}
	h := holding{Loaded: true, Running: cur.Running()}
	if h.Running {
		return h
	}
	h.NeedsReload, _ = m.NeedsReload(ctx, unit)
	_, _, ours := units.ParseDescription(spec.Name, cur.Description)
	h.Own = ours && cur.Transient && filepath.Base(filepath.Dir(cur.FragmentPath)) == "transient"
	if !h.Own {
		return h
	}
	if h.SameSpec = r.sameDropIn(spec.Name, dropIn); h.SameSpec {
		return h
	}
	named, _ := m.NamedBy(ctx, unit)
	h.Pinned = len(named) > 0
	ok, failed := r.recorder().Triggers(spec.Name)
	for _, u := range []string{ok, failed} {
		if st, err := m.Brief(ctx, u); err == nil && st.Job != 0 {
			h.RecorderPending = true
		}
	}
	return h
}

// makeOverTaken makes the run's transient unit when the name was found
// taken: observe, plan, act, and again while the manager changes under it
// (at most a few rounds).
func (r *Runs) makeOverTaken(ctx context.Context, spec *units.Spec, props []sd.Property, dropIn []byte, staged *stagedDropIn) (systemdctl.State, *systemdctl.Watch, error) {
	m, unit := r.Manager, units.UnitName(spec.Name)
	for range 3 {
		plan := planTaken(r.observeTaken(ctx, spec, dropIn))
		r.Log.Debug().Str("plan", fmt.Sprint(plan)).Msg("the unit's name is taken")
		for _, mv := range plan {
			switch mv {
			case moveRefuseRunning:
				return systemdctl.State{Unit: unit}, nil, startedMeanwhile(spec.Name)
			case moveRefuseTaken:
				return systemdctl.State{Unit: unit}, nil, takenError(unit)
			case moveResetFailed:
				_ = m.ResetFailed(ctx, unit)
			case moveReload:
				if err := m.Reload(ctx); err != nil {
					return systemdctl.State{Unit: unit}, nil, err
				}
			case moveWaitUnload:
				r.waitRecorder(ctx, spec.Name)
			case moveStartByName, moveStartAsMade:
				beforeStartByName()
				st, w, err := m.StartWatch(ctx, unit)
				if errors.Is(err, systemdctl.ErrNotLoaded) {
					w.Close() // unloaded meanwhile: observe again
					break
				}
				if err == nil && mv == moveStartAsMade {
					err = &keptError{spec.Name, unit}
				}
				return st, w, err
			case moveMake:
				gone := false
				st, w, err := r.makeTransient(ctx, spec.Name, props, staged, &gone)
				if !errors.Is(err, systemdctl.ErrUnitExists) {
					return st, w, err
				}
				w.Close() // made again meanwhile: observe again
			}
		}
	}
	return systemdctl.State{Unit: unit}, nil, fmt.Errorf("cannot start %s: the manager kept changing %s meanwhile; try again", spec.Name, unit)
}

// keptError: the run's unit stayed loaded as it was made, so its start ran
// the earlier command and environment, not the spec's.
type keptError struct{ name, unit string }

func (e *keptError) Error() string {
	return fmt.Sprintf("cannot start %s with its changed command or environment: a unit outside runctl names %s (systemctl show -p Before,WantedBy,RequiredBy %s tells which), so systemd keeps it as it was made; it was started again as before. Stop that unit, then try again", e.name, e.unit, e.unit)
}

// beforeStartByName lets a test unload the unit between observing it and
// the start by name, as the manager may.
var beforeStartByName = func() {}

// startEnabledOverTaken starts an enabled run from its unit file when a
// unit of its name was loaded from elsewhere.
func (r *Runs) startEnabledOverTaken(ctx context.Context, name string, start func() (systemdctl.State, *systemdctl.Watch, error)) (systemdctl.State, *systemdctl.Watch, error) {
	m, unit := r.Manager, units.UnitName(name)
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
		return st, nil, takenError(unit)
	}
	return st, w, err
}

func startedMeanwhile(name string) error {
	return fmt.Errorf("%s was started by someone else meanwhile; runctl ls shows it", name)
}

func takenError(unit string) error {
	return fmt.Errorf("%w: %s is defined outside runctl (a unit file of its own, or another tool's unit); choose another name with -n", ErrTaken, unit)
}
