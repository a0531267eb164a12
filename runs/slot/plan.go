package slot

// Observed is what the manager holds under a run's unit name.
type Observed struct {
	Loaded, Running bool
	// Transient: made over D-Bus (runctl's or anyone's), not from a unit
	// file.
	Transient bool
	// Own: the run's own transient unit, made from this or an earlier
	// spec (runctl's Description for the run, made over D-Bus).
	Own bool
	// SameSpec: made from the very spec to start (its drop-in names the
	// spec's sum).
	SameSpec bool
	// Stale: loaded from a unit file since removed or changed.
	Stale bool
	// PinnedBy: the loaded units that name it (Wants=, After=...): it
	// stays loaded, as it was made, while they are.
	PinnedBy []string
	// RecorderPending: the job of its recorder, triggered as it stopped,
	// has not run yet (a busy manager); the unit unloads once it has.
	RecorderPending bool
}

// pinned says whether loaded units keep the unit loaded.
func (o Observed) pinned() bool { return len(o.PinnedBy) > 0 }

// Want is what is to run under the name.
type Want struct {
	// UnitFile: the run is enabled, and starts from runctl's unit file,
	// not as a transient unit.
	UnitFile bool
	// Reload: the manager must read the unit folders again first (a
	// drop-in of a transient instance was just removed).
	Reload bool
}

// Action is one step of a plan.
type Action int

const (
	Make          Action = iota // make the transient unit anew (StartTransientUnit)
	StartByName                 // start the loaded unit: it runs what a new one would
	StartAsMade                 // start the loaded unit as made, and say so (KeptError)
	WaitUnload                  // wait until the manager unloads it (its recorder's job)
	ResetFailed                 // clear a failed state and the start limit
	Reload                      // daemon-reload
	Unlink                      // remove the unit file's boot link, for a reload to drop the unit
	Link                        // link the unit file into the boot target again
	CheckFromFile               // refuse if the unit is still not loaded from its unit file
	RefuseRunning               // someone else started it meanwhile
	RefuseTaken                 // not runctl's
)

var actionNames = [...]string{"make", "start-by-name", "start-as-made", "wait-unload", "reset-failed", "reload", "unlink", "link", "check-from-file", "refuse-running", "refuse-taken"}

func (a Action) String() string { return actionNames[a] }

// Plan is what to do, from what was observed under the run's name, to
// have what is wanted run. It is pure: every decision of how a run gets
// into the manager is here, one table row per case in its test.
func Plan(o Observed, w Want) []Action {
	if w.UnitFile {
		return planUnitFile(o, w)
	}
	switch {
	case !o.Loaded:
		return []Action{Make}
	case o.Running:
		return []Action{RefuseRunning}
	}
	p := []Action{ResetFailed}
	if o.Stale {
		// A disable cut short before its reload: the boot link kept the
		// unit loaded from a file that is gone; the reload drops it.
		return append(p, Reload, Make)
	}
	switch {
	case !o.Own:
		return append(p, RefuseTaken)
	case o.SameSpec:
		// Its start by name runs exactly what a new unit would.
		return append(p, StartByName)
	case o.RecorderPending:
		return append(p, WaitUnload, Make)
	case o.pinned():
		// Another unit keeps it as made (a run that does is refused
		// before the stop, PinnedError): that instance rather than none.
		return append(p, StartAsMade)
	}
	return append(p, Make) // unloading now
}

// planUnitFile is Plan for an enabled run, which starts by name from the
// unit file runctl wrote.
//
//   - A transient instance that unloaded as it stopped leaves the manager's
//     name cache pointing at its gone transient file: the unit is "not
//     found" until a reload.
//   - A transient instance that was loaded across a reload stays loaded, as
//     the [Install] links make the target want it, and its transient file
//     shadows the unit file until reboot (measured on 252): a start by name
//     would run the old command. Worse, the manager deletes a transient
//     unit's file when it unloads, even if that is the unit file by then.
//     Unlinked for a moment, the stopped unit unloads at the reload and
//     takes its transient file with it; linked again, the unit file is
//     loaded.
//
// Manual starts count against StartLimitBurst, which is meant for
// automatic restarts: clearing it first means a start is never refused
// for it.
func planUnitFile(o Observed, w Want) []Action {
	var p []Action
	switch {
	case o.Loaded && o.Transient && !o.Running:
		p = append(p, Unlink, Reload, WaitUnload, Link, Reload, CheckFromFile)
	case !o.Loaded || o.Stale || w.Reload:
		p = append(p, Reload, CheckFromFile)
	}
	return append(p, ResetFailed, StartByName)
}
