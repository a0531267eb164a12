package runs

import (
	"bytes"
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
	// WatchdogAt is when systemd last killed the run for missing its
	// watchdog (--watchdog), if it did since the run was made.
	WatchdogAt time.Time
	// LastExitAt is when the last main process ended (zero if unknown).
	LastExitAt time.Time
}

// Details reads the named runs in detail, with their last lines lines of
// output; every run when names is empty. A journal that cannot be read
// gives logErr, and the rest still.
func (r *Runs) Details(ctx context.Context, names []string, lines int) (out []Detail, logErr error, err error) {
	if len(names) == 0 {
		runs, err := r.List(ctx, ListOptions{})
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
	r.uncounted(states)
	now := time.Now()
	autostart := r.slots().AutostartNames()
	for i, name := range names {
		spec, damaged := r.loadDamaged(name)
		st := states[i]
		d := Detail{Found: spec != nil || damaged != nil || st.Loaded(), Spec: spec, Systemd: st, Processes: procs[i], Logs: logs[unitNames[i]]}
		if d.Found {
			d.Run = r.makeRun(name, spec, damaged, spec != nil, st, now)
			d.Autostart = autostart[name]
			d.LastExitAt = st.ExecMainExit
			if !st.Loaded() || st.ExecMainCode == 0 {
				// Collected, before a reboot, or a running run's previous
				// instance: as recorded.
				if rec, at, ok := r.lastExit(name); ok {
					d.LastExit, d.LastExitAt, d.DownBoot = rec.String(), at, ""
					if rec.Down {
						d.DownBoot = rec.Boot
					}
				}
			}
		} else {
			d.Run = Run{Name: name, Unit: unitNames[i]}
		}
		if spec != nil && spec.Watchdog > 0 && (st.NRestarts > 0 || st.Result == "watchdog") {
			d.WatchdogAt = r.watchdogTimeout(ctx, unitNames[i], spec.Created)
		}
		out = append(out, d)
	}
	return out, logErr, nil
}

// uncounted fills in the memory and CPU time of running units that the
// manager does not count (no CPUAccounting= in effect: a hybrid cgroup
// setup without the cpu controller) from their control groups, as ls reads
// them.
func (r *Runs) uncounted(states []systemdctl.State) {
	var ask []string
	for _, st := range states {
		if st.Running() && (st.CPUUsageNSec == ^uint64(0) || st.MemoryCurrent == ^uint64(0)) {
			ask = append(ask, st.Unit)
		}
	}
	if len(ask) == 0 || r.Layout.CgroupRoot == "" {
		return
	}
	found := systemdctl.ReadUnitsUsage(r.Layout.CgroupRoot, r.Scope().CgroupSlice(), ask)
	for i, st := range states {
		if u, ok := found[st.Unit]; ok {
			if st.CPUUsageNSec == ^uint64(0) {
				states[i].CPUUsageNSec = u.CPUNSec
			}
			if st.MemoryCurrent == ^uint64(0) {
				states[i].MemoryCurrent = u.MemoryBytes
			}
		}
	}
}

// watchdogTimeout finds the last time the manager logged a watchdog
// timeout of unit since a time: once systemd restarted it, that line is the
// only record of why.
func (r *Runs) watchdogTimeout(ctx context.Context, unit string, since time.Time) time.Time {
	var at time.Time
	_ = journal.Stream(ctx, journal.Query{User: r.user(), Units: []string{unit}, Since: since, Priority: "err"}, func(e journal.Entry) error {
		if e.Manager && bytes.Contains(e.Message, []byte(": Watchdog timeout")) {
			at = e.Time
		}
		return nil
	})
	return at
}
