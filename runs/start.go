package runs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/runctl/runctl/runs/slot"
	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// StartOptions tune Start.
type StartOptions struct {
	// Replace stops a running instance of the name first.
	Replace bool
	// Enable also makes the run start at boot, from its unit file at once.
	Enable bool
	// Attach keeps the new instance's Watch open for the caller to follow
	// (an attached run); otherwise the start settles for Settle.
	Attach bool
	Settle time.Duration
	// Stdin, if set, is what the attached program reads (run -i); an
	// enabled run, started from its unit file, cannot take it.
	Stdin *units.Stdin
	// Prepared is the spec already being written (Prepare); nil: Start
	// prepares it.
	Prepared *Preparing
}

// Started is what Start did.
type Started struct {
	Cycle
	// ReplacedSpec: a kept spec of that name (the run was stopped) was replaced.
	ReplacedSpec bool `json:"replaced_spec,omitempty"`
	// Enabled: the run's unit file, written and enabled (StartOptions.Enable).
	Enabled string `json:"enabled_unit_file,omitempty"`
}

// Preparing is a spec being written to a store and synced, in the
// background while runctl connects to systemd and checks the name.
type Preparing struct {
	done    chan struct{}
	pending *specstore.Pending
	err     error
}

// Prepare starts writing spec into store.
func Prepare(store specstore.Store, spec *units.Spec) *Preparing {
	p := &Preparing{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.pending, p.err = store.Prepare(spec)
	}()
	return p
}

// Abort removes what was prepared, once it is written.
func (p *Preparing) Abort() {
	<-p.done
	if p.pending != nil {
		p.pending.Abort()
	}
}

// Start checks the name is free (or to be replaced), keeps the spec and
// starts the run, holding the run's lock only for that. With Attach, the
// Watch follows the new instance and the caller closes it. The spec's files
// are written and synced while the name is checked, put in place once it
// is known to be free, and the folder synced during the start: success is
// reported only once the spec is durable.
func (r *Runs) Start(ctx context.Context, spec *units.Spec, opt StartOptions) (Started, *systemdctl.Watch, error) {
	res := Started{}
	prep := opt.Prepared
	if prep == nil {
		prep = Prepare(r.Store, spec)
	}
	abort := func(err error) (Started, *systemdctl.Watch, error) {
		prep.Abort()
		return res, nil, err
	}
	if err := r.supported(ctx, "start "+spec.Name); err != nil {
		return abort(err)
	}
	unlock, err := r.lock(ctx, spec.Name, true)
	if err != nil {
		return abort(err)
	}
	defer unlock()
	cur, err := r.Manager.Brief(ctx, units.UnitName(spec.Name))
	if err != nil {
		return abort(err)
	}
	slots := r.slots()
	if _, _, ours := units.ParseDescription(spec.Name, cur.Description); cur.Running() && !ours && !r.Store.Has(spec.Name) {
		return abort(slot.TakenError(units.UnitName(spec.Name)))
	}
	if cur.Running() && !opt.Replace {
		return abort(fmt.Errorf("run %s is already running: stop it first (runctl stop %s), replace it (run --replace), or choose another name with -n", spec.Name, spec.Name))
	}
	if opt.Stdin != nil && (opt.Enable || slots.Enabled(spec.Name)) {
		return abort(fmt.Errorf("run %s is enabled: it starts from its unit file, which cannot take your stdin (-i); runctl disable %s first, or choose another name with -n", spec.Name, spec.Name))
	}
	if opt.Enable {
		if err := slots.CheckUnitName(ctx, spec.Name); err != nil {
			return abort(fmt.Errorf("cannot enable %s: %w", spec.Name, err))
		}
	}
	// Refused before anything is kept: a command the drop-in cannot
	// restate exactly would change at the next daemon-reload.
	if envFile, _, err := r.Store.EnvFile(spec); err == nil {
		if _, err := units.RenderDropIn(spec, envFile, slots.Recorder()); err != nil {
			return abort(err)
		}
	}
	fresh := !r.Store.Has(spec.Name)
	res.ReplacedSpec = !fresh && !cur.Running()
	if res.ReplacedSpec && !opt.Replace {
		// A stopped run's spec is what start and boot start: another
		// command under its name is said, not done.
		if old, err := r.load(spec.Name); err == nil && !slices.Equal(old.Argv, spec.Argv) {
			return abort(fmt.Errorf("run %s is stopped, and runctl keeps it for another command (%s): start that with runctl start %s, replace it with this one (run --replace), or choose another name with -n", spec.Name, old.CommandLine(), spec.Name))
		}
	}
	<-prep.done
	if prep.err != nil {
		return res, nil, r.permissionHint(fmt.Errorf("cannot keep the run's spec: %w", prep.err))
	}
	checked := false
	if cur.Loaded() && !opt.Enable && !slots.Enabled(spec.Name) {
		// Refused before the spec is saved: a refused start changes nothing.
		if dropIn, err := units.RenderDropIn(spec, prep.pending.EnvFile(), slots.Recorder()); err == nil {
			if err := slots.CheckPinned(ctx, spec, dropIn); err != nil {
				return abort(err)
			}
			checked = true
		}
	}
	durable, err := prep.pending.Commit()
	if err != nil {
		return res, nil, r.permissionHint(fmt.Errorf("cannot keep the run's spec: %w", err))
	}
	if opt.Enable {
		// Enabled from the start: the run is its unit file at once, not a
		// transient unit that would shadow the file until a restart.
		if _, err := r.enableLocked(ctx, spec); err != nil {
			durable()
			return res, nil, err
		}
		res.Enabled = slots.Layout.Paths(spec.Name).UnitFile
	}
	var w *systemdctl.Watch
	res.Cycle, w, err = r.cycle(ctx, spec, cycleOptions{Watch: opt.Attach, Fresh: !cur.Loaded(), Collect: !fresh, EnvFile: prep.pending.EnvFile(), Settle: opt.Settle, Stdin: opt.Stdin, Checked: checked})
	if errors.Is(err, ErrTaken) && fresh {
		r.Store.Remove(spec.Name) // nothing of runctl's was there: leave nothing
	}
	if derr := durable(); derr != nil && err == nil {
		err = fmt.Errorf("%s started, but its spec may not survive a power loss: %w", spec.Name, derr)
	}
	return res, w, err
}

