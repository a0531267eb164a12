package cli

import (
	"errors"
	"os"
	"sort"
	"time"

	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Run is one run as runctl shows it: its kept spec joined with systemd's
// view of its unit. Its JSON form is the schema of `ls --json`.
type Run struct {
	Name         string     `json:"name"`
	Unit         string     `json:"unit"`
	Manager      string     `json:"manager"` // system or user
	State        string     `json:"state"`   // active, activating, deactivating, failed, stopped
	SubState     string     `json:"sub_state,omitempty"`
	Result       string     `json:"result,omitempty"`
	PID          uint32     `json:"pid,omitempty"`
	Since        *time.Time `json:"since,omitempty"`
	UptimeSec    float64    `json:"uptime_sec,omitempty"`
	Command      []string   `json:"command,omitempty"`
	Dir          string     `json:"dir,omitempty"`
	InvocationID string     `json:"invocation_id,omitempty"`
	Restarts     uint32     `json:"restarts"`
	LastExit     string     `json:"last_exit,omitempty"` // how the last main process ended
	Known        bool       `json:"known"`               // runctl keeps its spec
	// LimitHit: systemd gave up restarting it (--max-restarts reached).
	LimitHit bool `json:"restart_limit_hit"`
	// Autostart: runctl enabled it; it starts at boot.
	Autostart bool `json:"autostart"`
	// Damaged: why the kept spec cannot be used, and the fix.
	Damaged string `json:"damaged,omitempty"`

	created     time.Time
	commandLine string // shell-quoted, for text output
}

func (r Run) running() bool {
	switch r.State {
	case "active", "activating", "deactivating", "reloading":
		return true
	}
	return false
}

// makeRun joins a spec (nil if not read) and a unit state (zero if not
// loaded).
func makeRun(scope systemdctl.Scope, name string, spec *units.Spec, known bool, st systemdctl.State, now time.Time) Run {
	r := Run{Name: name, Unit: units.UnitName(name), Manager: scope.String(), State: "stopped", Known: known || spec != nil}
	if spec != nil {
		r.Command, r.Dir, r.created, r.commandLine = spec.Argv, spec.Dir, spec.Created, spec.CommandLine()
	} else if cl, _, ok := units.ParseDescription(name, st.Description); ok {
		r.commandLine = cl // what run put in the Description: no file to read
	}
	if st.Loaded() && st.ActiveState != "inactive" {
		r.State, r.SubState, r.Result = st.ActiveState, st.SubState, st.Result
		r.PID, r.InvocationID, r.Restarts = st.MainPID, st.InvocationID, st.NRestarts
		r.LastExit = st.Ended()
		// Burst N+1 starts: after N restarts the next is refused, and
		// systemd 252 reports the last exit rather than start-limit-hit.
		r.LimitHit = st.ActiveState == "failed" && (st.Result == "start-limit-hit" ||
			spec != nil && spec.MaxRestarts > 0 && int(st.NRestarts) > spec.MaxRestarts)
		if r.LimitHit && r.Restarts > 0 {
			r.Restarts-- // systemd counts the restart its limit refused
		}
		if r.running() && !st.ExecMainStart.IsZero() {
			since := st.ExecMainStart
			r.Since = &since
			r.UptimeSec = now.Sub(since).Round(time.Millisecond).Seconds()
		}
	}
	return r
}

// listRuns returns every run runctl keeps or systemd knows, by name. With
// full, every kept spec is read (argv, directory for --json); otherwise
// only those of runs systemd does not have loaded or that failed: a
// running unit's Description already holds its command line, and reading
// a thousand files is most of what a listing would cost.
func (e *Env) listRuns(full bool) ([]Run, error) {
	m, err := e.Manager()
	if err != nil {
		return nil, err
	}
	store, err := e.Store()
	if err != nil {
		return nil, err
	}
	props := func(st systemdctl.State) []string {
		var restarts bool
		if name, ok := units.NameFromUnit(st.Unit); ok {
			_, restarts, _ = units.ParseDescription(name, st.Description)
		}
		p := systemdctl.BriefProps(st.ActiveState, restarts)
		if full {
			p = append(p, "InvocationID")
		}
		return p
	}
	t0 := time.Now()
	states, err := m.List(e.Ctx, props, units.UnitPrefix+"*.service")
	if err != nil {
		return nil, err
	}
	t1 := time.Now()
	names, err := store.Names()
	if errors.Is(err, os.ErrPermission) {
		// The specs are root's (they hold environments); what systemd
		// knows is still listed.
		e.Log.Info().Err(err).Msg("kept runs not readable")
		names, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(names))
	for _, n := range names {
		known[n] = true
	}
	now := time.Now()
	runs := make([]Run, 0, len(names))
	for _, st := range states {
		name, ok := units.NameFromUnit(st.Unit)
		if !ok {
			continue
		}
		var spec *units.Spec
		_, _, described := units.ParseDescription(name, st.Description)
		var damaged error
		if known[name] && (full || !described || st.ActiveState == "failed" || st.ActiveState == "inactive") {
			spec, damaged = loadDamaged(store, name)
		}
		r := makeRun(e.Scope(), name, spec, known[name], st, now)
		if damaged != nil {
			r.Damaged = damaged.Error()
		}
		runs = append(runs, r)
		delete(known, name)
	}
	for _, name := range names {
		if known[name] {
			spec, damaged := loadDamaged(store, name)
			if spec == nil && damaged == nil {
				continue // removed meanwhile
			}
			r := makeRun(e.Scope(), name, spec, true, systemdctl.State{}, now)
			if damaged != nil {
				r.State, r.Damaged = "damaged", damaged.Error()
			}
			runs = append(runs, r)
		}
	}
	autostart := e.autostartNames()
	for i := range runs {
		runs[i].Autostart = autostart[runs[i].Name]
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Name < runs[j].Name })
	e.Log.Debug().Int("units", len(states)).Dur("systemd", t1.Sub(t0)).Int("kept", len(names)).Dur("store", time.Since(t1)).Msg("listed runs")
	return runs, nil
}

