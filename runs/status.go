package runs

import (
	"context"
	"time"

	"github.com/runctl/runctl/journal"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Detail is one run in detail: what `runctl status` shows.
type Detail struct {
	Run
	// Found is false when neither runctl nor systemd knows the name.
	Found bool
	// Spec is the kept spec, nil if none or damaged.
	Spec      *units.Spec
	Systemd   systemdctl.State
	Processes []systemdctl.Process
	Logs      []journal.Entry
}

// Details reads the named runs in detail, with their last lines lines of
// output; every run when names is empty. A journal that cannot be read
// gives logErr, and the rest still.
func (r *Runs) Details(ctx context.Context, names []string, lines int) (out []Detail, logErr error, err error) {
	if len(names) == 0 {
		runs, err := r.List(ctx, false)
		if err != nil {
			return nil, nil, err
		}
		for _, run := range runs {
			names = append(names, run.Name)
		}
		if len(names) == 0 {
			return nil, nil, nil
		}
	}
	unitNames := make([]string, len(names))
	for i, n := range names {
		unitNames[i] = units.UnitName(n)
	}
	// journalctl reads the log lines on the other core meanwhile.
	var logs map[string][]journal.Entry
	tailDone := make(chan struct{})
	go func() {
		defer close(tailDone)
		logs, logErr = journal.Tail(ctx, r.user(), unitNames, lines)
	}()
	states, procs, err := r.Manager.Details(ctx, unitNames, systemdctl.StatusProps)
	<-tailDone
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	autostart := r.autostartNames()
	for i, name := range names {
		spec, damaged := r.loadDamaged(name)
		st := states[i]
		d := Detail{Found: spec != nil || damaged != nil || st.Loaded(), Spec: spec, Systemd: st, Processes: procs[i], Logs: logs[unitNames[i]]}
		if d.Found {
			d.Run = r.makeRun(name, spec, damaged, spec != nil, st, now)
			d.Autostart = autostart[name]
		} else {
			d.Run = Run{Name: name, Unit: unitNames[i]}
		}
		out = append(out, d)
	}
	return out, logErr, nil
}