// ErrAlreadyRunning: the run to start from its kept spec was running.
var ErrAlreadyRunning = errors.New("already running")

// StartKept starts a known, stopped run from its kept spec and watches it
// settle.
func (r *Runs) StartKept(ctx context.Context, name string, settle time.Duration) (Cycle, error) {
	if err := r.supported(ctx, "start "+name); err != nil {
		return Cycle{Name: name}, err
	}
	unlock, err := r.lock(ctx, name, false)
	if err != nil {
		return Cycle{}, err
	}
	defer unlock()
	spec, err := r.load(name)
	if err != nil {
		return Cycle{}, err
	}
	cur, err := r.Manager.Brief(ctx, units.UnitName(name))
	if err != nil {
		return Cycle{}, err
	}
	if cur.Running() {
		return Cycle{Name: name, Unit: units.UnitName(name)}, fmt.Errorf("run %s is %w; runctl restart %s restarts it", name, ErrAlreadyRunning, name)
	}
	if err := preflight(spec); err != nil {
		return Cycle{}, fmt.Errorf("cannot start %s: %w", name, err)
	}
	res, _, err := r.cycle(ctx, spec, cycleOptions{Fresh: !cur.Loaded(), Settle: settle})
	return res, err
}

// CheckAfter refuses --after or --wants naming a run runctl does not keep,
// or --after naming one that (through its own --after) would start after
// this one. Systemd units are the manager's to know.
func CheckAfter(store specstore.Store, spec *units.Spec) error {
	if len(spec.After)+len(spec.Wants) == 0 {
		return nil
	}
	err := units.AfterCycle(spec, func(name string) []string {
		if s, err := store.Load(name); err == nil {
			return s.After
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, dep := range [...]struct {
		flag  string
		names []string
	}{{"--after", spec.After}, {"--wants", spec.Wants}} {
		for _, a := range dep.names {
			if !units.IsSystemdUnit(a) && !store.Has(a) {
				return fmt.Errorf("invalid %s %s: no run named %s (runctl ls lists them; a systemd unit is named with its type, as in network-online.target)", dep.flag, a, a)
			}
		}
	}
	return nil
}