// errNothingRunning: a verb without NAME found no run to act on.
var errNothingRunning = errors.New("no run is running (runctl ls shows the runs runctl knows)")

// mostRecent is the running run started last, for verbs given no NAME.
func mostRecent(runs []Run) (Run, error) {
	var best Run
	found := false
	for _, r := range runs {
		if !r.running() {
			continue
		}
		if !found || (r.Since != nil && (best.Since == nil || r.Since.After(*best.Since))) {
			best, found = r, true
		}
	}
	if !found {
		return Run{}, errNothingRunning
	}
	return best, nil
}

// mostRecentKnown is the kept run created last, for restart without NAME
// when nothing runs.
func mostRecentKnown(runs []Run) (Run, error) {
	var best Run
	for _, r := range runs {
		if r.Known && (best.Name == "" || r.created.After(best.created)) {
			best = r
		}
	}
	if best.Name == "" {
		return Run{}, errors.New("runctl knows no run (start one with runctl run)")
	}
	return best, nil
}

// loadDamaged reads a kept spec; a spec that is kept but cannot be used
// is returned as the error, anything else as neither.
func loadDamaged(store specstore.Store, name string) (*units.Spec, error) {
	spec, err := store.Load(name)
	var damaged *specstore.DamagedError
	if errors.As(err, &damaged) {
		return nil, damaged
	}
	return spec, nil
}

// loadSpec reads a kept spec, mapping "not found" to a clear message.
func loadSpec(store specstore.Store, name string) (*units.Spec, error) {
	spec, err := store.Load(name)
	if errors.Is(err, specstore.ErrNotFound) {
		return nil, errors.New("runctl knows no run named " + name + " (runctl ls lists them)")
	}
	return spec, err
}
